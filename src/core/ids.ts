// Opaque identifiers for store objects (JMAP ids, IMAP MAILBOXID/EMAILID/THREADID).
// RFC 8620 §1.2: 1-255 chars of [A-Za-z0-9_-]; RFC 8474 §4 asks for ids that never repeat.
import { randomBytes } from "node:crypto";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

// Random bytes are drawn 4 KiB at a time (one call into the CSPRNG per 315 ids instead of
// one per id: ingest makes three ids a message) and each byte is used once.
const POOL = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/** A random id: a one-letter type prefix and 20 base32 characters (100 bits). */
export function newId(prefix: string): string {
  if (used + 13 > pool.length) {
    pool = randomBytes(POOL);
    used = 0;
  }
  const bytes = pool.subarray(used, (used += 13));
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
