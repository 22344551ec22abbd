// RFC 6376 §3.2 tag=value lists: the syntax of DKIM-Signature (§3.5), DKIM key records
// (§3.6.1), ARC header fields (RFC 8617 §4.1) and DMARC records (RFC 7489 §6.4). A parser
// with limits: it never throws, and refuses (null) what the grammar does not allow.
//
//   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//   tag-name  = ALPHA *ALNUMPUNC                ; ALNUMPUNC = ALPHA / DIGIT / "_"
//   tag-value = [ tval *( 1*(WSP / FWS) tval ) ] ; tval = 1*VALCHAR, VALCHAR = %x21-3A / %x3C-7E

/** Longest tag-list parsed (a DKIM-Signature with a 16384-bit key fits well within). */
export const MAX_TAG_LIST = 16 * 1024;
/** Most tags in one list. */
export const MAX_TAGS = 64;

/**
 * Tag names (case-sensitive, §3.2) to values with folding white space removed from the ends
 * and kept inside as single spaces. Null when the list is too long, has too many tags, a
 * tag-spec without "=" or a bad name, or a tag twice ("Tags with duplicate names MUST NOT
 * occur within a single tag-list; if a tag name does occur more than once, the entire
 * tag-list is invalid", §3.2).
 */
export function parseTagList(text: string): Map<string, string> | null {
  if (text.length > MAX_TAG_LIST) return null;
  const out = new Map<string, string>();
  const specs = text.split(";");
  // One trailing ";" is allowed: the last spec may then be empty (white space only).
  if (specs.length > 0 && /^[ \t\r\n]*$/.test(specs[specs.length - 1] ?? "")) specs.pop();
  if (specs.length > MAX_TAGS) return null;
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq < 0) return null;
    const name = spec.slice(0, eq).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) return null;
    const value = spec
      .slice(eq + 1)
      .replace(/\r\n[ \t]/g, " ")
      .replace(/[ \t]+/g, " ")
      .trim();
    // VALCHAR and the white space between tvals only.
    if (!/^[\x21-\x3a\x3c-\x7e ]*$/.test(value)) return null;
    if (out.has(name)) return null;
    out.set(name, value);
  }
  return out;
}

/** The tags of a DKIM-Signature field value (RFC 6376 §3.5): required ones checked. */
export interface DkimSignatureTags {
  v: string;
  a: string;
  b: string;
  bh: string;
  d: string;
  h: string[];
  s: string;
  c?: string;
  i?: string;
  l?: number;
  t?: number;
  x?: number;
}

/** RFC 6376 §3.5: null when a required tag (v, a, b, bh, d, h, s) is missing or bad. */
export function parseDkimSignature(value: string): DkimSignatureTags | null {
  const tags = parseTagList(value);
  if (tags === null) return null;
  const req = ["v", "a", "b", "bh", "d", "h", "s"].map((k) => tags.get(k));
  if (req.some((x) => x === undefined || x === "")) return null;
  const [v, a, b, bh, d, h, s] = req as string[];
  if (v !== "1") return null;
  const names = (h ?? "").split(":").map((n) => n.trim());
  if (names.some((n) => !/^[\x21-\x39\x3b-\x7e]+$/.test(n))) return null;
  const out: DkimSignatureTags = {
    v,
    a: (a ?? "").toLowerCase(),
    b: (b ?? "").replace(/ /g, ""),
    bh: (bh ?? "").replace(/ /g, ""),
    d: (d ?? "").toLowerCase(),
    h: names,
    s: s ?? "",
  };
  const num = (k: string): number | undefined | null => {
    const x = tags.get(k);
    if (x === undefined) return undefined;
    // §3.5: l=, t= and x= are at most 76 decimal digits; we take up to 15 (safe integers).
    return /^\d{1,15}$/.test(x) ? Number(x) : null;
  };
  for (const k of ["l", "t", "x"] as const) {
    const n = num(k);
    if (n === null) return null;
    if (n !== undefined) out[k] = n;
  }
  const c = tags.get("c");
  if (c !== undefined) out.c = c.toLowerCase();
  const i = tags.get("i");
  if (i !== undefined) out.i = i;
  return out;
}
