// DMARC (RFC 7489): the Author Domain's policy (§6.6.3), identifier alignment of SPF (§3.1.2)
// and DKIM (§3.1.1), relaxed or strict, and the disposition (§6.6.4, §6.7), with the local
// policy overrides of §6.7: a trusted ARC sealer (RFC 7960 §4.1.3, RFC 8617 §7.2) and pct
// sampling (§6.6.4).
//
// Wrapped, not replaced: policy discovery and alignment are `mailauth`'s evaluateDmarc() in
// strict mode. mailauth 7.1 finds the Organizational Domain by the DNS Tree Walk of DMARCbis
// (RFC 9989 §4.10) instead of the Public Suffix List of RFC 7489 §3.2; for a domain that
// publishes at the author domain or at its registered domain both give the same record. The
// record's pct, fo and rua (which DMARCbis dropped or moved) are read here (dmarc-record.ts).
// evaluateDmarc (not re-exported by the package main) also gives the aligned DKIM domains.
import { evaluateDmarc } from "mailauth/lib/dmarc/index.js";
import type { ArcVerification } from "./arc.ts";
import { trustedArcOverride } from "./arc.ts";
import type { DkimVerification } from "./dkim.ts";
import type { DmarcPolicy, DmarcRecord } from "./dmarc-record.ts";
import { parseDmarcRecord } from "./dmarc-record.ts";
import type { SpfOutcome } from "./spf.ts";

/** RFC 8601 §2.7.4 results. */
export type DmarcResult = "none" | "pass" | "fail" | "temperror" | "permerror";

/** Why the disposition is weaker than the policy (RFC 7489 Appendix C PolicyOverrideType). */
export interface PolicyOverride {
  type: "forwarded" | "sampled_out" | "trusted_forwarder" | "mailing_list" | "local_policy" | "other";
  comment?: string;
}

export interface DmarcOutcome {
  result: DmarcResult;
  /** The RFC5322.From domain (header.from). */
  headerFrom: string;
  /** The domain whose record applied, and the record. */
  policyDomain?: string;
  record?: DmarcRecord;
  /** The policy requested for this message (p, sp or np; §6.6.3). */
  policy: DmarcPolicy;
  /** What is done: the policy after pct sampling and overrides (§6.6.4, §6.7). */
  disposition: DmarcPolicy;
  overrides: PolicyOverride[];
  /** The aligned identifiers, when they aligned. */
  spfAligned?: string;
  dkimAligned?: string;
  /** The Authentication-Results resinfo. */
  info: string;
}

export interface DmarcInput {
  dkim: DkimVerification;
  /** The SPF result of the identity DMARC uses (§4.1: MAIL FROM, or HELO when it is null). */
  spf: SpfOutcome;
  arc: ArcVerification;
  trustedArcSealers: readonly string[];
  /** A number in [0, 1) for pct sampling (§6.6.4); injected for tests. */
  random: () => number;
}

/** §6.6.4: when sampled out, the next policy down applies. */
const LOWER: Record<DmarcPolicy, DmarcPolicy> = { reject: "quarantine", quarantine: "none", none: "none" };

export async function checkDmarc(input: DmarcInput): Promise<DmarcOutcome | null> {
  const { dkim, spf, arc } = input;
  const { response } = await evaluateDmarc({
    headerFrom: dkim.headerFrom,
    fromFields: dkim.fromFields,
    spfDomains: spf.result === "pass" ? [spf.domain] : [],
    dkimDomains: dkim.signatures.filter((s) => s.result === "pass").map((s) => ({ domain: s.domain })),
    arcResult: arc.raw,
    resolver: dkim.lookup,
    strict: true,
  } as Parameters<typeof evaluateDmarc>[0]);
  // No single Author Domain (RFC 7489 §6.6.1, several or no From fields): no evaluation.
  if (response === false) return null;
  const r = response.status.result;
  const result: DmarcResult =
    r === "pass" || r === "fail" || r === "none" || r === "temperror" || r === "permerror" ? r : "none";
  const headerFrom = String(response.status.header?.from ?? "").toLowerCase();
  const record = response.rr !== undefined ? (parseDmarcRecord(response.rr) ?? undefined) : undefined;
  const asPolicy = (p: string | undefined): DmarcPolicy =>
    p === "reject" || p === "quarantine" ? p : "none";
  const policy = asPolicy(response.policy);
  const out: DmarcOutcome = {
    result,
    headerFrom,
    policy,
    disposition: "none",
    overrides: [],
    info: response.info,
  };
  if (response.policyDomain !== undefined) out.policyDomain = response.policyDomain;
  if (record !== undefined) out.record = record;
  if (response.alignment?.spf?.result) out.spfAligned = response.alignment.spf.result;
  if (response.alignment?.dkim?.result) out.dkimAligned = response.alignment.dkim.result;
  if (result !== "fail") return out;

  let disposition = policy;
  // §6.6.4: pct: the policy applies to that percentage of failing mail, the rest gets the
  // next policy down ("sampled_out").
  const pct = record?.pct ?? 100;
  if (disposition !== "none" && pct < 100 && input.random() * 100 >= pct) {
    disposition = LOWER[disposition];
    out.overrides.push({ type: "sampled_out", comment: `pct=${pct}` });
  }
  // RFC 7960 §4.1.3, RFC 8617 §7.2: a trusted sealer's view on arrival may override the
  // failure; reported as local_policy with the chain (RFC 8617 §7.2.1).
  const sealer = trustedArcOverride(arc, input.trustedArcSealers);
  if (disposition !== "none" && sealer !== null) {
    disposition = "none";
    out.overrides.push({ type: "local_policy", comment: `arc=pass as[${arc.instance}].d=${sealer}` });
  }
  out.disposition = disposition;
  return out;
}
