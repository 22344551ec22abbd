// The SMTP server's outbound sink over the durable queue table (src/queue/queue-store.ts):
// the MAIL parameters become queue fields: FUTURERELEASE HOLDFOR/HOLDUNTIL (RFC 4865 §3) the
// hold time, MT-PRIORITY (RFC 6710) the priority, BY (RFC 2852 §4) the deadline, and the DSN
// parameters (RFC 3461) stay with the message and each recipient.
//
// Mail authentication of what leaves is applied here, once, before the message is queued (so
// every retry sends the same bytes): mail submitted by an authenticated account is DKIM-signed
// by its local domain (RFC 6376, RFC 8463: src/mailauth/dkim-sign.ts); mail an alias forwards
// outside gets an ARC set of the alias's domain (RFC 8617: src/mailauth/arc-seal.ts).
import type { ServerContext } from "../../../core/context.ts";
import { ArcSealer } from "../../../mailauth/arc-seal.ts";
import { DkimKeyStore } from "../../../mailauth/dkim-keys.ts";
import { OutboundSigner } from "../../../mailauth/dkim-sign.ts";
import type { QueueParams, QueueStore } from "../../../queue/queue-store.ts";
import type { OutboundEnvelope, OutboundSink } from "./types.ts";

/** What the sink signs and seals with. */
export interface OutboundAuth {
  signer: OutboundSigner;
  sealer: ArcSealer;
  /** Our authserv-id (RFC 8601 §2.5): mailauth.authservId, else server.hostname. */
  authservId: () => string;
}

/** The signer and sealer of a server, over its store's keys; null for a store without SQL. */
export function outboundAuth(ctx: ServerContext): OutboundAuth | null {
  const keys = DkimKeyStore.fromStore(ctx.store, ctx.clock);
  if (keys === null) return null;
  const logger = ctx.logger.child({ component: "dkim" });
  return {
    signer: new OutboundSigner({ store: ctx.store, keys, clock: ctx.clock, logger }),
    sealer: new ArcSealer({ resolver: ctx.resolver, clock: ctx.clock, logger }),
    authservId: () => {
      const cfg = ctx.config.current();
      return cfg.mailauth.authservId || cfg.server.hostname;
    },
  };
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf("@") + 1).toLowerCase();

/** The message as it leaves: DKIM-signed (submission) or ARC-sealed (forwarding), or as it came. */
async function authenticate(auth: OutboundAuth, e: OutboundEnvelope): Promise<Buffer> {
  if (e.accountId !== null) {
    // The author's domain signs; else the envelope sender's when it is ours.
    return auth.signer.sign(e.message, e.from === "" ? [] : [domainOf(e.from)]);
  }
  const alias = e.recipients.find((r) => r.alias !== undefined)?.alias;
  if (alias === undefined) return e.message;
  const domain = await auth.signer.signingDomain(domainOf(alias));
  if (domain === null) return e.message;
  return auth.sealer.seal(e.message, {
    keys: await auth.signer.keysFor(domain),
    authservId: auth.authservId(),
    ...(e.authResults !== undefined ? { authResults: e.authResults } : {}),
  });
}

/** `queued` is told after each message is committed to the queue (the delivery agent wakes). */
export function queueSink(queue: QueueStore, queued?: () => void, auth?: OutboundAuth | null): OutboundSink {
  return {
    async enqueue(e: OutboundEnvelope): Promise<string> {
      const p = e.mailParams;
      const params: QueueParams = {};
      if (p.ret !== undefined) params.ret = p.ret;
      if (p.envid !== undefined) params.envid = p.envid;
      if (p.body !== undefined) params.body = p.body;
      if (p.smtputf8 === true) params.smtputf8 = true;
      if (p.requireTls === true) params.requireTls = true;
      if (p.auth !== undefined) params.auth = p.auth;
      if (p.by !== undefined) {
        params.deliverByMode = p.by.mode;
        params.deliverByTrace = p.by.trace;
      }
      let holdUntil: number | null = null;
      if (p.holdFor !== undefined) holdUntil = e.receivedAt + p.holdFor * 1000;
      if (p.holdUntil !== undefined) holdUntil = p.holdUntil.getTime();
      const id = await queue.enqueue({
        from: e.from,
        message: auth ? await authenticate(auth, e) : e.message,
        recipients: e.recipients.map((r) => ({
          address: r.address,
          ...(r.params.notify !== undefined ? { notify: r.params.notify } : {}),
          ...(r.params.orcpt !== undefined ? { orcpt: r.params.orcpt } : {}),
        })),
        params,
        accountId: e.accountId,
        holdUntil,
        priority: p.mtPriority ?? 0,
        deliverBy: p.by !== undefined ? e.receivedAt + p.by.time * 1000 : null,
      });
      queued?.();
      return id;
    },
  };
}
