// The outbound queue's Transport (src/queue/transport.ts) on our SMTP client: one session per
// destination address and TLS policy, kept open a few seconds and reused for the next message
// to the same host (several messages per connection, RFC 5321 §3.3 allows it), at most
// `perHost` sessions at once to one address. Client failures become TransportErrors: 4xx and
// connection trouble temporary, 5xx permanent, TLS policy failures with their RFC 8460
// result type for TLS-RPT.
import type { DetailedPeerCertificate } from "node:tls";
import type { QueuedRecipient } from "../../../queue/queue-store.ts";
import {
  TransportError,
  type DeliveryParams,
  type DeliveryTarget,
  type Transport,
  type TransportResult,
} from "../../../queue/transport.ts";
import { SmtpClient } from "./client.ts";
import {
  SmtpClientError,
  type ClientOptions,
  type OutboundParams,
  type SmtpDialer,
  type Timeouts,
} from "./types.ts";

export interface QueueTransportOptions {
  /** Our EHLO name. */
  helo: string;
  dialer?: SmtpDialer;
  localAddress?: string;
  timeouts?: Partial<Timeouts>;
  /** Smart host credentials (AUTH after TLS). */
  auth?: { user: string; password: string };
  /** Trust anchors besides the system's (tests, private smart hosts). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Sessions at once per destination address (default 5). */
  perHost?: number;
  /** Idle sessions are closed after this long (default 5 s). */
  idleMs?: number;
  /** Messages per session before a new one (default 100). */
  maxMessagesPerSession?: number;
}

interface Idle {
  client: SmtpClient;
  /** The idle timeout while parked. */
  timer: NodeJS.Timeout | undefined;
  used: number;
}

/** RFC 8460 §4.3 result types for what went wrong with TLS. */
function tlsResultType(e: SmtpClientError): string {
  const m = e.message.toLowerCase();
  if (e.phase === "starttls" || m.includes("starttls")) return "starttls-not-supported";
  if (m.includes("expired")) return "certificate-expired";
  if (m.includes("altname") || m.includes("host") || m.includes("name")) return "certificate-host-mismatch";
  if (m.includes("tlsa")) return "tlsa-invalid";
  if (m.includes("self") || m.includes("verify") || m.includes("issuer") || m.includes("trust"))
    return "certificate-not-trusted";
  return "validation-failure";
}

function asTransportError(e: unknown): TransportError {
  if (!(e instanceof SmtpClientError)) return new TransportError(String(e), false, "4.4.2");
  const reply = e.reply;
  const enhanced =
    reply?.enhanced ??
    (reply
      ? `${Math.floor(reply.code / 100)}.0.0`
      : e.tlsFailure
        ? "4.7.5"
        : e.permanent
          ? "5.0.0"
          : "4.4.2");
  const text = reply ? `${reply.code} ${reply.enhanced ? `${reply.enhanced} ` : ""}${reply.text}` : e.message;
  return new TransportError(text, e.permanent, enhanced, e.tlsFailure ? tlsResultType(e) : undefined);
}

/**
 * The envelope parameters for the client: the stored ones, MT-PRIORITY (RFC 6710) and BY
 * (RFC 2852 §4) with the whole seconds left before the deadline. In R mode at least 1 (a
 * deadline that passed was handled by the delivery agent before it got here); in N mode the
 * time may be zero or negative (RFC 2852 §4, by-time).
 */
export function outboundParams(p: DeliveryParams, now: number): OutboundParams {
  const { priority, deliverBy, deliverByMode, deliverByTrace, ...rest } = p;
  const out: OutboundParams = { ...rest };
  if (priority !== undefined && priority !== 0) out.mtPriority = priority;
  if (deliverBy !== undefined && deliverBy !== null) {
    const mode = deliverByMode ?? "N";
    const left = Math.ceil((deliverBy - now) / 1000);
    out.by = { time: mode === "R" ? Math.max(1, left) : left, mode, trace: deliverByTrace === true };
  }
  return out;
}

export class SmtpQueueTransport implements Transport {
  readonly #o: QueueTransportOptions;
  readonly #idle = new Map<string, Idle[]>();
  readonly #busy = new Map<string, number>();
  readonly #waiting = new Map<string, Array<() => void>>();
  #closed = false;

  constructor(opts: QueueTransportOptions) {
    this.#o = opts;
  }

  async deliver(
    target: DeliveryTarget,
    from: string,
    recipients: readonly QueuedRecipient[],
    params: DeliveryParams,
    message: Buffer,
  ): Promise<TransportResult> {
    const key = `${target.address}|${target.port}|${target.tls.mode}|${target.tls.verifyCertificate}|${target.tls.type}|${target.host}`;
    await this.#acquire(key, target.address);
    let session: Idle | undefined;
    try {
      session = this.#idle.get(key)?.pop();
      if (session) clearTimeout(session.timer);
      if (!session || !session.client.usable) {
        session?.client.close();
        session = {
          client: await SmtpClient.connect(this.#options(target)),
          timer: setTimeout(() => {}, 0),
          used: 0,
        };
      }
      const client = session.client;
      const outcome = await client.send(
        from,
        recipients.map((r) => ({
          address: r.address,
          ...(r.notify !== undefined ? { notify: r.notify } : {}),
          ...(r.orcpt !== undefined ? { orcpt: r.orcpt } : {}),
        })),
        outboundParams(params, Date.now()),
        message,
      );
      session.used++;
      this.#release(key, target.address, session);
      session = undefined;
      return {
        recipients: outcome.recipients.map((o, i) => ({
          index: recipients[i]!.index,
          ok: o.delivered,
          permanent: o.permanent,
          code: o.reply.code,
          enhanced: o.reply.enhanced,
          text: o.reply.text.replace(/\n/g, " "),
        })),
        dsnSupported: client.capabilities.capabilities.dsn === true,
        deliverBySupported:
          params.deliverBy != null && client.capabilities.capabilities.deliverBy !== undefined,
        tls: client.tls.established,
      };
    } catch (e) {
      session?.client.close();
      this.#release(key, target.address, undefined);
      throw asTransportError(e);
    }
  }

  #options(target: DeliveryTarget): ClientOptions {
    const check = target.tls.checkPeer;
    return {
      host: target.address,
      port: target.port,
      helo: this.#o.helo,
      tls: {
        mode: target.tls.mode,
        servername: target.host,
        verifyCertificate: target.tls.verifyCertificate,
        ...(this.#o.ca !== undefined ? { ca: this.#o.ca } : {}),
        ...(check ? { checkPeer: (chain: DetailedPeerCertificate) => check(chain) } : {}),
      },
      ...(this.#o.dialer ? { dialer: this.#o.dialer } : {}),
      ...(this.#o.localAddress ? { localAddress: this.#o.localAddress } : {}),
      ...(this.#o.timeouts ? { timeouts: this.#o.timeouts } : {}),
      ...(this.#o.auth ? { auth: this.#o.auth } : {}),
    };
  }

  async #acquire(key: string, address: string): Promise<void> {
    // An idle session to reuse needs no new slot.
    if ((this.#idle.get(key)?.length ?? 0) > 0) {
      this.#busy.set(address, (this.#busy.get(address) ?? 0) + 1);
      return;
    }
    while ((this.#busy.get(address) ?? 0) >= (this.#o.perHost ?? 5)) {
      await new Promise<void>((r) => this.#waiting.set(address, [...(this.#waiting.get(address) ?? []), r]));
    }
    this.#busy.set(address, (this.#busy.get(address) ?? 0) + 1);
  }

  #release(key: string, address: string, session: Idle | undefined): void {
    this.#busy.set(address, Math.max(0, (this.#busy.get(address) ?? 1) - 1));
    this.#waiting.get(address)?.shift()?.();
    if (!session) return;
    if (this.#closed || !session.client.usable || session.used >= (this.#o.maxMessagesPerSession ?? 100)) {
      void session.client.quit().catch(() => undefined);
      return;
    }
    const list = this.#idle.get(key) ?? [];
    session.timer = setTimeout(() => {
      const l = this.#idle.get(key) ?? [];
      const i = l.indexOf(session);
      if (i >= 0) l.splice(i, 1);
      void session.client.quit().catch(() => undefined);
    }, this.#o.idleMs ?? 5_000);
    session.timer.unref?.();
    list.push(session);
    this.#idle.set(key, list);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle.values()].flat();
    this.#idle.clear();
    await Promise.all(
      all.map(async (s) => {
        clearTimeout(s.timer);
        await s.client.quit().catch(() => undefined);
      }),
    );
  }
}
