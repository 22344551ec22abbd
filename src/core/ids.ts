// Opaque identifiers for store objects (JMAP ids, IMAP MAILBOXID/EMAILID/THREADID).
// RFC 8620 §1.2: 1-255 chars of [A-Za-z0-9_-]; RFC 8474 §4 asks for ids that never repeat.
import { randomBytes } from "node:crypto";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** A random id: a one-letter type prefix and 20 base32 characters (100 bits). */
export function newId(prefix: string): string {
  const bytes = randomBytes(13);
  let out = prefix;
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < prefix.length + 20) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}
