// What the report senders need of a DMARC record (RFC 7489 §6.3): its rua, ruf and fo tags,
// and the report URIs of §6.2 ("dmarc-uri": a URI with an optional "!" size limit such as
// "mailto:reports@example.com!10m"). The record's policy tags are evaluated by the inbound
// DMARC code; this reads only what reporting needs, again at sending time.
import { isDnsError, type Resolver } from "../../dns/resolver.ts";

export interface ReportUri {
  /** The mailto: recipient (only mailto: is defined for DMARC reports, §6.2). */
  address: string;
  /** The size limit in bytes, or null. */
  maxBytes: number | null;
  uri: string;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** §6.2 dmarc-uri list: "mailto:a@x.example!10m, mailto:b@y.example"; others are skipped. */
export function parseReportUris(value: string): ReportUri[] {
  const out: ReportUri[] = [];
  for (const item of value.split(",").slice(0, 20)) {
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

/** §6.4 tag-value list of a DMARC record, lower-cased tag names; null when not DMARC1. */
export function parseDmarcTags(record: string): Map<string, string> | null {
  if (!/^\s*v\s*=\s*DMARC1\s*(;|$)/i.test(record)) return null;
  const tags = new Map<string, string>();
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    if (!tags.has(k)) tags.set(k, part.slice(eq + 1).trim());
  }
  return tags;
}

/**
 * The DMARC record published at `_dmarc.<domain>` (§6.1), as tags; null when there is none
 * or more than one (§6.6.3). DNS errors other than "no such record" propagate (a caller tries
 * again later).
 */
export async function lookupDmarcTags(
  resolver: Resolver,
  domain: string,
): Promise<Map<string, string> | null> {
  let txt: string[][];
  try {
    txt = await resolver.resolveTxt(`_dmarc.${domain}`);
  } catch (e) {
    if (isDnsError(e, "NXDOMAIN") || isDnsError(e, "NODATA")) return null;
    throw e;
  }
  const records = txt.map((t) => parseDmarcTags(t.join(""))).filter((t) => t !== null);
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
