// Text preparation for the search index, shared by both backends. Indexed text and search
// strings go through the same fold, so matching in SQL can be a plain, case-sensitive
// substring test whatever the database's locale.
//
// RFC 9051 §6.4.4: text search criteria match a substring, case-insensitively. The fold
// approximates the i;unicode-casemap comparator (RFC 5051): compatibility normalization
// (NFKC) and Unicode lower case, with the two full case foldings that lower case misses
// (ß → ss, final sigma → sigma), so "GRÜSSE" finds "Grüße" and case differs nowhere.
import { decodeWords } from "../../mail/headers.ts";
import type { ParsedMessage } from "../../mail/types.ts";
import type { SearchDocument } from "../types.ts";

// Caps that keep one huge message from bloating the index. An email whose text one of them
// cut is marked text_capped when stored (indexedInPart), and a search scans its stored message
// for the rest (src/store/search-capped.ts), so nothing past them goes unfound.
export const MAX_BODY_CHARS = 2_000_000;
export const MAX_FIELD_CHARS = 64_000;
export const MAX_HEADER_VALUE_CHARS = 8_000;
export const MAX_HEADER_FIELDS = 500;

// NUL is not storable in PostgreSQL text; other controls stay (they are rare and harmless).
const NUL = /\u0000/g;

export function fold(s: string): string {
  let out = s.normalize("NFKC").toLowerCase();
  if (out.includes("ß")) out = out.replaceAll("ß", "ss");
  if (out.includes("ς")) out = out.replaceAll("ς", "σ");
  if (out.includes("\u0000")) out = out.replace(NUL, "");
  return out;
}

/**
 * Whether the index holds only part of an email's text: the parse or MAX_BODY_CHARS cut its
 * body text, or a header cap its header text. A decoded value is never longer than the raw
 * one it comes from, so the raw lengths tell.
 */
export function indexedInPart(
  parsed: Pick<ParsedMessage, "text" | "textCapped">,
  doc: SearchDocument,
): boolean {
  if (parsed.textCapped || parsed.text.length > MAX_BODY_CHARS) return true;
  if ([doc.from, doc.to, doc.cc, doc.bcc, doc.subject].some((s) => s.length > MAX_FIELD_CHARS)) return true;
  // each field takes 3 characters at least ("a:" and its line break)
  if (doc.headers.length <= MAX_HEADER_VALUE_CHARS && doc.headers.length < 3 * MAX_HEADER_FIELDS)
    return false;
  const fields = splitHeaderLines(doc.headers);
  return fields.length > MAX_HEADER_FIELDS || fields.some((f) => f.value.length > MAX_HEADER_VALUE_CHARS);
}

/** Length in Unicode code points (what the trigram tokenizers count). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function capText(s: string, max: number): string {
  if (s.length <= max) return s;
  // Do not cut a surrogate pair in two.
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The text columns of the index, folded. */
export interface IndexedText {
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  /** The other header lines, "name: value". */
  headers: string;
  /** `headers` plus the text of the five columns above, one per line. */
  allHeaders: string;
  body: string;
}

export interface IndexedHeader {
  /** Lower-cased field name. */
  name: string;
  /** Folded value, unfolded onto one line. */
  value: string;
}

export interface IndexedDocument {
  text: IndexedText;
  fields: IndexedHeader[];
}

/**
 * Splits SearchDocument.headers ("name: value" per line) into fields. A line starting with
 * white space continues the previous field (RFC 5322 §2.2.3 folding), in case a value still
 * carries its line breaks.
 */
export function splitHeaderLines(headers: string): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const line of headers.split(/\r?\n/)) {
    if (line === "") continue;
    const first = line.charCodeAt(0);
    const last = out[out.length - 1];
    if ((first === 0x20 || first === 0x09) && last) {
      last.value += " " + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    out.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return out;
}

/** Header fields with their own column (IndexedText), searched there. */
export const DEDICATED_FIELDS: ReadonlySet<string> = new Set(["from", "to", "cc", "bcc", "subject"]);

/** The document as indexed; `capped` false: whole, past the caps (what a scan compares). */
export function prepareDocument(doc: SearchDocument, capped = true): IndexedDocument {
  const cap = capped ? capText : (s: string): string => s;
  const columns: Record<string, string> = {
    from: fold(cap(doc.from, MAX_FIELD_CHARS)),
    to: fold(cap(doc.to, MAX_FIELD_CHARS)),
    cc: fold(cap(doc.cc, MAX_FIELD_CHARS)),
    bcc: fold(cap(doc.bcc, MAX_FIELD_CHARS)),
    subject: fold(cap(doc.subject, MAX_FIELD_CHARS)),
  };
  const parsed = new Set(Object.keys(columns).filter((k) => columns[k] !== ""));
  const fields: IndexedHeader[] = [];
  const lines: string[] = [];
  for (const f of splitHeaderLines(doc.headers)) {
    if (capped && fields.length >= MAX_HEADER_FIELDS) break;
    // RFC 9051 §6.4.4: header values are searched decoded (RFC 2047 encoded words).
    const value = fold(cap(decodeWords(f.value), MAX_HEADER_VALUE_CHARS));
    if (DEDICATED_FIELDS.has(f.name)) {
      // Searched in its own column (parsed and decoded, or else this raw value); the row
      // only records that the field is there (HEADER with an empty string).
      if (!parsed.has(f.name)) columns[f.name] = columns[f.name] ? `${columns[f.name]}\n${value}` : value;
      fields.push({ name: f.name, value: "" });
      continue;
    }
    fields.push({ name: f.name, value });
    lines.push(`${f.name}: ${value}`);
  }
  const from = columns.from ?? "";
  const to = columns.to ?? "";
  const cc = columns.cc ?? "";
  const bcc = columns.bcc ?? "";
  const subject = columns.subject ?? "";
  const headers = lines.join("\n");
  const allHeaders = [headers, from, to, cc, bcc, subject].filter((x) => x !== "").join("\n");
  return {
    text: {
      from,
      to,
      cc,
      bcc,
      subject,
      headers,
      allHeaders,
      body: capped ? prepareBody(doc.body) : fold(doc.body),
    },
    fields,
  };
}

/** The body text of a document as indexed (prepareDocument's text.body). */
export function prepareBody(body: string): string {
  return fold(capText(body, MAX_BODY_CHARS));
}

/** Escapes LIKE wildcards with backslash (used with `ESCAPE '\'`). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => "\\" + c);
}
