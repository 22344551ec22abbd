// ARC chain validation (RFC 8617 §5.2) and the trusted-sealer rule of RFC 7960 §4.1.3 / RFC
// 8617 §7.2: a receiver may use the ARC-Authentication-Results of a sealer it trusts to
// override a DMARC failure caused by an intermediary (a mailing list, a forwarder).
//
// Wrapped, not replaced: the chain checks (structure §5.2 steps 1-3, ARC-Message-Signature
// §5.2 step 4, ARC-Seal §5.2 step 5-6) are `mailauth`'s arc() in strict mode, on the header
// fields gathered by dkimVerify() (dkim.ts). mailauth ships a built-in trust list it does not
// apply; the trust decision here uses only the configured sealers.
import { arc as mailauthArc } from "mailauth";
import type { DkimVerification } from "./dkim.ts";
import { MIN_RSA_BITS } from "./dkim.ts";

/** RFC 8617 §4.4 chain validation status. */
export type ArcResult = "none" | "pass" | "fail";

export interface ArcVerification {
  result: ArcResult;
  /** Why the chain failed (§5.2: the first check that failed). */
  comment: string;
  /** The highest instance (i=) of the chain, 0 without one. */
  instance: number;
  /** d= of each ARC-Seal, oldest first (i=1 first). */
  sealers: string[];
  /**
   * The results the newest sealer recorded (its ARC-Authentication-Results): method =>
   * result, e.g. { dmarc: "pass", spf: "pass", dkim: "pass" }.
   */
  sealedResults: Record<string, string>;
  /** The Authentication-Results resinfo ("arc=pass (i=2 ...)"). */
  info: string;
  /** The mailauth result, for sealing (the outbound side seals forwarded mail). */
  readonly raw: Awaited<ReturnType<typeof mailauthArc>>;
}

interface ChainEntry {
  i?: number;
  "arc-seal"?: { parsed?: { d?: { value?: string } } };
}

export async function verifyArc(
  dkim: DkimVerification,
  opts: { ip?: string } = {},
): Promise<ArcVerification> {
  const data = (dkim.raw as { arc?: Parameters<typeof mailauthArc>[0] }).arc ?? { chain: [] };
  const raw = await mailauthArc(data, {
    resolver: dkim.lookup,
    minBitLength: MIN_RSA_BITS,
    strict: true,
    ...(opts.ip !== undefined ? { ip: opts.ip } : {}),
  } as Parameters<typeof mailauthArc>[1]);
  const r = raw.status.result;
  const result: ArcResult = r === "pass" ? "pass" : r === "none" ? "none" : "fail";
  const chain = (data as { chain?: unknown }).chain;
  const entries: ChainEntry[] = Array.isArray(chain) ? (chain as ChainEntry[]) : [];
  const sealers = [...entries]
    .sort((a, b) => (a.i ?? 0) - (b.i ?? 0))
    .map((e) => (e["arc-seal"]?.parsed?.d?.value ?? "").toLowerCase());
  const sealedResults: Record<string, string> = {};
  const ar = raw.authenticationResults as Record<string, { result?: string; value?: string }> | undefined;
  for (const [k, v] of Object.entries(ar ?? {})) {
    if (k === "mta") continue;
    const first = Array.isArray(v) ? (v[0] as { result?: string } | undefined) : v;
    if (first && typeof first.result === "string") sealedResults[k] = first.result;
  }
  return {
    result,
    comment: raw.status.comment ?? "",
    instance: typeof raw.i === "number" ? raw.i : 0,
    sealers,
    sealedResults,
    info: raw.info ?? `arc=${result}`,
    raw,
  };
}

/**
 * RFC 7960 §4.1.3, RFC 8617 §7.2: whether a DMARC failure may be overridden: the chain
 * passes, its newest sealer is one we trust, and that sealer saw DMARC (or, lacking a DMARC
 * result, SPF or DKIM) pass on arrival. Returns the trusted sealer's domain, or null.
 */
export function trustedArcOverride(arc: ArcVerification, trusted: readonly string[]): string | null {
  if (arc.result !== "pass" || arc.instance === 0) return null;
  const newest = arc.sealers[arc.sealers.length - 1];
  if (newest === undefined) return null;
  const ok = trusted.some((t) => {
    const d = t.toLowerCase().replace(/\.$/, "");
    return newest === d || newest.endsWith(`.${d}`);
  });
  if (!ok) return null;
  const s = arc.sealedResults;
  const sawPass = s.dmarc !== undefined ? s.dmarc === "pass" : s.spf === "pass" || s.dkim === "pass";
  return sawPass ? newest : null;
}
