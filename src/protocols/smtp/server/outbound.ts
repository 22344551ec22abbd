// The SMTP server's outbound sink over the durable queue table (src/queue/queue-store.ts):
// the MAIL parameters become queue fields: FUTURERELEASE HOLDFOR/HOLDUNTIL (RFC 4865 §3) the
// hold time, MT-PRIORITY (RFC 6710) the priority, BY (RFC 2852 §4) the deadline, and the DSN
// parameters (RFC 3461) stay with the message and each recipient.
import type { QueueParams, QueueStore } from "../../../queue/queue-store.ts";
import type { OutboundEnvelope, OutboundSink } from "./types.ts";

/** `queued` is told after each message is committed to the queue (the delivery agent wakes). */
export function queueSink(queue: QueueStore, queued?: () => void): OutboundSink {
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
        message: e.message,
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
