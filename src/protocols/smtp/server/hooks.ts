// Policy hooks of the SMTP server: typed async functions called at connect, EHLO, MAIL, RCPT,
// end of DATA and just before the message is committed (queue). Mail authentication (SPF,
// DKIM, DMARC), spam checks, DNSBLs and rate limits plug in here. Each hook answers a
// Verdict; ONE table (VERDICT_REPLIES) turns every verdict into the SMTP reply, so a reason
// always gets the same code and enhanced status (RFC 3463, RFC 7372) wherever it is decided.
import type { ConnectionInfo } from "../../../net/listener.ts";
import type { AuthResult } from "../../../auth/types.ts";
import type { MailParams, RcptParams } from "../wire/params.ts";
import type { SmtpAddress } from "../wire/path.ts";
import type { Reply, ReplyName } from "../wire/replies.ts";
import { reply } from "../wire/replies.ts";

/** Why a hook refuses; the table below maps each to its permanent and temporary replies. */
export type VerdictReason =
  | "policy"
  | "relay"
  | "unknown-user"
  | "mailbox-disabled"
  | "sender-not-allowed"
  | "bad-sender-domain"
  | "rate-limit"
  | "dns"
  | "spf"
  | "dkim"
  | "dmarc"
  | "iprev"
  | "null-mx"
  | "dnsbl"
  | "spam"
  | "virus"
  | "too-big"
  | "quota"
  | "too-many-hops"
  | "solicitation"
  | "local-error";

export type Verdict =
  /** No opinion: the next hook (then the built-in policy) decides. */
  | { action: "continue" }
  /** Accept now; later hooks of this stage are skipped. */
  | { action: "accept" }
  /** 5xx: permanent refusal. */
  | { action: "reject"; reason: VerdictReason; text?: string }
  /** 4xx: try again later. */
  | { action: "tempfail"; reason: VerdictReason; text?: string }
  /** Answer (421 unless a reason is given) and close the connection. */
  | { action: "disconnect"; reason?: VerdictReason; text?: string };

export const CONTINUE: Verdict = { action: "continue" };

/** The one verdict-to-reply table: [permanent, temporary] reply per reason. */
export const VERDICT_REPLIES: Record<VerdictReason, readonly [ReplyName, ReplyName]> = {
  policy: ["POLICY_REJECT", "RATE_LIMITED"],
  relay: ["RELAY_DENIED", "LOCAL_ERROR"],
  "unknown-user": ["NO_SUCH_USER", "MAILBOX_BUSY"],
  "mailbox-disabled": ["MAILBOX_DISABLED", "MAILBOX_BUSY"],
  "sender-not-allowed": ["SENDER_NOT_ALLOWED", "LOCAL_ERROR"],
  "bad-sender-domain": ["BAD_SENDER_DOMAIN", "DNS_TEMP"],
  "rate-limit": ["POLICY_REJECT", "RATE_LIMITED"],
  dns: ["BAD_SENDER_DOMAIN", "DNS_TEMP"],
  spf: ["SPF_FAIL", "SPF_TEMP"],
  dkim: ["DKIM_FAIL", "LOCAL_ERROR"],
  // 550 5.7.1 for a DMARC reject (as OpenDMARC answers; RFC 7372's 5.7.26 speaks of
  // several failed checks), 451 4.4.3 when the policy could not be looked up.
  dmarc: ["POLICY_REJECT", "DNS_TEMP"],
  iprev: ["IPREV_FAIL", "DNS_TEMP"],
  "null-mx": ["NULL_MX_SENDER", "DNS_TEMP"],
  dnsbl: ["POLICY_REJECT", "RATE_LIMITED"],
  spam: ["POLICY_REJECT", "LOCAL_ERROR"],
  virus: ["POLICY_REJECT", "LOCAL_ERROR"],
  "too-big": ["MESSAGE_TOO_BIG", "INSUFFICIENT_STORAGE"],
  quota: ["MAILBOX_FULL_PERM", "MAILBOX_FULL"],
  "too-many-hops": ["TOO_MANY_HOPS", "LOCAL_ERROR"],
  solicitation: ["SOLICITATION_REFUSED", "LOCAL_ERROR"],
  "local-error": ["TRANSACTION_FAILED", "LOCAL_ERROR"],
};

/** The reply for a verdict (null for continue/accept). */
export function verdictReply(v: Verdict): Reply | null {
  switch (v.action) {
    case "continue":
    case "accept":
      return null;
    case "reject":
      return reply(VERDICT_REPLIES[v.reason][0], v.text);
    case "tempfail":
      return reply(VERDICT_REPLIES[v.reason][1], v.text);
    case "disconnect":
      if (v.reason !== undefined) return reply(VERDICT_REPLIES[v.reason][1], v.text);
      return { code: 421, enhanced: "4.7.0", text: v.text ?? "Closing connection" };
  }
}

/** What every hook sees of the session. */
export interface HookSession {
  readonly info: Omit<ConnectionInfo, "onShutdown">;
  readonly mode: "smtp" | "submission" | "lmtp";
  readonly tls: boolean;
  readonly helo: string | null;
  readonly auth: AuthResult | null;
}

export interface HookRecipient {
  address: SmtpAddress;
  /** Lower-cased "local@domain" (A-label domain). */
  normalized: string;
  params: RcptParams;
  local: boolean;
}

/**
 * What the data hooks may change in a message they let through, and what they are told of
 * the transaction. Mail authentication uses it: its trace fields go on top (RFC 8601 §5,
 * RFC 7208 §9.1), forged Authentication-Results of our authserv-id are removed (RFC 8601
 * §5), and a DMARC quarantine files the local copies into Junk.
 */
export interface DataContext {
  /** The reverse path of the transaction (null for `<>`). */
  readonly from: SmtpAddress | null;
  /** Header fields (each CRLF-ended) put on top of the message, above our Received. */
  prepend: string[];
  /** Rewrites of the received message, applied in order before the trace fields. */
  rewrite: ((message: Buffer) => Buffer)[];
  /** File the local copies into each account's Junk mailbox (special-use \Junk). */
  junk: boolean;
}

export interface SmtpHooks {
  connect?: (s: HookSession) => Promise<Verdict>;
  ehlo?: (s: HookSession, domain: string, valid: boolean) => Promise<Verdict>;
  mail?: (s: HookSession, from: SmtpAddress | null, params: MailParams) => Promise<Verdict>;
  rcpt?: (s: HookSession, rcpt: HookRecipient) => Promise<Verdict>;
  /** The whole message as received, before any header is added. */
  data?: (
    s: HookSession,
    message: Buffer,
    recipients: readonly HookRecipient[],
    ctx: DataContext,
  ) => Promise<Verdict>;
  /** The final message (trace headers added), just before it is committed. */
  queue?: (s: HookSession, message: Buffer, recipients: readonly HookRecipient[]) => Promise<Verdict>;
}

type HookArgs<K extends keyof SmtpHooks> = Parameters<NonNullable<SmtpHooks[K]>>;

/** Runs the hooks of one stage in order; the first verdict other than continue wins. */
export async function runHooks<K extends keyof SmtpHooks>(
  hooks: readonly SmtpHooks[],
  stage: K,
  ...args: HookArgs<K>
): Promise<Verdict> {
  for (const h of hooks) {
    const fn = h[stage] as ((...a: HookArgs<K>) => Promise<Verdict>) | undefined;
    if (fn === undefined) continue;
    const v = await fn(...args);
    if (v.action !== "continue") return v;
  }
  return CONTINUE;
}
