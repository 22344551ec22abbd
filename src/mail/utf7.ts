// Modified UTF-7 for IMAP mailbox names (RFC 3501 §5.1.3; RFC 9051 §5.1 keeps it for clients
// that have not enabled UTF8=ACCEPT): printable US-ASCII except "&" stands for itself, "&" is
// "&-", and other characters are UTF-16 in modified BASE64 (",' for "/", no padding) between
// "&" and "-".

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Thrown by decodeMailboxName on a name that is not valid modified UTF-7. */
export class Utf7Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Utf7Error";
  }
}

function encodeRun(units: number[]): string {
  let out = "&";
  let bits = 0;
  let nbits = 0;
  for (const u of units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += B64[(bits >> nbits) & 0x3f];
    }
    bits &= (1 << nbits) - 1;
  }
  if (nbits > 0) out += B64[(bits << (6 - nbits)) & 0x3f];
  return out + "-";
}

/**
 * Encodes a Unicode mailbox name to modified UTF-7. Total: every string has an encoding, and
 * decodeMailboxName(encodeMailboxName(s)) === s.toWellFormed() (=== s for any Unicode string).
 */
export function encodeMailboxName(name: string): string {
  // a lone surrogate is not Unicode and has no UTF-16 form: it goes out as U+FFFD
  const wellFormed = name.toWellFormed();
  let out = "";
  let run: number[] = [];
  for (let i = 0; i < wellFormed.length; i++) {
    const c = wellFormed.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      if (run.length > 0) {
        out += encodeRun(run);
        run = [];
      }
      out += c === 0x26 ? "&-" : wellFormed[i];
    } else run.push(c); // UTF-16 code units, surrogates included (RFC 2152 encodes UTF-16, pairs included)
  }
  if (run.length > 0) out += encodeRun(run);
  return out;
}

/**
 * Decodes a modified UTF-7 mailbox name. Throws Utf7Error on invalid input: a raw non-ASCII
 * or control character, an unterminated "&", bad BASE64, non-zero pad bits, an encoded
 * printable ASCII character, two adjacent encoded runs (RFC 3501 §5.1.3 forbids these), or
 * UTF-16 that is not well formed (a lone surrogate).
 */
export function decodeMailboxName(s: string): string {
  let out = "";
  let i = 0;
  let lastRunEnd = -1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e)
      throw new Utf7Error(`mailbox name has a raw character U+${c.toString(16).padStart(4, "0")} at ${i}`);
    if (c !== 0x26) {
      out += s[i];
      i++;
      continue;
    }
    const end = s.indexOf("-", i + 1);
    if (end < 0) throw new Utf7Error(`mailbox name has an unterminated "&" at ${i}`);
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      continue;
    }
    if (lastRunEnd === i) throw new Utf7Error(`mailbox name has adjacent encoded runs at ${i}`);
    let bits = 0;
    let nbits = 0;
    const units: number[] = [];
    for (let k = i + 1; k < end; k++) {
      const code = s.charCodeAt(k);
      const v = code < 128 ? (B64_INDEX[code] ?? -1) : -1;
      if (v < 0) throw new Utf7Error(`mailbox name has a bad character "${s[k]}" in an encoded run at ${k}`);
      bits = ((bits << 6) | v) & 0xffffff;
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        units.push((bits >> nbits) & 0xffff);
      }
    }
    if (nbits >= 6 || (bits & ((1 << nbits) - 1)) !== 0)
      throw new Utf7Error(`mailbox name has bad padding in the run at ${i}`);
    for (let k = 0; k < units.length; k++) {
      const u = units[k] ?? 0;
      if (u >= 0x20 && u <= 0x7e)
        throw new Utf7Error(`mailbox name encodes printable ASCII in the run at ${i}`);
      // RFC 2152 encodes UTF-16: a high surrogate needs a low one right after it, a low
      // surrogate needs a high one before it
      const next = units[k + 1] ?? 0;
      if (u >= 0xd800 && u <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) k++;
      else if (u >= 0xd800 && u <= 0xdfff)
        throw new Utf7Error(`mailbox name has a lone surrogate in the run at ${i}`);
    }
    for (const u of units) out += String.fromCharCode(u);
    i = end + 1;
    lastRunEnd = i;
  }
  return out;
}

/** True when `s` is valid modified UTF-7 (decodeMailboxName would not throw). */
export function isValidMailboxUtf7(s: string): boolean {
  try {
    decodeMailboxName(s);
    return true;
  } catch {
    return false;
  }
}
