// What the outbound queue needs from the delivery layer: local delivery of queued mail (a
// recipient of a local domain whose copy failed for a while at SMTP time, aliases) through
// the one ingest path, and the way DSNs and reports go back to a sender: into the local
// mailbox when the sender is ours, else into the queue with the null reverse path
// (RFC 5321 §4.5.5), so a bounce never bounces.
import { isStoreError } from "../core/errors.ts";
import type { QueueStore } from "../queue/queue-store.ts";
import type { LocalDelivery } from "../queue/transport.ts";
import type { MailStore } from "../store/types.ts";
import type { Ingest } from "./ingest.ts";

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

export function localDelivery(store: MailStore, ingest: Ingest): LocalDelivery {
  return {
    async isLocal(domain) {
      return (await store.getDomain(domain)) !== null;
    },
    async deliver(address, from, message) {
      const rcpt = await store.resolveRecipient(address);
      if (!rcpt || (rcpt.accountIds.length === 0 && rcpt.external.length === 0))
        return { ok: false, permanent: true, code: 550, enhanced: "5.1.1", text: `no mailbox ${address}` };
      // RFC 5321 §4.4 Return-Path and RFC 9228 Delivered-To, as at SMTP delivery.
      const raw = Buffer.concat([
        Buffer.from(`Return-Path: <${from}>\r\nDelivered-To: ${address}\r\n`, "utf8"),
        message,
      ]);
      try {
        // (An alias to several accounts where one fails for a while gets the others' copies
        // again at the retry; the store has no per-recipient dedup yet.)
        for (const accountId of rcpt.accountIds) await ingest.ingest({ accountId, raw, source: "queue" });
        return { ok: true, permanent: false, code: 250, enhanced: "2.0.0", text: "delivered" };
      } catch (e) {
        if (isStoreError(e, "NOQUOTA"))
          return { ok: false, permanent: false, code: 452, enhanced: "4.2.2", text: "mailbox full" };
        if (isStoreError(e, "TOOBIG"))
          return { ok: false, permanent: true, code: 552, enhanced: "5.3.4", text: "message too big" };
        return { ok: false, permanent: false, code: 451, enhanced: "4.3.0", text: "local delivery failed" };
      }
    },
  };
}

/**
 * Sends a DSN or report to `to`: local mailbox, or the queue with the null sender. `sign`
 * DKIM-signs what leaves over SMTP (the DSNs and reports we originate, RFC 6376).
 */
export function returnMail(
  queue: QueueStore,
  local: LocalDelivery,
  sign?: (message: Buffer) => Promise<Buffer>,
): (to: string, message: Buffer) => Promise<void> {
  return async (to, message) => {
    if (await local.isLocal(domainOf(to))) {
      const r = await local.deliver(to, "", message);
      if (r.ok || r.permanent) return; // a DSN that cannot be delivered is dropped (RFC 3461 §6.2)
    }
    const out = sign ? await sign(message) : message;
    await queue.enqueue({ from: "", message: out, recipients: [{ address: to, notify: "NEVER" }] });
  };
}
