// xtext (RFC 3461 §4) and its UTF-8 variants utf-8-addr-xtext and utf-8-addr-unitext
// (RFC 6533 §3). Used by ENVID, ORCPT and AUTH= (RFC 4954 §5). Pure functions that never throw
// on input: decoders answer null for anything outside the grammar.

const HEX = "0123456789ABCDEF";

/**
 * RFC 3461 §4: xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and
 * "=". Everything else is written as "+" followed by two upper-case hex digits.
 */
function isXchar(c: number): boolean {
  return c >= 33 && c <= 126 && c !== 0x2b && c !== 0x3d;
}

/** Encodes bytes (or a string as UTF-8) as xtext. */
export function encodeXtext(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  let out = "";
  for (const c of bytes) {
    if (isXchar(c)) out += String.fromCharCode(c);
    else out += "+" + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  // RFC 3461 §4 asks for upper-case hex; lower case is read too (be liberal in what you accept).
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Decodes xtext to its octets; null when the text is not xtext (RFC 3461 §4). */
export function decodeXtextBytes(text: string): Buffer | null {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) {
      if (i + 2 >= text.length) return null;
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return null;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else if (isXchar(c)) {
      out[n++] = c;
    } else {
      return null;
    }
  }
  return out.subarray(0, n);
}

/** Decodes xtext and reads the octets as UTF-8; null when not xtext or not valid UTF-8. */
export function decodeXtext(text: string): string | null {
  const bytes = decodeXtextBytes(text);
  if (bytes === null) return null;
  return decodeUtf8Strict(bytes);
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 decoding that answers null for malformed input instead of inserting U+FFFD. */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return null;
  }
}

/** True when the string is xtext (RFC 3461 §4). */
export function isXtext(text: string): boolean {
  return decodeXtextBytes(text) !== null;
}

/**
 * RFC 6533 §3: QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e, that is printable ASCII without
 * "+", "=" and "\".
 */
function isQchar(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== 0x2b && c !== 0x3d && c !== 0x5c;
}

function embedded(cp: number): string {
  return "\\x{" + cp.toString(16).toUpperCase() + "}";
}

/**
 * RFC 6533 §3 utf-8-addr-xtext: ASCII only; every character outside QCHAR (including all
 * non-ASCII) written as EmbeddedUnicodeChar "\x{HEXPOINT}".
 */
export function encodeUtf8AddrXtext(value: string): string {
  let out = "";
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    out += isQchar(cp) ? ch : embedded(cp);
  }
  return out;
}

/**
 * RFC 6533 §3 utf-8-addr-unitext: like utf-8-addr-xtext but non-ASCII characters stay as they
 * are (QUCHAR = QCHAR / UTF8-non-ascii); only ASCII specials and controls are escaped.
 */
export function encodeUtf8AddrUnitext(value: string): string {
  let out = "";
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    out += isQchar(cp) || cp >= 0x80 ? ch : embedded(cp);
  }
  return out;
}

function decodeEmbedded(text: string, allowNonAscii: boolean): string | null {
  let out = "";
  let i = 0;
  if (text.length === 0) return null; // RFC 6533 §3: 1*( ... )
  while (i < text.length) {
    const cp = text.codePointAt(i) ?? 0;
    if (cp === 0x5c) {
      // EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}"
      if (text.charCodeAt(i + 1) !== 0x78 || text.charCodeAt(i + 2) !== 0x7b) return null;
      const close = text.indexOf("}", i + 3);
      if (close < 0) return null;
      const hex = text.slice(i + 3, close);
      // HEXPOINT is 2 to 6 hex digits naming a Unicode scalar value (RFC 6533 §3).
      if (!/^[0-9A-Fa-f]{2,6}$/.test(hex)) return null;
      const value = parseInt(hex, 16);
      if (value === 0 || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return null;
      out += String.fromCodePoint(value);
      i = close + 1;
    } else if (isQchar(cp)) {
      out += String.fromCharCode(cp);
      i += 1;
    } else if (allowNonAscii && cp >= 0x80 && !(cp >= 0xd800 && cp <= 0xdfff)) {
      out += String.fromCodePoint(cp);
      i += cp > 0xffff ? 2 : 1;
    } else {
      return null;
    }
  }
  return out;
}

/** Decodes utf-8-addr-xtext (RFC 6533 §3); null outside the grammar. */
export function decodeUtf8AddrXtext(text: string): string | null {
  return decodeEmbedded(text, false);
}

/** Decodes utf-8-addr-unitext (RFC 6533 §3), a superset of utf-8-addr-xtext; null outside it. */
export function decodeUtf8AddrUnitext(text: string): string | null {
  return decodeEmbedded(text, true);
}
