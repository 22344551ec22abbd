// Directory answers for the delivery path, from memory. Every SMTP/LMTP RCPT asks whether
// the domain is ours, what the address resolves to and whether the accounts may receive;
// on SQLite each of those point reads, made just after other sessions' COMMITs, re-reads
// its pages (a reader's page cache is dropped whenever the WAL moved on): about 80 us per
// recipient, 8% of an LMTP delivery's main-thread time (measured on 2 cores).
//
// Rules, so an answer is never wrong in a way that loses or misroutes mail:
// - Only positive answers are kept. "No such domain / user" is always read again, so an
//   account or domain created anywhere (the CLI, another node) is seen at its next RCPT.
// - A write through this store (MailStore's directory methods) empties the cache at once;
//   a load that began before the write is not kept.
// - Changes made by another process are seen within MAX_AGE_MS, like the TTL of Dovecot's
//   auth cache or Postfix's proxymap. The account's usage figures may be that old too: the
//   RCPT quota check is advisory, the append re-checks quota in its own transaction.
// Other readers (IMAP GETQUOTA, the CLI, submission's sender check) read the store directly.
import { performance } from "node:perf_hooks";
import type { Account, Domain, Id, Recipient } from "./types.ts";

/** How long a positive answer is served from memory (ms). */
export const MAX_AGE_MS = 1000;
/** Entries kept; the cache is emptied when it grows past this. */
const MAX_ENTRIES = 10_000;

/** The directory lookups of the delivery path, answered by DirectoryCache. */
export interface DeliveryLookups {
  getDomain(name: string): Promise<Domain | null>;
  resolveRecipient(address: string, opts?: { subaddressSeparator?: string }): Promise<Recipient | null>;
  getAccount(id: Id): Promise<Account | null>;
}

export class DirectoryCache {
  readonly #entries = new Map<string, { at: number; value: unknown }>();
  #generation = 0;

  /** Called after every directory write through this store. */
  invalidate(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** `load()`'s answer for `key`, from memory while fresh; null answers are never kept. */
  async get<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const now = performance.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && now - hit.at < MAX_AGE_MS) return hit.value as T;
    const generation = this.#generation;
    const value = await load();
    if (value === null || generation !== this.#generation) {
      this.#entries.delete(key);
      return value;
    }
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, { at: now, value });
    return value;
  }
}
