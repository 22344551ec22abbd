// ENVELOPE values as written on the wire (RFC 9051 §7.5.2), by email id, for every session of
// the server. An email's envelope never changes, so once written it is reused: a client that
// lists a mailbox again (FETCH 1:* (... ENVELOPE), the newest 50 on every sync) costs neither
// a store read nor a serialization per message. Two forms per email: UTF-8 strings (RFC 6855,
// IMAP4rev2) and 7-bit (8-bit text as literals). Bounded in characters; the oldest go first.
import type { Envelope } from "../../../mail/types.ts";
import type { Id } from "../../../store/types.ts";
import { envelopeText } from "../wire/index.ts";

/** Characters of wire text kept (about 100,000 envelopes). */
const DEFAULT_MAX_CHARS = 32 * 1024 * 1024;

export class EnvelopeCache {
  readonly #maps = { utf8: new Map<Id, string>(), ascii: new Map<Id, string>() };
  #chars = 0;
  readonly #max: number;

  constructor(maxChars = DEFAULT_MAX_CHARS) {
    this.#max = maxChars;
  }

  get(emailId: Id, utf8: boolean): string | undefined {
    return (utf8 ? this.#maps.utf8 : this.#maps.ascii).get(emailId);
  }

  /** Writes `env` for the mode, keeps it and returns it. */
  put(emailId: Id, utf8: boolean, env: Envelope): string {
    const text = envelopeText(env, { utf8 });
    const map = utf8 ? this.#maps.utf8 : this.#maps.ascii;
    const old = map.get(emailId);
    if (old !== undefined) this.#chars -= old.length;
    map.set(emailId, text);
    this.#chars += text.length;
    while (this.#chars > this.#max) {
      const evicted = evictOldest(
        this.#maps.ascii.size >= this.#maps.utf8.size ? this.#maps.ascii : this.#maps.utf8,
      );
      if (evicted === 0) break;
      this.#chars -= evicted;
    }
    return text;
  }
}

function evictOldest(map: Map<Id, string>): number {
  for (const [k, v] of map) {
    map.delete(k);
    return v.length;
  }
  return 0;
}
