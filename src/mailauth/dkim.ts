// DKIM verification (RFC 6376 §6) of every DKIM-Signature of a message, with the key rules of
// RFC 8301 (rsa-sha1 refused: §3.1; RSA keys under 1024 bits fail: §3.2) and Ed25519 keys
// (RFC 8463).
//
// Wrapped, not replaced: the canonicalization, hashing and key handling are `mailauth`'s
// dkimVerify() in strict mode (rsa-sha1 signatures answer "policy", a body hash mismatch is
// "fail", a signature that cannot be processed is "neutral": RFC 8601 §2.7.1), which also
// gathers the ARC header fields for arc.ts. What this file adds: our Resolver, our clock for
// the t= / x= checks (RFC 6376 §3.5), the 1024-bit floor, and the results in our types.
import { dkimVerify } from "mailauth";
import type { Resolver } from "../dns/resolver.ts";
import type { MailauthResolver } from "./resolver.ts";
import { mailauthResolver } from "./resolver.ts";

/** RFC 8601 §2.7.1 DKIM results. */
export type DkimResult = "none" | "pass" | "fail" | "policy" | "neutral" | "temperror" | "permerror";

/** RFC 8301 §3.2: verifiers MUST NOT consider signatures with RSA keys under 1024 bits valid. */
export const MIN_RSA_BITS = 1024;

export interface DkimSignatureResult {
  result: DkimResult;
  /** d= (the SDID). */
  domain: string;
  /** s= */
  selector: string;
  /** a= */
  algorithm: string;
  /** The first 8 characters of b=, for header.b (RFC 6008). */
  b: string;
  /** Why it did not pass, or the key size. */
  comment: string;
  /** RSA key size when known. */
  keyBits?: number;
  /** The Authentication-Results resinfo of this signature ("dkim=pass header.d=..."). */
  info: string;
}

export interface DkimVerification {
  signatures: DkimSignatureResult[];
  /** Addresses of the From field(s) (RFC 5322 §3.6.2), for DMARC. */
  headerFrom: string[];
  /** How many From fields the message has (RFC 5322 allows one). */
  fromFields: number;
  /** The raw result of mailauth, kept for ARC and DMARC evaluation. */
  readonly raw: Awaited<ReturnType<typeof dkimVerify>>;
  /** The resolver function used, so that ARC can reuse the cached key lookups. */
  readonly lookup: MailauthResolver;
}

const RESULTS: readonly DkimResult[] = [
  "none",
  "pass",
  "fail",
  "policy",
  "neutral",
  "temperror",
  "permerror",
];

export interface DkimVerifyOptions {
  resolver: Resolver;
  /** Verification time (ms since the epoch): our clock. */
  now: number;
  /** The smallest RSA key accepted (never below MIN_RSA_BITS). */
  minRsaBits?: number;
}

export async function verifyDkim(message: Buffer, opts: DkimVerifyOptions): Promise<DkimVerification> {
  const lookup = mailauthResolver(opts.resolver);
  const raw = await dkimVerify(message, {
    resolver: lookup,
    curTime: new Date(opts.now),
    minBitLength: Math.max(MIN_RSA_BITS, opts.minRsaBits ?? MIN_RSA_BITS),
    strict: true,
  } as Parameters<typeof dkimVerify>[1]);
  const signatures = (raw.results ?? [])
    .filter((r) => r.signingDomain !== undefined || r.status.result !== "none")
    .map((r): DkimSignatureResult => {
      const result = (RESULTS as readonly string[]).includes(r.status.result)
        ? (r.status.result as DkimResult)
        : "permerror";
      const out: DkimSignatureResult = {
        result,
        domain: r.signingDomain ?? "",
        selector: r.selector ?? "",
        algorithm: r.algo ?? "",
        b: (r.signature ?? "").slice(0, 8),
        comment: r.status.comment ?? "",
        info: r.info,
      };
      if (typeof r.modulusLength === "number") out.keyBits = r.modulusLength;
      return out;
    });
  return { signatures, headerFrom: raw.headerFrom, fromFields: raw.fromFields, raw, lookup };
}
