// Charset conversion of message bytes to JS strings (RFC 2045 §5.1 charset parameter, RFC 2047
// §3 encoded-word charsets, RFC 6532 UTF-8 headers). iconv-lite covers the single- and
// double-byte charsets; the WHATWG TextDecoder built into Node covers the rest (ISO-2022-JP).
// Never throws: an unknown charset falls back to UTF-8, then to windows-1252.
import { TextDecoder } from "node:util";
import iconv from "iconv-lite";

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const decoders = new Map<string, TextDecoder | null>();

/** True when every byte is below 0x80. */
export function isAscii(buf: Uint8Array, start = 0, end = buf.length): boolean {
  for (let i = start; i < end; i++) if ((buf[i] ?? 0) >= 0x80) return false;
  return true;
}

/** True when the bytes are well-formed UTF-8. */
export function isUtf8(buf: Uint8Array): boolean {
  try {
    utf8Fatal.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes of unknown or untrusted labelling (8-bit headers, us-ascii text with high bytes):
 * UTF-8 when well formed (RFC 6532), else windows-1252 (the superset of latin1 mailers mean).
 */
export function decodeUnknown(buf: Uint8Array): string {
  if (isAscii(buf)) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1");
  try {
    return utf8Fatal.decode(buf);
  } catch {
    return iconv.decode(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), "windows-1252");
  }
}

/** Lower-cased, trimmed charset label with the common misspellings mapped. */
export function normalizeCharset(label: string | null | undefined): string {
  let c = (label ?? "").trim().toLowerCase();
  // RFC 2231 §5: a language may follow the charset in encoded words ("utf-8*en")
  const star = c.indexOf("*");
  if (star >= 0) c = c.slice(0, star);
  if (c.startsWith('"') && c.endsWith('"') && c.length >= 2) c = c.slice(1, -1);
  if (c === "utf8" || c === "unicode-1-1-utf-8") return "utf-8";
  if (c === "" || c === "ascii" || c === "us-ascii" || c === "ansi_x3.4-1968" || c === "7bit" || c === "8bit")
    return "us-ascii";
  if (/^win-?\d{4}$/.test(c)) return "windows-" + c.replace(/^win-?/, "");
  if (/^cp-?125\d$/.test(c)) return "windows-" + c.replace(/^cp-?/, "");
  if (c === "gb2312" || c === "x-gbk" || c === "gb_2312-80" || c === "euc-cn") return "gbk";
  return c;
}

function textDecoder(charset: string): TextDecoder | null {
  let d = decoders.get(charset);
  if (d !== undefined) return d;
  try {
    d = new TextDecoder(charset);
  } catch {
    d = null;
  }
  if (decoders.size < 200) decoders.set(charset, d);
  return d;
}

/** Decodes bytes in the given charset; never throws. */
export function decodeCharset(buf: Uint8Array, label: string | null | undefined): string {
  const charset = normalizeCharset(label);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (charset === "utf-8" || charset === "us-ascii") {
    if (isAscii(b)) return b.toString("latin1");
    // RFC 6532 / common practice: "us-ascii" labelled 8-bit text is usually UTF-8 or cp1252
    return charset === "utf-8" ? b.toString("utf8") : decodeUnknown(b);
  }
  try {
    // iso-2022-* are stateful 7-bit encodings iconv-lite lacks; TextDecoder has ISO-2022-JP
    if (!charset.startsWith("iso-2022") && iconv.encodingExists(charset)) return iconv.decode(b, charset);
    const d = textDecoder(charset);
    if (d !== null) return d.decode(b);
    if (iconv.encodingExists(charset)) return iconv.decode(b, charset);
  } catch {
    // fall through to the unknown-charset fallback
  }
  return decodeUnknown(b);
}
