// The state of one SMTP/LMTP session that the command handlers share.
import type { BdatReader } from "../wire/bdat.ts";
import type { MailParams, RcptParams } from "../wire/params.ts";
import type { SmtpAddress } from "../wire/path.ts";
import type { Reply } from "../wire/replies.ts";
import type { SmtpHooks } from "./hooks.ts";

/** smtp: inbound MTA (25); submission: 587 and 465 (RFC 6409, RFC 8314); lmtp: RFC 2033. */
export type SmtpMode = "smtp" | "submission" | "lmtp";

export interface AcceptedRecipient {
  address: SmtpAddress;
  /** Lower-cased "local@domain" with an A-label domain. */
  normalized: string;
  params: RcptParams;
  /** Local accounts the message goes to (aliases, subaddress and catch-all resolved). */
  accountIds: string[];
  /** Addresses it goes out to: the recipient itself (submission) or alias forwarding targets. */
  external: string[];
  /** RFC 5233 subaddress detail. */
  detail: string | null;
  local: boolean;
}

export interface Transaction {
  /** The reverse path; null for `<>`. */
  from: SmtpAddress | null;
  params: MailParams;
  recipients: AcceptedRecipient[];
  /** RCPT commands tried, accepted or not (DATA without any valid one: 554, RFC 2920 §3.1). */
  rcptAttempts: number;
  /** The message is being sent with BDAT (DATA may not follow, RFC 3030 §2). */
  bdat?: BdatReader;
  /** A refused BDAT chunk: later chunks of this message are read and refused the same way. */
  bdatError?: Reply;
  /** When MAIL was accepted (ms). */
  startedAt: number;
}

/** One message for the outbound queue (relayed submission, alias forwarding). */
export interface OutboundEnvelope {
  /** The reverse path, "" for `<>`. */
  from: string;
  /** MAIL parameters (DSN RET/ENVID, MT-PRIORITY, HOLDFOR/HOLDUNTIL, BY, REQUIRETLS...). */
  mailParams: MailParams;
  /**
   * Each remote address with the DSN parameters of the RCPT that led to it (RFC 3461), and
   * the local address (an alias) that forwards to it, if any: forwarded mail is ARC-sealed.
   */
  recipients: { address: string; params: RcptParams; alias?: string }[];
  /** The message with its trace headers. */
  message: Buffer;
  receivedAt: number;
  /** The authenticated account that submitted it, if any: its mail is DKIM-signed. */
  accountId: string | null;
  /**
   * The Authentication-Results payload of the inbound checks ("authserv-id; spf=pass ..."),
   * for the ARC-Authentication-Results of forwarded mail; else the Authentication-Results
   * field with our authserv-id on the message is used (src/mailauth/arc-seal.ts).
   */
  authResults?: string;
}

/** Where relayed mail goes: the durable outbound queue. Resolves once committed. */
export interface OutboundSink {
  enqueue(e: OutboundEnvelope): Promise<string>;
}

/** Options of one SMTP service (smtpProtocol). */
export interface SmtpServiceOptions {
  /** The outbound queue; without it no remote recipient is accepted. */
  outbound?: OutboundSink;
  /** Extra policy hooks, run before the built-in policy of each stage. */
  hooks?: SmtpHooks[];
  /** Idle timeout override in ms (default limits.smtpTimeoutSeconds, RFC 5321 §4.5.3.2.7). */
  timeoutMs?: number;
  /** Syntax and sequence errors tolerated before "421 Too many errors" (default 10). */
  maxErrors?: number;
  /** RFC 9422 MAILMAX: transactions per session (default 1000). */
  maxTransactions?: number;
  /** RFC 4865: longest FUTURERELEASE hold, seconds (default 30 days). */
  maxHoldSeconds?: number;
}

export const DEFAULTS = {
  maxErrors: 10,
  maxTransactions: 1000,
  maxHoldSeconds: 30 * 24 * 3600,
} as const;
