// Content-Transfer-Encoding decoding (RFC 2045 §6) and charset decoding of a part body.
import { decodeCharset, isAscii } from "./charset.ts";
import type { MimePart } from "./types.ts";

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++)
  B64["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
// RFC 4648 §5 base64url letters are accepted too: some mailers use them
B64[0x2d] = 62;
B64[0x5f] = 63;

/**
 * RFC 2045 §6.8 base64, tolerant: characters outside the alphabet are ignored (§6.8 "must be
 * ignored"), "=" ends a quantum (so concatenated padded chunks decode), a trailing partial
 * quantum yields the whole bytes it holds.
 */
export function decodeBase64(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.floor((src.length * 3) / 4) + 3);
  let o = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] ?? 0;
    const v = B64[c] ?? -1;
    if (v >= 0) {
      bits = (bits << 6) | v;
      n++;
      if (n === 4) {
        out[o++] = (bits >> 16) & 0xff;
        out[o++] = (bits >> 8) & 0xff;
        out[o++] = bits & 0xff;
        bits = 0;
        n = 0;
      }
    } else if (c === 0x3d && n > 0) {
      // padding: flush what the quantum holds
      if (n >= 2) out[o++] = (bits >> (n * 6 - 8)) & 0xff;
      if (n >= 3) out[o++] = (bits >> (n * 6 - 16)) & 0xff;
      bits = 0;
      n = 0;
    }
  }
  if (n >= 2) out[o++] = (bits >> (n * 6 - 8)) & 0xff;
  if (n >= 3) out[o++] = (bits >> (n * 6 - 16)) & 0xff;
  return out.subarray(0, o);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * RFC 2045 §6.7 quoted-printable: "=XX" is a byte, "=" before a line break is a soft break,
 * white space at the end of a line is dropped (rule 3), a malformed "=" is kept literally.
 */
export function decodeQuotedPrintable(src: Uint8Array): Buffer {
  const b = Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  const len = b.length;
  const out = Buffer.allocUnsafe(len);
  let o = 0;
  let lineStartOut = 0;
  // next "=" and LF at or after i; positions only grow, so each is searched once
  let eqAt = -1;
  let nlAt = -1;
  let i = 0;
  while (i < len) {
    if (eqAt < i) {
      eqAt = b.indexOf(0x3d, i);
      if (eqAt < 0) eqAt = len;
    }
    if (nlAt < i) {
      nlAt = b.indexOf(0x0a, i);
      if (nlAt < 0) nlAt = len;
    }
    const next = eqAt < nlAt ? eqAt : nlAt;
    if (next > i) {
      b.copy(out, o, i, next);
      o += next - i;
      i = next;
      if (i >= len) break;
    }
    if (b[i] === 0x0a) {
      // rule 3: trailing white space of an encoded line is not data
      const cr = o > lineStartOut && out[o - 1] === 0x0d;
      if (cr) o--;
      while (o > lineStartOut && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
      if (cr) out[o++] = 0x0d;
      out[o++] = 0x0a;
      lineStartOut = o;
      i++;
      continue;
    }
    // "=": an escaped byte, a soft line break, or a literal "="
    const h1 = i + 1 < len ? hex(b[i + 1] ?? 0) : -1;
    const h2 = i + 2 < len ? hex(b[i + 2] ?? 0) : -1;
    if (h1 >= 0 && h2 >= 0) {
      out[o++] = (h1 << 4) | h2;
      i += 3;
      continue;
    }
    let j = i + 1;
    while (j < len && (b[j] === 0x20 || b[j] === 0x09)) j++;
    if (j >= len) break;
    if (b[j] === 0x0a || (b[j] === 0x0d && b[j + 1] === 0x0a)) {
      i = b[j] === 0x0d ? j + 2 : j + 1;
      lineStartOut = o;
      continue;
    }
    out[o++] = 0x3d;
    i++;
  }
  return out.subarray(0, o);
}

/** Decodes bytes in the given Content-Transfer-Encoding; unknown encodings pass through. */
export function decodeTransfer(src: Uint8Array, encoding: string): Buffer {
  const enc = encoding.trim().toLowerCase();
  if (enc === "base64") return decodeBase64(src);
  if (enc === "quoted-printable") return decodeQuotedPrintable(src);
  // 7bit, 8bit, binary (RFC 2045 §6.2: identity) and unknown tokens (§6.4: treat as opaque)
  return Buffer.from(src.buffer, src.byteOffset, src.byteLength);
}

/** The decoded body of a part (IMAP BINARY[section], RFC 3516; JMAP blob download). */
export function decodePartBody(raw: Buffer, part: MimePart): Buffer {
  const start = Math.max(0, Math.min(part.bodyStart, raw.length));
  const end = Math.max(start, Math.min(part.bodyEnd, raw.length));
  return decodeTransfer(raw.subarray(start, end), part.encoding);
}

/** `<meta charset=...>` or http-equiv content type in the first bytes of an HTML body. */
function htmlMetaCharset(body: Buffer): string | null {
  const head = body.subarray(0, 2048).toString("latin1");
  const m = /<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})/i.exec(head);
  return m?.[1] ?? null;
}

/**
 * The text of a part as a JS string: transfer-decoded, converted from its charset (RFC 2046
 * §4.1.2; a missing charset on text/html is looked up in its meta tag; us-ascii text with
 * 8-bit bytes is read as UTF-8 or windows-1252). Line breaks are normalised to LF.
 */
export function partText(raw: Buffer, part: MimePart): string {
  const body = decodePartBody(raw, part);
  let charset = part.contentType.params.charset ?? null;
  if (
    (charset === null || charset.toLowerCase() === "us-ascii") &&
    part.contentType.subtype === "html" &&
    !isAscii(body)
  ) {
    charset = htmlMetaCharset(body) ?? charset;
  }
  let text = decodeCharset(body, charset);
  if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
  const params = part.contentType.params;
  if (part.contentType.subtype === "plain" && params.format?.toLowerCase() === "flowed") {
    text = unflow(text, params.delsp?.toLowerCase() === "yes");
  }
  return text;
}

/**
 * RFC 3676 §4: joins the soft line breaks of format=flowed text (a line ending in a space
 * continues on the next line of the same quote depth), undoes space-stuffing (§4.4) and,
 * with DelSp=yes, drops the space before a soft break (§4.2). The signature separator
 * "-- " is never flowed (§4.3).
 */
export function unflow(text: string, delsp: boolean): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let cur: string | null = null;
  let curDepth = 0;
  for (const raw of lines) {
    let depth = 0;
    while (depth < raw.length && raw[depth] === ">") depth++;
    let line = raw.slice(depth);
    if (line.startsWith(" ")) line = line.slice(1); // space-stuffing
    const prefix = depth > 0 ? ">".repeat(depth) + " " : "";
    const flowed = line.endsWith(" ") && line !== "-- ";
    const content = flowed && delsp ? line.slice(0, -1) : line;
    if (cur !== null && depth === curDepth) cur += content;
    else {
      if (cur !== null) out.push(cur);
      cur = prefix + content;
      curDepth = depth;
    }
    if (!flowed) {
      out.push(cur);
      cur = null;
    }
  }
  if (cur !== null) out.push(cur);
  return out.join("\n");
}
