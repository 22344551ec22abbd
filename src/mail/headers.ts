// Header blocks (RFC 5322 §2.2, §3.2.2 folding), Content-Type / Content-Disposition parameters
// (RFC 2045 §5.1, RFC 2183, RFC 2231 continuations and charsets) and RFC 2047 encoded words.
import { createRequire } from "node:module";
import { decodeCharset, decodeUnknown, isAscii, normalizeCharset } from "./charset.ts";
import type { ContentType, HeaderField } from "./types.ts";

interface LibmimeApi {
  parseHeaderValue(str: string): { value: string | false; params: Record<string, string> };
}
// libmime is CommonJS without type declarations; typed here by the part we use.
const libmime = createRequire(import.meta.url)("libmime") as LibmimeApi;

/** Limits that keep header parsing linear and bounded on hostile input. */
export const HEADER_LIMITS = {
  /** Fields kept per header block; later ones still count for offsets but are not parsed. */
  maxFields: 2000,
  /** Longest unfolded value kept, in characters; the rest is cut. */
  maxValueLength: 256 * 1024,
  /** Bytes of a header block that are split into fields. */
  maxBlockBytes: 4 * 1024 * 1024,
};

/**
 * Finds the end of the header block that starts at `start`: the offset just past the blank
 * line (CRLF or bare LF) that ends it, or `end` when there is none (a header-only message).
 */
export function findHeaderEnd(raw: Uint8Array, start: number, end: number): number {
  if (start >= end) return end;
  // RFC 5322 §2.1: a block that starts with the blank line has no fields
  if (raw[start] === 0x0a) return start + 1;
  if (raw[start] === 0x0d && start + 1 < end && raw[start + 1] === 0x0a) return start + 2;
  let pos = start;
  for (;;) {
    const nl = raw.indexOf(0x0a, pos);
    if (nl < 0 || nl + 1 >= end) return end;
    const next = nl + 1;
    const c = raw[next];
    if (c === 0x0a) return next + 1;
    if (c === 0x0d && next + 1 < end && raw[next + 1] === 0x0a) return next + 2;
    pos = next;
  }
}

/** True when the line at `pos` looks like a header field: ftext name then ":" (RFC 5322 §3.6.8). */
export function looksLikeField(raw: Uint8Array, pos: number, end: number): boolean {
  const first = raw[pos] ?? 0;
  if (pos >= end || first <= 0x20 || first >= 0x7f || first === 0x3a) return false;
  let i = pos;
  for (; i < end && i - pos < 1000; i++) {
    const c = raw[i] ?? 0;
    if (c === 0x3a) return i > pos;
    if (c <= 0x20 || c >= 0x7f) break;
  }
  // obs-optional (RFC 5322 §4.5.3): white space may sit between name and colon
  while (i < end && (raw[i] === 0x20 || raw[i] === 0x09)) i++;
  return i > pos && raw[i] === 0x3a;
}

function lineToString(raw: Uint8Array, s: number, e: number): string {
  const b = Buffer.from(raw.buffer, raw.byteOffset + s, e - s);
  // RFC 6532: 8-bit header text is UTF-8; anything else is taken as windows-1252
  return isAscii(b) ? b.toString("latin1") : decodeUnknown(b);
}

/**
 * Splits the header block raw[start, end) into fields, in order: name as written, value
 * unfolded (RFC 5322 §2.2.3: CRLF removed before WSP) and trimmed, undecoded. Lines that are
 * neither fields nor continuations are skipped.
 */
export function splitHeaderFields(raw: Uint8Array, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  const stop = Math.min(end, start + HEADER_LIMITS.maxBlockBytes);
  let name: string | null = null;
  let value = "";
  const flush = (): void => {
    if (name !== null && fields.length < HEADER_LIMITS.maxFields) fields.push({ name, value: value.trim() });
    name = null;
    value = "";
  };
  let pos = start;
  while (pos < stop) {
    let nl = raw.indexOf(0x0a, pos);
    if (nl < 0 || nl >= stop) nl = stop;
    let lineEnd = nl;
    if (lineEnd > pos && raw[lineEnd - 1] === 0x0d) lineEnd--;
    if (lineEnd === pos) break; // the blank line ends the block
    const first = raw[pos];
    if (first === 0x20 || first === 0x09) {
      if (name !== null && value.length < HEADER_LIMITS.maxValueLength) {
        value += lineToString(raw, pos, lineEnd);
        if (value.length > HEADER_LIMITS.maxValueLength) value = value.slice(0, HEADER_LIMITS.maxValueLength);
      }
    } else {
      flush();
      if (fields.length >= HEADER_LIMITS.maxFields) break;
      const colon = raw.indexOf(0x3a, pos);
      if (colon >= 0 && colon < lineEnd) {
        const n = lineToString(raw, pos, colon).trimEnd();
        if (n.length > 0 && !/[\s]/.test(n)) {
          name = n;
          value = lineToString(raw, colon + 1, Math.min(lineEnd, colon + 1 + HEADER_LIMITS.maxValueLength));
        }
      }
    }
    pos = nl + 1;
  }
  flush();
  return fields;
}

/** The first field of that name (case-insensitive), raw value, or null. */
export function getHeader(fields: readonly HeaderField[], name: string): string | null {
  const n = name.toLowerCase();
  for (const f of fields) if (f.name.toLowerCase() === n) return f.value;
  return null;
}

/** Every field of that name (case-insensitive), raw values in order. */
export function getHeaders(fields: readonly HeaderField[], name: string): string[] {
  const n = name.toLowerCase();
  const out: string[] = [];
  for (const f of fields) if (f.name.toLowerCase() === n) out.push(f.value);
  return out;
}

/** A parsed structured value: "type/subtype; a=b" or "attachment; filename=x". */
export interface ParamValue {
  value: string;
  params: Record<string, string>;
}

/**
 * Parses a header value with parameters (RFC 2045 §5.1), joining RFC 2231 continuations and
 * decoding their charsets; encoded words in name/filename (a common violation) are decoded.
 * Parameter names are lower-cased. Never throws.
 */
export function parseParams(input: string): ParamValue {
  let parsed: ReturnType<LibmimeApi["parseHeaderValue"]>;
  try {
    parsed = libmime.parseHeaderValue(stripComments(input));
  } catch {
    return { value: input.split(";")[0]?.trim() ?? "", params: {} };
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.params)) {
    // a parameter named __proto__ would change the object's prototype: not a real parameter
    if (typeof v !== "string" || k === "__proto__") continue;
    params[k] = v.includes("=?") ? decodeWords(v) : v;
  }
  return { value: typeof parsed.value === "string" ? parsed.value.trim() : "", params };
}

/** RFC 2045 §5.1 allows comments in Content-Type; drop those outside quoted strings. */
function stripComments(s: string): string {
  if (!s.includes("(")) return s;
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length) {
      if (depth === 0) out += c + s[i + 1];
      i++;
    } else if (quoted) {
      if (c === '"') quoted = false;
      out += c;
    } else if (c === "(") depth++;
    else if (c === ")" && depth > 0) depth--;
    else if (depth === 0) {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

/**
 * Parses a Content-Type value. RFC 2045 §5.2: absent or unparseable means text/plain
 * (`defaultType` lets multipart/digest children default to message/rfc822, RFC 2046 §5.1.5).
 */
export function parseContentType(value: string | null, defaultType = "text/plain"): ContentType {
  const fallback = (): ContentType => {
    const [type = "text", subtype = "plain"] = defaultType.split("/");
    return { type, subtype, params: type === "text" ? { charset: "us-ascii" } : {} };
  };
  if (value === null) return fallback();
  const { value: v, params } = parseParams(value);
  const slash = v.indexOf("/");
  const type = (slash >= 0 ? v.slice(0, slash) : v).trim().toLowerCase();
  const subtype = (slash >= 0 ? v.slice(slash + 1) : "").trim().toLowerCase();
  const token = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
  if (!token.test(type) || !token.test(subtype)) {
    // RFC 2045 §5.2: an invalid type is taken as text/plain; keep the charset if one was given
    const fb = fallback();
    if (fb.type === "text" && params.charset !== undefined) fb.params = { charset: params.charset };
    return fb;
  }
  return { type, subtype, params };
}

/** Decodes the Q or B text of one encoded word to bytes (RFC 2047 §4). */
function decodeWordBytes(enc: string, text: string): Buffer {
  if (enc === "b" || enc === "B") return Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ""), "base64");
  // RFC 2047 §4.2: "_" is a space, =XX a byte
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out.push(0x20);
    else if (c === 0x3d && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100) out.push(c);
    else for (const b of Buffer.from(text[i] ?? "", "utf8")) out.push(b);
  }
  return Buffer.from(out);
}

/**
 * Decodes RFC 2047 encoded words anywhere in `s` (also inside quoted strings and unspaced, as
 * mailers write them). White space between adjacent encoded words is dropped (§6.2), and the
 * bytes of adjacent words in one charset are joined before charset decoding, so a multi-byte
 * character split across words survives. Linear scan, never throws.
 */
export function decodeWords(s: string): string {
  if (!s.includes("=?")) return s;
  let out = "";
  let pos = 0;
  let pendingCharset: string | null = null;
  let pendingBytes: Buffer[] = [];
  // the next "?=" at or after some position; positions only grow, so the scan stays linear
  let endMarkFrom = -1;
  let endMarkAt = -1;
  const flushPending = (): void => {
    if (pendingCharset !== null) out += decodeCharset(Buffer.concat(pendingBytes), pendingCharset);
    pendingCharset = null;
    pendingBytes = [];
  };
  while (pos < s.length) {
    const start = s.indexOf("=?", pos);
    if (start < 0) break;
    // =?charset?enc?text?=
    const q1 = s.indexOf("?", start + 2);
    const q2 = q1 < 0 ? -1 : s.indexOf("?", q1 + 1);
    if (q2 >= 0 && (endMarkFrom < 0 || (endMarkAt >= 0 && endMarkAt < q2 + 1))) {
      endMarkFrom = q2 + 1;
      endMarkAt = s.indexOf("?=", q2 + 1);
    }
    const endMark = q2 < 0 ? -1 : endMarkAt;
    const charset = q1 < 0 ? "" : s.slice(start + 2, q1);
    const enc = q2 < 0 ? "" : s.slice(q1 + 1, q2);
    if (
      endMark < 0 ||
      endMark - start > 1000 ||
      q2 !== q1 + 2 ||
      !/^[Bb]$|^[Qq]$/.test(enc) ||
      charset.length === 0 ||
      charset.length > 64 ||
      /[\s?]/.test(charset) ||
      /\s/.test(s.slice(q2 + 1, endMark))
    ) {
      // not an encoded word: emit literally up to after "=?"
      flushPending();
      out += s.slice(pos, start + 2);
      pos = start + 2;
      continue;
    }
    const between = s.slice(pos, start);
    const onlySpace = /^[ \t\r\n]*$/.test(between);
    const cs = normalizeCharset(charset);
    if (pendingCharset !== null && onlySpace && cs === pendingCharset) {
      // same charset, adjacent: join bytes
    } else {
      if (!(pendingCharset !== null && onlySpace)) {
        flushPending();
        out += between;
      } else flushPending();
      pendingCharset = cs;
    }
    pendingBytes.push(decodeWordBytes(enc, s.slice(q2 + 1, endMark)));
    pos = endMark + 2;
  }
  flushPending();
  out += s.slice(pos);
  return out;
}
