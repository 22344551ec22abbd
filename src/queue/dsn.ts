// Delivery Status Notifications: the report the queue sends back to a message's envelope
// sender when delivery to some recipients failed, is delayed, or succeeded where NOTIFY asked
// for it. RFC 3464 (the message/delivery-status body), RFC 6522 (multipart/report), RFC 3461
// §6 (which DSNs to send: NOTIFY, RET, ENVID, ORCPT), RFC 6533 (message/global-delivery-status
// and message/global for SMTPUTF8 messages), RFC 3834 §5 (Auto-Submitted).
import { randomBytes } from "node:crypto";

export type DsnAction = "failed" | "delayed" | "delivered" | "relayed";

export interface DsnRecipient {
  /** The address we tried (Final-Recipient, RFC 3464 §2.3.2). */
  address: string;
  /** RFC 3461 §4.2 ORCPT (Original-Recipient, RFC 3464 §2.3.1). */
  orcpt?: { addrType: string; address: string };
  action: DsnAction;
  /** RFC 3463 status, e.g. "5.1.1". */
  status: string;
  /** The host that answered (Remote-MTA). */
  remoteMta?: string | null;
  /** The remote reply or our own explanation (Diagnostic-Code: smtp; ...). */
  diagnostic?: string | null;
  lastAttempt?: number;
  /** For "delayed": when we give up (Will-Retry-Until). */
  willRetryUntil?: number;
}

export interface DsnInput {
  /** Our host name (Reporting-MTA, From: MAILER-DAEMON@...). */
  reportingMta: string;
  /** The envelope sender of the original message: the DSN's recipient. */
  to: string;
  /** RFC 3461 §4.4 ENVID (Original-Envelope-Id), decoded. */
  envid?: string;
  /** When we accepted the original (Arrival-Date). */
  arrivalDate: number;
  /** RFC 3461 §4.3: FULL returns the message, HDRS (the default here) its header only. */
  ret?: "FULL" | "HDRS";
  /** The original uses UTF-8 in its header or addresses (RFC 6533 types then). */
  smtputf8?: boolean;
  recipients: DsnRecipient[];
  original: Buffer;
  now: number;
  /** Largest original returned whole with RET=FULL; bigger ones get the header only. */
  maxReturnedBytes?: number;
}

/** RFC 5322 date-time. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** The original's header section (up to and including the blank line), or all of it. */
export function headerSection(message: Buffer): Buffer {
  const crlf = message.indexOf("\r\n\r\n");
  if (crlf >= 0) return message.subarray(0, crlf + 4);
  const lf = message.indexOf("\n\n");
  return lf >= 0 ? message.subarray(0, lf + 2) : message;
}

/** Text safe in a header field value or a DSN field: no CR/LF, no control characters. */
function oneLine(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
}

const SUBJECTS: Record<DsnAction, string> = {
  failed: "Undelivered Mail Returned to Sender",
  delayed: "Delayed Mail (still being retried)",
  delivered: "Successful Mail Delivery Report",
  relayed: "Mail Delivery Report (relayed)",
};

/** The worst action in the report decides its subject and text: failed > delayed > others. */
function mainAction(recipients: readonly DsnRecipient[]): DsnAction {
  for (const a of ["failed", "delayed", "relayed", "delivered"] as const)
    if (recipients.some((r) => r.action === a)) return a;
  return "delivered";
}

function humanText(input: DsnInput, action: DsnAction): string {
  const lines: string[] = [`This is the mail system at host ${input.reportingMta}.`, ""];
  if (action === "failed") {
    lines.push(
      "I'm sorry to have to inform you that your message could not be delivered to one or more",
      "recipients. It's attached below.",
    );
  } else if (action === "delayed") {
    lines.push(
      "Your message could not be delivered yet to one or more recipients; it will be tried again.",
      "You do not need to resend it.",
    );
  } else {
    lines.push("Your message was delivered to the recipients below, as you asked.");
  }
  lines.push("");
  for (const r of input.recipients) {
    const what = r.diagnostic ? `: ${oneLine(r.diagnostic)}` : "";
    lines.push(`<${r.address}> (${r.action}, ${r.status})${what}`);
  }
  return lines.join("\r\n") + "\r\n";
}

/** RFC 3464 §2.2 and §2.3: the per-message fields, then one block per recipient. */
export function deliveryStatus(input: DsnInput): string {
  const out: string[] = [`Reporting-MTA: dns; ${input.reportingMta}`];
  if (input.envid !== undefined) out.push(`Original-Envelope-Id: ${oneLine(input.envid)}`);
  out.push(`Arrival-Date: ${rfc5322Date(input.arrivalDate)}`);
  const utf8 = input.smtputf8 === true;
  for (const r of input.recipients) {
    out.push("");
    // RFC 6533 §3: "utf-8" address type in message/global-delivery-status.
    const type = utf8 && /[^\x00-\x7f]/.test(r.address) ? "utf-8" : "rfc822";
    if (r.orcpt) out.push(`Original-Recipient: ${oneLine(r.orcpt.addrType)};${oneLine(r.orcpt.address)}`);
    out.push(`Final-Recipient: ${type};${oneLine(r.address)}`);
    out.push(`Action: ${r.action}`);
    out.push(`Status: ${r.status}`);
    if (r.remoteMta) out.push(`Remote-MTA: dns; ${oneLine(r.remoteMta)}`);
    if (r.diagnostic) out.push(`Diagnostic-Code: smtp; ${oneLine(r.diagnostic)}`);
    if (r.lastAttempt !== undefined) out.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (r.willRetryUntil !== undefined) out.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
  }
  return out.join("\r\n") + "\r\n";
}

/**
 * The whole DSN message (RFC 6522 multipart/report; report-type=delivery-status), to be
 * sent with the null reverse path `<>` (RFC 5321 §4.5.5) so it never causes another DSN.
 */
export function buildDsn(input: DsnInput): Buffer {
  const action = mainAction(input.recipients);
  const boundary = `=_dsn_${randomBytes(12).toString("hex")}`;
  const utf8 = input.smtputf8 === true;
  const max = input.maxReturnedBytes ?? 10 * 1024 * 1024;
  const full = input.ret === "FULL" && input.original.length <= max;
  const returned = full ? input.original : headerSection(input.original);
  const returnedType = full
    ? utf8
      ? "message/global"
      : "message/rfc822"
    : utf8
      ? "message/global-headers"
      : "text/rfc822-headers";
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.to}>`,
    `Subject: ${SUBJECTS[action]}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${input.reportingMta}>`,
    // RFC 3834 §5: a machine's report, never answered by another machine.
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
  ];
  const parts = [
    head.join("\r\n") + "\r\n\r\n",
    "This is a MIME-encapsulated message.\r\n\r\n",
    `--${boundary}\r\n`,
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    humanText(input, action),
    `\r\n--${boundary}\r\n`,
    `Content-Type: ${utf8 ? "message/global-delivery-status" : "message/delivery-status"}\r\n\r\n`,
    deliveryStatus(input),
    `\r\n--${boundary}\r\n`,
    `Content-Type: ${returnedType}\r\n\r\n`,
  ];
  return Buffer.concat([
    Buffer.from(parts.join(""), "utf8"),
    returned,
    Buffer.from(`${returned.subarray(-2).toString() === "\r\n" ? "" : "\r\n"}\r\n--${boundary}--\r\n`),
  ]);
}
