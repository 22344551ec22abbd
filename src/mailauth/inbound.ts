// Inbound mail authentication of one message, as the MTA listener receives it: SPF of the
// HELO (RFC 7208 §2.3) and MAIL FROM (§2.4) identities, every DKIM signature (RFC 6376), the
// ARC chain (RFC 8617), DMARC (RFC 7489) with trusted ARC sealers (RFC 7960) and iprev
// (RFC 8601 §3). The answer: what to do with the message, the trace fields to prepend (one
// Authentication-Results, RFC 8601; Received-SPF, RFC 7208 §9.1), and the DMARC evaluation
// for aggregate reports (RFC 7489 §7.2). Pure logic over the injected resolver and clock.
import type { Resolver } from "../dns/resolver.ts";
import type { ArcVerification } from "./arc.ts";
import { verifyArc } from "./arc.ts";
import { arComment, arValue, formatAuthResults } from "./auth-results.ts";
import type { DkimVerification } from "./dkim.ts";
import { verifyDkim } from "./dkim.ts";
import type { DmarcOutcome } from "./dmarc.ts";
import type { DmarcEvaluationRow } from "./reports/recorder.ts";
import { checkDmarc } from "./dmarc.ts";
import type { IprevOutcome } from "./iprev.ts";
import { checkIprev } from "./iprev.ts";
import type { SpfOutcome } from "./spf.ts";
import { checkSpf } from "./spf.ts";

/** What the receiver does with mail under each verdict (the `mailauth` configuration). */
export interface InboundPolicy {
  /** A DMARC failure under p=reject: refuse it (550 5.7.1), file it into Junk, or deliver. */
  dmarcReject: "reject" | "junk" | "accept";
  /** A DMARC failure under p=quarantine: file it into Junk, or deliver. */
  dmarcQuarantine: "junk" | "accept";
  /** ARC sealers (domains) whose results may override a DMARC failure (RFC 7960 §4.1.3). */
  trustedArcSealers: readonly string[];
  /** An SPF fail of MAIL FROM (RFC 7208 §8.4 lets the receiver refuse it: 550 5.7.23). */
  spfFail: "reject" | "accept";
  /** An iprev fail (no forward-confirmed reverse name): refuse it (550 5.7.25) or deliver. */
  iprevFail: "reject" | "accept";
  /**
   * A temporary DNS error in the checks that decide (DMARC, or SPF / iprev when they may
   * refuse): defer (451) or deliver (RFC 7489 §6.6.3 and RFC 7208 §8.6 allow either).
   */
  tempError: "tempfail" | "accept";
}

export const DEFAULT_INBOUND_POLICY: InboundPolicy = {
  dmarcReject: "reject",
  dmarcQuarantine: "junk",
  trustedArcSealers: [],
  spfFail: "accept",
  iprevFail: "accept",
  tempError: "accept",
};

/**
 * One DMARC evaluation, for an RFC 7489 aggregate report row (Appendix C "record"): source
 * IP, header_from, envelope_from/to, the policy published (with rua), the disposition
 * applied and why it differs, the aligned results, and every DKIM (domain, selector) and SPF
 * (domain, scope) result. The shape the report recorder takes (src/mailauth/reports/).
 */
export type DmarcEvaluationEvent = DmarcEvaluationRow;

export interface InboundInput {
  /** The message as received (before our trace fields). */
  message: Buffer;
  /** The client's address. */
  ip: string;
  /** The EHLO/HELO argument. */
  helo: string;
  /** MAIL FROM as "local@domain", or null for `<>`. */
  mailFrom: string | null;
  /** A recipient domain (for envelope_to). */
  envelopeTo?: string;
}

export interface InboundDeps {
  resolver: Resolver;
  /** Our authserv-id (RFC 8601 §2.5), usually the host name. */
  authservId: string;
  /** Our host name (Received-SPF comments). */
  hostname: string;
  now: () => number;
  random?: () => number;
}

export type InboundAction =
  | { action: "accept" }
  | { action: "junk"; why: string }
  | { action: "reject"; reason: "dmarc" | "spf" | "iprev"; text: string }
  | { action: "tempfail"; reason: "dmarc" | "spf" | "iprev"; text: string };

export interface InboundOutcome {
  spf: SpfOutcome;
  /** The HELO identity's own check (§2.3), when MAIL FROM was not null. */
  heloSpf: SpfOutcome | null;
  dkim: DkimVerification;
  arc: ArcVerification;
  dmarc: DmarcOutcome | null;
  iprev: IprevOutcome;
  /** The trace fields to prepend, CRLF-ended: Authentication-Results, then Received-SPF. */
  headers: string;
  verdict: InboundAction;
  /** The DMARC evaluation for reports, when the From domain has a DMARC record. */
  evaluation: DmarcEvaluationEvent | null;
}

function domainOf(address: string | null): string {
  if (address === null) return "";
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

function iprevInfo(ip: string, o: IprevOutcome): string {
  const comment = o.confirmed ?? o.names[0];
  return `iprev=${o.result}${comment !== undefined ? ` ${arComment(comment)}` : ""} policy.iprev=${arValue(ip)}`;
}

function dmarcInfo(d: DmarcOutcome): string {
  if (d.result !== "fail" || d.disposition === d.policy) return d.info;
  return `${d.info} ${arComment(`disposition ${d.disposition}: ${d.overrides.map((o) => `${o.type}${o.comment !== undefined ? ` ${o.comment}` : ""}`).join(", ")}`)}`;
}

function evaluationOf(
  input: InboundInput,
  spf: SpfOutcome,
  dkim: DkimVerification,
  d: DmarcOutcome,
): DmarcEvaluationEvent | null {
  if (d.record === undefined || d.policyDomain === undefined) return null;
  const ev: DmarcEvaluationEvent = {
    sourceIp: input.ip,
    headerFrom: d.headerFrom,
    envelopeFrom: domainOf(input.mailFrom),
    policyDomain: d.policyDomain.toLowerCase(),
    policy: {
      p: d.record.p,
      sp: d.record.sp,
      pct: d.record.pct,
      adkim: d.record.adkim,
      aspf: d.record.aspf,
      fo: d.record.fo,
    },
    rua: d.record.rua,
    disposition: d.disposition,
    dkimAligned: d.dkimAligned !== undefined ? "pass" : "fail",
    spfAligned: d.spfAligned !== undefined ? "pass" : "fail",
    reasons: d.overrides,
    dkim: dkim.signatures.map((s) => ({
      domain: s.domain,
      selector: s.selector,
      result: s.result,
      ...(s.comment !== "" ? { humanResult: s.comment.slice(0, 100) } : {}),
    })),
    spf: { domain: spf.domain, scope: spf.identity === "helo" ? "helo" : "mfrom", result: spf.result },
  };
  if (input.envelopeTo !== undefined) ev.envelopeTo = input.envelopeTo;
  // RFC 7489 §7.3: what a failure report needs, when the record asks for them (ruf, fo).
  if (d.record.ruf.length > 0) {
    ev.ruf = d.record.ruf;
    ev.message = input.message;
  }
  return ev;
}

/** Runs every check of one message and decides what to do with it. */
export async function authenticateInbound(
  input: InboundInput,
  deps: InboundDeps,
  policy: InboundPolicy = DEFAULT_INBOUND_POLICY,
): Promise<InboundOutcome> {
  const base = { resolver: deps.resolver, ip: input.ip, helo: input.helo, hostname: deps.hostname };
  const [spf, heloSpf, dkim, iprev] = await Promise.all([
    checkSpf({ ...base, mailFrom: input.mailFrom }),
    input.mailFrom === null ? Promise.resolve(null) : checkSpf({ ...base, mailFrom: null }),
    verifyDkim(input.message, { resolver: deps.resolver, now: deps.now() }),
    checkIprev(deps.resolver, input.ip),
  ]);
  const arc = await verifyArc(dkim, { ip: input.ip });
  const dmarc = await checkDmarc({
    dkim,
    spf,
    arc,
    trustedArcSealers: policy.trustedArcSealers,
    random: deps.random ?? Math.random,
  });

  // RFC 8601 §2.7: one resinfo per check; the HELO check only when it is not the one above.
  const infos = [spfInfo(spf)];
  if (heloSpf !== null) infos.push(spfInfo(heloSpf));
  for (const s of dkim.signatures) infos.push(s.info);
  if (dkim.signatures.length === 0) infos.push("dkim=none");
  infos.push(arc.info);
  if (dmarc !== null) infos.push(dmarcInfo(dmarc));
  infos.push(iprevInfo(input.ip, iprev));
  // RFC 8601 §5: Authentication-Results above the other trace fields, Received-SPF included.
  const headers = formatAuthResults(deps.authservId, infos) + `${spf.receivedSpf}\r\n`;

  return {
    spf,
    heloSpf,
    dkim,
    arc,
    dmarc,
    iprev,
    headers,
    verdict: decide(spf, dmarc, iprev, policy),
    evaluation: dmarc === null ? null : evaluationOf(input, spf, dkim, dmarc),
  };
}

function spfInfo(s: SpfOutcome): string {
  const prop =
    s.identity === "helo"
      ? `smtp.helo=${arValue(s.sender.replace(/^postmaster@/, ""))}`
      : `smtp.mailfrom=${arValue(s.sender)}`;
  return `spf=${s.result} ${arComment(s.comment)} ${prop}`;
}

/** The local policy over the results (RFC 7489 §6.6.4, §6.7; RFC 7208 §8; RFC 8601 §3). */
export function decide(
  spf: SpfOutcome,
  dmarc: DmarcOutcome | null,
  iprev: IprevOutcome,
  policy: InboundPolicy,
): InboundAction {
  const temp = policy.tempError === "tempfail";
  if (dmarc !== null) {
    if (dmarc.result === "temperror" && temp)
      return {
        action: "tempfail",
        reason: "dmarc",
        text: `DMARC lookup for ${dmarc.headerFrom} failed, try again later`,
      };
    if (dmarc.result === "fail") {
      if (dmarc.disposition === "reject") {
        if (policy.dmarcReject === "reject")
          return {
            action: "reject",
            reason: "dmarc",
            text: `Rejected by the DMARC policy of ${dmarc.policyDomain ?? dmarc.headerFrom}`,
          };
        if (policy.dmarcReject === "junk") return { action: "junk", why: "dmarc p=reject" };
      }
      if (dmarc.disposition === "quarantine" && policy.dmarcQuarantine === "junk")
        return { action: "junk", why: "dmarc p=quarantine" };
    }
  }
  if (policy.spfFail === "reject") {
    if (spf.result === "fail")
      return { action: "reject", reason: "spf", text: `SPF of ${spf.domain} does not permit this host` };
    if (spf.result === "temperror" && temp)
      return {
        action: "tempfail",
        reason: "spf",
        text: `SPF lookup for ${spf.domain} failed, try again later`,
      };
  }
  if (policy.iprevFail === "reject") {
    if (iprev.result === "fail")
      return { action: "reject", reason: "iprev", text: "Reverse DNS does not confirm the client address" };
    if (iprev.result === "temperror" && temp)
      return { action: "tempfail", reason: "iprev", text: "Reverse DNS lookup failed, try again later" };
  }
  return { action: "accept" };
}
