// SPF (RFC 7208): check_host() for the MAIL FROM identity (§2.4) and the HELO identity (§2.3).
//
// Wrapped, not replaced: the evaluation is `mailauth`'s spf() (strict mode: the record is
// validated whole before evaluation, §4.6; void lookups are counted as §4.6.4 says; the c, r
// and t macros are refused outside explanations, §7.3), which passes the OpenSPF RFC 7208
// suite (npm run conformance -- spf). What this file adds: our Resolver behind mailauth's
// resolver function, a time limit (§4.6.4 "at least 20 seconds"), and the result in our types.
import { spf as mailauthSpf } from "mailauth";
import { isIP } from "node:net";
import type { Resolver } from "../dns/resolver.ts";
import { mailauthResolver } from "./resolver.ts";

/** RFC 7208 §2.6 results. */
export type SpfResult = "none" | "neutral" | "pass" | "fail" | "softfail" | "temperror" | "permerror";

export const SPF_RESULTS: readonly SpfResult[] = [
  "none",
  "neutral",
  "pass",
  "fail",
  "softfail",
  "temperror",
  "permerror",
];

export interface SpfOutcome {
  result: SpfResult;
  /** Which identity was checked: MAIL FROM, or HELO (asked, or because MAIL FROM was null). */
  identity: "mailfrom" | "helo";
  /** The domain check_host() was run on (<domain> of §4.1). */
  domain: string;
  /** The <sender> of §4.1: the MAIL FROM address, or postmaster@HELO. */
  sender: string;
  /** The SPF record evaluated, if any. */
  record?: string;
  /** §6.2 explanation of a fail (third-party text). */
  explanation?: string;
  /** Human-readable reason (the Received-SPF comment). */
  comment: string;
  /** The whole Received-SPF header field (§9.1), CRLF-free, folded. */
  receivedSpf: string;
}

export interface SpfCheckInput {
  resolver: Resolver;
  /** The SMTP client's IP address (§4.1 <ip>). */
  ip: string;
  /** The HELO/EHLO argument (address literals in brackets). */
  helo: string;
  /** The MAIL FROM address ("local@domain"); null or "" for the null reverse-path. */
  mailFrom: string | null;
  /** Our host name, named in the comments (§9.1 "receiver"). */
  hostname: string;
  /** Whole-evaluation limit in ms (§4.6.4 advises at least 20 s). */
  timeLimitMs?: number;
}

function asResult(r: string): SpfResult {
  return (SPF_RESULTS as readonly string[]).includes(r) ? (r as SpfResult) : "temperror";
}

/**
 * check_host() for one identity. With `mailFrom` null or empty the HELO identity is checked
 * as postmaster@HELO (§2.4); `checkHelo` checks the HELO identity whatever MAIL FROM is (§2.3).
 */
export async function checkSpf(input: SpfCheckInput): Promise<SpfOutcome> {
  const nullSender = input.mailFrom === null || input.mailFrom === "";
  const helo = isIP(input.helo) !== 0 ? `[${input.helo}]` : input.helo;
  const r = await mailauthSpf({
    sender: nullSender ? "" : (input.mailFrom ?? ""),
    ip: input.ip,
    helo,
    mta: input.hostname,
    resolver: mailauthResolver(input.resolver),
    strict: true,
    maxElapsedTime: input.timeLimitMs ?? 20_000,
  } as Parameters<typeof mailauthSpf>[0]);
  const out: SpfOutcome = {
    result: asResult(r.status.result),
    identity: nullSender ? "helo" : "mailfrom",
    domain: r.domain,
    sender: r["envelope-from"] ?? `postmaster@${helo}`,
    comment: r.status.comment ?? "",
    receivedSpf: r.header,
  };
  if (r.rr !== undefined) out.record = r.rr;
  const explanation = (r as { explanation?: string }).explanation;
  if (explanation !== undefined) out.explanation = explanation;
  return out;
}

/**
 * RFC 7208 §2.3: the HELO identity on its own. A HELO that is an address literal or not a
 * fully qualified name gives "none" without a lookup (§4.3: an invalid domain is "none").
 */
export async function checkHeloSpf(input: Omit<SpfCheckInput, "mailFrom">): Promise<SpfOutcome> {
  return checkSpf({ ...input, mailFrom: null });
}
