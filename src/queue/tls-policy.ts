// Which TLS a delivery to one MX host needs: DANE when the domain's DNS is signed and the host
// has usable TLSA records (RFC 7672; it takes precedence over MTA-STS, RFC 8461 §2), else the
// domain's MTA-STS policy (RFC 8461 §5), else opportunistic STARTTLS (RFC 7435). REQUIRETLS
// mail (RFC 8689 §4.2.1) may only go where DANE or an enforced MTA-STS policy authenticates
// the host. The policy names what TLS-RPT reports it under (RFC 8460 §4.3: "tlsa", "sts",
// "no-policy-found").
import type { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate } from "node:tls";
import { checkDane, type DnssecResolver, presentedChain, usableTlsa } from "./dane.ts";
import { type MtaStsResolver, mxMatches, type StsPolicy } from "./mta-sts.ts";
import type { TlsaRecord } from "../dns/resolver.ts";

export type PolicyType = "tlsa" | "sts" | "no-policy-found";

export interface HostTlsPolicy {
  /** "required": TLS must succeed and pass `verifyCertificate`/`checkPeer`, or the host is skipped. */
  mode: "opportunistic" | "required";
  /** PKIX check of chain and name (MTA-STS); DANE checks with `checkPeer` instead. */
  verifyCertificate: boolean;
  checkPeer?: (peer: DetailedPeerCertificate) => string | null;
  type: PolicyType;
  /** The host may not be used at all (MTA-STS enforce, MX not in the policy): why. */
  refused?: string;
  /** Failures are reported, not enforced (MTA-STS testing). */
  reportOnly: boolean;
  /** The policy for TLS-RPT (RFC 8460 §4.3: policy-string lines, policy-domain). */
  policyStrings: string[];
}

export interface DomainTlsContext {
  domain: string;
  /** The MX RRset validated (AD) by a validating resolver: DANE may apply (RFC 7672 §2.2.1). */
  mxSecure: boolean;
  sts: StsPolicy | null;
}

export interface TlsPolicyOptions {
  dnssec?: DnssecResolver;
  mtaSts?: MtaStsResolver;
  /** The port TLSA names use (`_25._tcp.<host>`). */
  port?: number;
}

/**
 * Looks up the domain-level facts once per delivery: MX signed or not, MTA-STS policy. A
 * failed MX lookup at the validating resolver (SERVFAIL: bogus or unreachable) throws
 * DnssecLookupError: the domain may be signed, so going on without DANE would be the
 * downgrade RFC 7672 §2.2.1 forbids; the mail waits.
 */
export async function domainTlsContext(domain: string, opts: TlsPolicyOptions): Promise<DomainTlsContext> {
  let mxSecure = false;
  if (opts.dnssec) mxSecure = (await opts.dnssec.mx(domain)).secure;
  const sts = opts.mtaSts ? (await opts.mtaSts.lookup(domain)).policy : null;
  return { domain, mxSecure, sts };
}

function daneCheck(records: TlsaRecord[], names: string[]): (peer: DetailedPeerCertificate) => string | null {
  return (peer) => {
    let chain: X509Certificate[];
    try {
      chain = presentedChain(peer);
    } catch (e) {
      return `unreadable certificate chain: ${String(e)}`;
    }
    return checkDane(records, chain, names);
  };
}

/**
 * The policy for one MX host of the domain. A failing TLSA lookup of a signed domain throws
 * (the delivery waits: RFC 7672 §2.1.1 "the SMTP client MUST NOT deliver").
 */
export async function hostTlsPolicy(
  ctx: DomainTlsContext,
  host: string,
  opts: TlsPolicyOptions,
): Promise<HostTlsPolicy> {
  // RFC 7672 §2.2.2: TLSA records count only for an MX host whose address records are
  // secure too; an insecure host is delivered to as in an unsigned domain, and a failed
  // (bogus) address lookup makes the host unusable (DnssecLookupError).
  if (ctx.mxSecure && opts.dnssec && (await opts.dnssec.address(host)).secure) {
    const tlsa = await opts.dnssec.tlsa(`_${opts.port ?? 25}._tcp.${host}`);
    if (tlsa.secure && tlsa.records.length > 0) {
      const usable = usableTlsa(tlsa.records);
      const strings = tlsa.records.map(
        (r) => `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toString("hex")}`,
      );
      // RFC 7672 §2.2: TLSA records, none usable: TLS is still mandatory, unauthenticated.
      if (usable.length === 0)
        return {
          mode: "required",
          verifyCertificate: false,
          type: "tlsa",
          reportOnly: false,
          policyStrings: strings,
        };
      return {
        mode: "required",
        verifyCertificate: false,
        checkPeer: daneCheck(usable, [host]),
        type: "tlsa",
        reportOnly: false,
        policyStrings: strings,
      };
    }
  }
  const sts = ctx.sts;
  if (sts && sts.mode !== "none") {
    const strings = [
      `version: STSv1`,
      `mode: ${sts.mode}`,
      ...sts.mx.map((m) => `mx: ${m}`),
      `max_age: ${sts.maxAge}`,
    ];
    const listed = mxMatches(sts.mx, host);
    if (sts.mode === "enforce") {
      return {
        mode: "required",
        verifyCertificate: true,
        type: "sts",
        reportOnly: false,
        policyStrings: strings,
        ...(listed ? {} : { refused: `MX ${host} is not in the MTA-STS policy of ${ctx.domain}` }),
      };
    }
    // testing: deliver as usual; the verification result only feeds TLS-RPT.
    return {
      mode: "opportunistic",
      verifyCertificate: false,
      type: "sts",
      reportOnly: true,
      policyStrings: strings,
    };
  }
  return {
    mode: "opportunistic",
    verifyCertificate: false,
    type: "no-policy-found",
    reportOnly: false,
    policyStrings: [],
  };
}

/** RFC 8689 §4.2.1: REQUIRETLS mail goes only over TLS that DANE or enforced MTA-STS authenticates. */
export function satisfiesRequireTls(p: HostTlsPolicy): boolean {
  return (
    p.mode === "required" && p.refused === undefined && (p.checkPeer !== undefined || p.verifyCertificate)
  );
}
