// End of a transaction: trace headers, the data and queue hooks, then delivery. Local
// recipients go through the one ingest path (one copy per account, group-committed); the
// reply is sent only once every copy is durable. SMTP answers once for the message (250 only
// when every accepted recipient's copy is committed); LMTP answers once per accepted
// recipient, in RCPT order (RFC 2033 §4.2).
import { randomUUID } from "node:crypto";
import { isStoreError } from "../../../core/errors.ts";
import { formatRfc5322Date } from "../../../mail/date.ts";
import { formatAddress } from "../wire/path.ts";
import type { Reply } from "../wire/replies.ts";
import { reply } from "../wire/replies.ts";
import type { DataContext, HookRecipient } from "./hooks.ts";
import { runHooks, verdictReply } from "./hooks.ts";
import type { SmtpSession } from "./session.ts";
import type { AcceptedRecipient, Transaction } from "./types.ts";

/** RFC 5321 §6.3: more Received fields than this is a loop. */
const MAX_HOPS = 100;

/** The header section of a message (up to the empty line), as latin1 text. */
export function headerSection(message: Buffer): string {
  const end = message.indexOf("\r\n\r\n");
  if (message.subarray(0, 2).toString("latin1") === "\r\n") return "";
  return message.subarray(0, end < 0 ? message.length : end + 2).toString("latin1");
}

function hasField(headers: string, name: string): boolean {
  return new RegExp(`(?:^|\\r\\n)${name}[ \\t]*:`, "i").test(headers);
}

/**
 * RFC 3848 (and RFC 6531 §3.7.3 for UTF8*): the "with" protocol of the Received field:
 * SMTP, ESMTP, LMTP plus S for TLS and A for authentication.
 */
export function withProtocol(
  s: { mode: string; esmtp: boolean; tls: boolean; auth: unknown },
  utf8: boolean,
): string {
  if (s.mode !== "lmtp" && !s.esmtp) return "SMTP";
  let w = s.mode === "lmtp" ? "LMTP" : "ESMTP";
  if (utf8) w = s.mode === "lmtp" ? "UTF8LMTP" : "UTF8SMTP";
  if (s.tls) w += "S";
  if (s.auth !== null) w += "A";
  return w;
}

const safe = (t: string): string => t.replace(/[()\\\r\n]/g, "?");

/** RFC 5321 §4.4 time stamp line, folded, CRLF-ended. */
export function receivedHeader(s: SmtpSession, txn: Transaction, id: string): string {
  const helo = safe(s.helo ?? "unknown");
  const ip = s.info.remoteAddress;
  const literal = ip.includes(":") ? `IPv6:${ip}` : ip;
  // RFC 5321 §4.4: the TCP-info comment is optional; a unix socket client has no address.
  const from = s.info.socketPath === undefined ? `${helo} ([${literal}])` : helo;
  let h = `Received: from ${from}\r\n\tby ${s.hostname} (Mailroom) with ${withProtocol(s, txn.params.smtputf8 === true)} id ${id}`;
  if (s.tlsInfo !== null) h += `\r\n\t(version=${safe(s.tlsInfo.version)} cipher=${safe(s.tlsInfo.cipher)})`;
  if (s.auth !== null) h += `\r\n\t(authenticated as ${safe(s.auth.username)})`;
  // RFC 5321 §7.2: "for" only with a single recipient, not to disclose the others.
  const only = txn.recipients.length === 1 ? txn.recipients[0] : undefined;
  if (only !== undefined) h += `\r\n\tfor <${formatAddress(only.address)}>`;
  h += `;\r\n\t${formatRfc5322Date(s.ctx.clock.now())}\r\n`;
  return h;
}

/** RFC 6409 §8.2, §8.3: submission adds Message-ID and Date when the client did not. */
export function completeSubmission(message: Buffer, hostname: string, now: number): Buffer {
  const headers = headerSection(message);
  let add = "";
  if (!hasField(headers, "Date")) add += `Date: ${formatRfc5322Date(now)}\r\n`;
  if (!hasField(headers, "Message-ID")) add += `Message-ID: <${randomUUID()}@${hostname}>\r\n`;
  if (add === "") return message;
  return Buffer.concat([Buffer.from(add, "latin1"), message]);
}

function hookRecipients(txn: Transaction): HookRecipient[] {
  return txn.recipients.map((r) => ({
    address: r.address,
    normalized: r.normalized,
    params: r.params,
    local: r.local,
  }));
}

/** Answers every accepted recipient the same (LMTP), or once (SMTP). */
export function replyAll(s: SmtpSession, txn: Transaction, r: Reply): void {
  const n = s.mode === "lmtp" ? Math.max(1, txn.recipients.length) : 1;
  for (let i = 0; i < n; i++) s.reply(r);
}

async function storeErrorReply(s: SmtpSession, e: unknown, accountId: string, size: number): Promise<Reply> {
  if (isStoreError(e, "NOQUOTA")) {
    const account = await s.ctx.store.getAccount(accountId);
    // The message could never fit: permanent (552 5.2.2); otherwise the box is full for now.
    if (account?.quotaBytes !== null && account?.quotaBytes !== undefined && size > account.quotaBytes)
      return reply("MAILBOX_FULL_PERM");
    return reply("MAILBOX_FULL");
  }
  if (isStoreError(e, "TOOBIG")) return reply("MESSAGE_TOO_BIG");
  s.log.error({ err: e instanceof Error ? e.stack : String(e), accountId }, "delivery failed");
  return reply("LOCAL_ERROR");
}

/** Delivers the message of `txn` and answers; the transaction ends either way. */
export async function deliver(s: SmtpSession, txn: Transaction, body: Buffer): Promise<void> {
  try {
    await deliverInner(s, txn, body);
  } finally {
    s.endTransaction();
  }
  // The answer goes out at once, whatever input is pipelined behind it (RFC 2920 §3.2
  // allows batching, but a client streaming messages should not wait for its 250s).
  s.flush();
}

async function deliverInner(s: SmtpSession, txn: Transaction, body: Buffer): Promise<void> {
  const headers = headerSection(body);
  const hops = headers.match(/(?:^|\r\n)Received[ \t]*:/gi)?.length ?? 0;
  if (hops > MAX_HOPS) {
    replyAll(s, txn, reply("TOO_MANY_HOPS"));
    return;
  }
  const recipients = hookRecipients(txn);
  const dataCtx: DataContext = { from: txn.from, prepend: [], rewrite: [], junk: false };
  const dv = await runHooks(s.hooks, "data", s, body, recipients, dataCtx);
  const dr = verdictReply(dv);
  if (dr !== null) {
    replyAll(s, txn, dr);
    if (dv.action === "disconnect") s.close();
    return;
  }
  const now = s.ctx.clock.now();
  let received = body;
  for (const f of dataCtx.rewrite) received = f(received);
  const content = s.mode === "submission" ? completeSubmission(received, s.hostname, now) : received;
  const id = `${s.id}.${s.transactions}`;
  const message = Buffer.concat([
    Buffer.from(dataCtx.prepend.join("") + receivedHeader(s, txn, id), "utf8"),
    content,
  ]);
  const qv = await runHooks(s.hooks, "queue", s, message, recipients);
  const qr = verdictReply(qv);
  if (qr !== null) {
    replyAll(s, txn, qr);
    if (qv.action === "disconnect") s.close();
    return;
  }

  // One copy per local account, with its Return-Path (RFC 5321 §4.4) and Delivered-To
  // (RFC 9228 §4) naming the address it was delivered for.
  const byAccount = new Map<string, AcceptedRecipient>();
  for (const r of txn.recipients) for (const a of r.accountIds) if (!byAccount.has(a)) byAccount.set(a, r);
  const returnPath = `Return-Path: ${txn.from === null ? "<>" : `<${formatAddress(txn.from)}>`}\r\n`;
  const outcomes = new Map<string, Reply | null>();
  await Promise.all(
    [...byAccount].map(async ([accountId, r]) => {
      const raw = Buffer.concat([
        Buffer.from(`${returnPath}Delivered-To: ${formatAddress(r.address)}\r\n`, "utf8"),
        message,
      ]);
      try {
        await s.ctx.ingest.ingest({
          accountId,
          raw,
          source: s.mode === "lmtp" ? "lmtp" : "smtp",
          receivedAt: now,
          ...(dataCtx.junk ? { role: "junk" as const } : {}),
        });
        outcomes.set(accountId, null);
      } catch (e) {
        outcomes.set(accountId, await storeErrorReply(s, e, accountId, raw.length));
      }
    }),
  );

  // Relayed and forwarded copies go to the outbound queue, in one transaction.
  const remote = txn.recipients.filter((r) => r.external.length > 0);
  let queueFailure: Reply | null = null;
  if (remote.length > 0) {
    if (s.outbound === null) queueFailure = reply("LOCAL_ERROR", "Outbound queue not available");
    else {
      try {
        await s.outbound.enqueue({
          from: txn.from === null ? "" : `${txn.from.localPart}@${txn.from.domain}`,
          mailParams: txn.params,
          recipients: remote.flatMap((r) =>
            r.external.map((address) => ({
              address,
              params: r.params,
              ...(r.local ? { alias: r.normalized } : {}),
            })),
          ),
          message,
          receivedAt: now,
          accountId: s.auth?.accountId ?? null,
        });
      } catch (e) {
        s.log.error({ err: e instanceof Error ? e.stack : String(e) }, "enqueue failed");
        queueFailure = reply("LOCAL_ERROR");
      }
    }
  }

  if (s.mode !== "lmtp")
    await queueFailedCopies(s, txn, message, now, byAccount, outcomes, queueFailure === null);

  const perRecipient = txn.recipients.map((r): Reply | null => {
    for (const a of r.accountIds) {
      const o = outcomes.get(a);
      if (o !== null && o !== undefined) return o;
    }
    if (r.external.length > 0 && queueFailure !== null) return queueFailure;
    return null;
  });
  const ok = reply("MESSAGE_ACCEPTED", `Message accepted as ${id}`);
  if (s.mode === "lmtp") {
    for (const r of perRecipient) s.reply(r ?? ok);
    return;
  }
  const failures = perRecipient.filter((r): r is Reply => r !== null);
  if (failures.length === 0) {
    s.reply(ok);
    return;
  }
  // SMTP has one reply for the message: here no copy at all was committed (a partial failure
  // went to the queue above). A temporary failure wins, so the client retries.
  s.reply(failures.find((f) => f.code < 500) ?? (failures[0] as Reply));
}

/**
 * SMTP has one reply per message (RFC 5321 §4.2.5), so when some local copies committed and
 * others failed, a 4xx would make the client send the committed ones again. Instead the
 * failed copies go to the queue, whose local delivery retries them or bounces them with a
 * DSN (RFC 3461, RFC 5321 §6.1: after 250 we own the message), and the message gets 250. If
 * nothing committed, or the queue refuses, the failures stand.
 */
async function queueFailedCopies(
  s: SmtpSession,
  txn: Transaction,
  message: Buffer,
  now: number,
  byAccount: Map<string, AcceptedRecipient>,
  outcomes: Map<string, Reply | null>,
  remoteOk: boolean,
): Promise<void> {
  const failed = [...outcomes].filter(([, o]) => o !== null).map(([a]) => a);
  const committed =
    [...outcomes.values()].some((o) => o === null) ||
    (remoteOk && txn.recipients.some((r) => r.external.length > 0));
  if (failed.length === 0 || !committed || s.outbound === null) return;
  try {
    const recipients = [];
    for (const accountId of failed) {
      const account = await s.ctx.store.getAccount(accountId);
      const r = byAccount.get(accountId);
      if (!account || !r) return;
      // The queue delivers to the account itself (its name), not again to an alias's other
      // targets; ORCPT keeps the address the sender used for the DSN (RFC 3461 §4.2).
      const params = {
        ...r.params,
        orcpt: r.params.orcpt ?? { addrType: "rfc822", address: formatAddress(r.address) },
      };
      recipients.push({ address: account.name, params });
    }
    await s.outbound.enqueue({
      from: txn.from === null ? "" : `${txn.from.localPart}@${txn.from.domain}`,
      mailParams: txn.params,
      recipients,
      message,
      receivedAt: now,
      accountId: s.auth?.accountId ?? null,
    });
    for (const a of failed) outcomes.set(a, null);
  } catch (e) {
    s.log.error({ err: e instanceof Error ? e.stack : String(e) }, "queueing the failed copies failed");
  }
}
