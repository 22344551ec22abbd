// DMARC policy records (RFC 7489 §6.3 tags, §6.4 grammar): "v=DMARC1; p=...; ..." in the
// tag-list syntax of RFC 6376 §3.2. Used for what mailauth's evaluation does not give back:
// pct (§6.6.4 sampling), fo, rua/ruf and the published values of an aggregate report row
// (Appendix C policy_published). Never throws; null when the record is not DMARC.
import { parseTagList } from "./tag-list.ts";

export type DmarcPolicy = "none" | "quarantine" | "reject";

export interface DmarcRecord {
  p: DmarcPolicy;
  /** §6.3: defaults to p. */
  sp: DmarcPolicy;
  /** DMARCbis "np" (non-existent subdomains), when published. */
  np?: DmarcPolicy;
  /** §6.3: 0-100, default 100. */
  pct: number;
  adkim: "r" | "s";
  aspf: "r" | "s";
  /** §6.3 failure reporting options, default "0". */
  fo: string;
  rua: string[];
  ruf: string[];
  /** §6.3 report interval in seconds, default 86400. */
  ri: number;
}

/** At most this many URIs are kept per rua/ruf (§6.2 lets receivers limit them; 2 suggested). */
export const MAX_URIS = 10;

const policy = (v: string | undefined): DmarcPolicy | null =>
  v === undefined ? null : v === "none" || v === "quarantine" || v === "reject" ? v : null;

function uris(v: string | undefined): string[] {
  if (v === undefined || v === "") return [];
  return v
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "")
    .slice(0, MAX_URIS);
}

/**
 * §6.4: v=DMARC1 first (case-sensitive name, value compared as written), then the other tags
 * in any order. A record without a valid p= is still a DMARC record when it has rua (§6.6.3
 * treats it as p=none); otherwise null.
 */
export function parseDmarcRecord(txt: string): DmarcRecord | null {
  if (!/^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/.test(txt)) return null;
  const tags = parseTagList(txt);
  if (tags === null) return null;
  const lower = (k: string) => tags.get(k)?.toLowerCase();
  const p = policy(lower("p"));
  const rua = uris(tags.get("rua"));
  if (p === null && rua.length === 0) return null;
  const pctText = tags.get("pct");
  const pct = pctText !== undefined && /^\d{1,3}$/.test(pctText) ? Math.min(100, Number(pctText)) : 100;
  const riText = tags.get("ri");
  const out: DmarcRecord = {
    p: p ?? "none",
    sp: policy(lower("sp")) ?? p ?? "none",
    pct,
    adkim: lower("adkim") === "s" ? "s" : "r",
    aspf: lower("aspf") === "s" ? "s" : "r",
    fo: tags.get("fo") ?? "0",
    rua,
    ruf: uris(tags.get("ruf")),
    ri: riText !== undefined && /^\d{1,10}$/.test(riText) ? Number(riText) : 86400,
  };
  const np = policy(lower("np"));
  if (np !== null) out.np = np;
  return out;
}
