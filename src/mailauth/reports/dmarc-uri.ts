// What the report senders need of a DMARC record (RFC 7489 §6.3): its rua and ruf tags as
// published at sending time (the policy tags are the inbound check's business), and the
// report URIs of §6.2 ("dmarc-uri": a URI
// with an optional "!" size limit such as "mailto:reports@example.com!10m").
import { isDnsError, type Resolver } from "../../dns/resolver.ts";

export interface ReportUri {
  /** The mailto: recipient (only mailto: is defined for DMARC reports, §6.2). */
  address: string;
  /** The size limit in bytes, or null. */
  maxBytes: number | null;
  uri: string;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** §6.2 dmarc-uri: "mailto:a@x.example!10m" (the record's rua or ruf list); others are skipped. */
export function parseReportUris(list: readonly string[]): ReportUri[] {
  const out: ReportUri[] = [];
  for (const item of list.slice(0, 20)) {
    const m = /^\s*(mailto:([^!\s]+))(?:!(\d{1,12})([kmgt]?))?\s*$/i.exec(item);
    if (!m) continue;
    let address: string;
    try {
      address = decodeURIComponent((m[2] ?? "").split("?")[0] ?? "");
    } catch {
      continue;
    }
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) continue;
    out.push({
      uri: m[1] ?? "",
      address,
      maxBytes: m[3] === undefined ? null : Number(m[3]) * (UNITS[(m[4] ?? "").toLowerCase()] ?? 1),
    });
  }
  return out;
}

/** The report URIs a DMARC record asks for (§6.3 rua, ruf). */
export interface ReportingTags {
  rua: string[];
  ruf: string[];
}

/** §6.4: the rua and ruf of a "v=DMARC1; ..." record; null when the text is no DMARC record. */
export function reportingTags(record: string): ReportingTags | null {
  if (!/^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/.test(record)) return null;
  const out: ReportingTags = { rua: [], ruf: [] };
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    const k = part.slice(0, Math.max(0, eq)).trim().toLowerCase();
    if (k === "rua" || k === "ruf")
      out[k] = part
        .slice(eq + 1)
        .split(",")
        .map((u) => u.trim())
        .filter((u) => u !== "");
  }
  return out;
}

/**
 * The DMARC record published at `_dmarc.<domain>` (§6.1); null when there is none
 * or more than one (§6.6.3). DNS errors other than "no such record" propagate (a caller tries
 * again later).
 */
export async function lookupDmarcRecord(resolver: Resolver, domain: string): Promise<ReportingTags | null> {
  let txt: string[][];
  try {
    txt = await resolver.resolveTxt(`_dmarc.${domain}`);
  } catch (e) {
    if (isDnsError(e, "NXDOMAIN") || isDnsError(e, "NODATA")) return null;
    throw e;
  }
  const records = txt.map((t) => reportingTags(t.join(""))).filter((t) => t !== null);
  return records.length === 1 ? (records[0] ?? null) : null;
}

/**
 * True when `a` and `b` may be taken as one organization without a Public Suffix List: the
 * same name, or one below the other. Anything else goes through the §7.1 verification, which
 * costs one DNS query and, for two subdomains of one organization, asks a record that the
 * owner may not have published (then no report goes: the safe side).
 */
export function sameOrganization(a: string, b: string): boolean {
  const x = a.toLowerCase().replace(/\.$/, "");
  const y = b.toLowerCase().replace(/\.$/, "");
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
}

/**
 * RFC 7489 §7.1: a report URI at another domain than the policy domain is used only when
 * that domain publishes `<policy-domain>._report._dmarc.<uri-domain>` with a v=DMARC1 TXT
 * record (the destination agrees to receive reports for it). A rua/ruf in that record
 * replaces the original URI's host: not supported; the original URI is kept.
 */
export async function externalDestinationVerified(
  resolver: Resolver,
  policyDomain: string,
  uriDomain: string,
): Promise<boolean> {
  if (sameOrganization(policyDomain, uriDomain)) return true;
  try {
    const txt = await resolver.resolveTxt(`${policyDomain}._report._dmarc.${uriDomain}`);
    return txt.some((t) => /^\s*v\s*=\s*DMARC1\s*(;|$)/i.test(t.join("")));
  } catch (e) {
    if (isDnsError(e, "NXDOMAIN") || isDnsError(e, "NODATA")) return false;
    throw e;
  }
}
