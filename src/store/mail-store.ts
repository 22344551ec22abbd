// The MailStore implementation over the SQL seam: mail semantics written once for every
// backend (DESIGN.md "One store API, every protocol"). This file wires the parts together;
// the rules live in directory.ts, mailboxes.ts, recent.ts, append.ts, emails.ts, copy-move.ts,
// expunge.ts, threads.ts, changes.ts and retention.ts.
import type { StoredCredential } from "../auth/types.ts";
import type { Clock } from "../core/clock.ts";
import { StoreError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Envelope, ParsedMessage } from "../mail/types.ts";
import { appendEmails } from "./append.ts";
import { withCappedTexts } from "./search-capped.ts";
import { HybridBlobStore } from "./blob/hybrid.ts";
import { DbBlobStore } from "./blob/db.ts";
import { FsBlobStore, type ListableBlobStore } from "./blob/fs.ts";
import { changesSince, compactChanges, currentModSeq } from "./changes.ts";
import type { StoreContext } from "./context.ts";
import { accountNum, busPublish, chunks, marks } from "./context.ts";
import { copyEmails, moveEmails } from "./copy-move.ts";
import * as dir from "./directory.ts";
import { DirectoryCache, type DeliveryLookups } from "./directory-cache.ts";
import * as em from "./emails.ts";
import { destroyEmails, expunge } from "./expunge.ts";
import { SqlLeaseStore } from "./leases.ts";
import * as mb from "./mailboxes.ts";
import { migrate } from "./migrate.ts";
import { countRecent, RecentClaims } from "./recent.ts";
import { reindex, reindexEmails, searchIndexStale } from "./reindex.ts";
import { compactHistory, type CompactHistoryOptions, type CompactHistoryResult } from "./retention.ts";
import { ExternalChangeWatcher } from "./watch.ts";
import type { SearchIndex } from "./search-index.ts";
import { ScanSearchIndex } from "./search-scan.ts";
import { markServerRunning, markServerStopped, MODSEQ_GAP } from "./modseq-gap.ts";
import type { SqlDriver } from "./sql.ts";
import type {
  Account,
  AccountPatch,
  Alias,
  AppendInput,
  AppendResult,
  BlobStore,
  ChangeBus,
  ChangeRecord,
  CopyResult,
  CredentialRecord,
  Domain,
  Email,
  ExpungeResult,
  Id,
  KeywordChange,
  LeaseStore,
  Mailbox,
  MailboxPatch,
  MailStore,
  MailboxDelta,
  MessageRow,
  NewAccount,
  NewMailbox,
  ObjectType,
  Recipient,
  SearchHit,
  SearchOptions,
  SearchQuery,
  StoreErrorLike,
} from "./types.ts";

export interface MailStoreOptions {
  driver: SqlDriver;
  blobs: BlobStore;
  bus: ChangeBus;
  /** The backend's index (src/store/search/); the built-in scanning index when omitted. */
  search?: SearchIndex;
  clock: Clock;
  logger?: Logger;
  /**
   * Poll for changes other processes commit to the same database every this many ms and
   * publish them on the bus (see watch.ts); off by default. For SQLite servers, where the
   * CLI may write the same file.
   */
  watchExternalChangesMs?: number;
  /**
   * This process is the server (not the CLI, not a session process): it marks the store as
   * running until close() and skips modseqs ahead after a server that did not stop cleanly
   * (modseq-gap.ts).
   */
  server?: boolean;
}

function isListable(b: BlobStore): b is ListableBlobStore {
  return typeof (b as Partial<ListableBlobStore>).list === "function";
}

/** The store with its maintenance operations (not part of the protocol-facing MailStore). */
export interface MaintainedMailStore extends MailStore {
  readonly driver: SqlDriver;
  /** Drops change rows and tombstones at or below `upTo` now (see retention.ts). */
  compactChanges(accountId: Id, upTo: number): Promise<void>;
  /**
   * Drops every account's change history older than `before` (retention.ts): marks the
   * accounts' modseqs, then cuts each account in small transactions.
   */
  compactHistory(opts: CompactHistoryOptions): Promise<CompactHistoryResult>;
  /**
   * True when the store holds emails indexed by another search index than the configured
   * one (see reindex.ts): search may miss them until reindex() ran.
   */
  readonly searchIndexStale: boolean;
  /** Rebuilds the search index from the stored messages; returns the number indexed. */
  reindex(opts?: { batch?: number }): Promise<number>;
}

class SqlMailStore implements MaintainedMailStore {
  readonly blobs: BlobStore;
  readonly changes: ChangeBus;
  readonly leases: LeaseStore;
  readonly driver: SqlDriver;
  readonly delivery: DeliveryLookups;
  readonly #ctx: StoreContext;
  readonly #dirCache = new DirectoryCache();
  readonly #recent = new RecentClaims();
  readonly #server: boolean;
  #closed = false;
  searchIndexStale: boolean;

  constructor(ctx: StoreContext, searchIndexStale: boolean, server = false) {
    this.#ctx = ctx;
    this.#server = server;
    this.searchIndexStale = searchIndexStale;
    this.driver = ctx.driver;
    this.blobs = ctx.blobs;
    this.changes = ctx.bus;
    this.leases = new SqlLeaseStore(ctx.driver, ctx.clock);
    const cache = this.#dirCache;
    this.delivery = {
      getDomain: (name) => cache.get(`d:${name}`, () => dir.getDomain(ctx, name)),
      resolveRecipient: (address, opts) =>
        cache.get(`r:${opts?.subaddressSeparator ?? "+"}:${address}`, () =>
          dir.resolveRecipient(ctx, address, opts),
        ),
      getAccount: (id) => cache.get(`a:${id}`, () => dir.getAccount(ctx, id)),
    };
  }

  /** Runs a directory write, then drops the delivery path's cached answers. */
  async #dirWrite<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.#dirCache.invalidate();
    }
  }

  // --- domains ---
  createDomain(name: string, opts?: { catchAll?: string | null }): Promise<Domain> {
    return this.#dirWrite(dir.createDomain(this.#ctx, name, opts));
  }
  getDomain(name: string): Promise<Domain | null> {
    return dir.getDomain(this.#ctx, name);
  }
  listDomains(): Promise<Domain[]> {
    return dir.listDomains(this.#ctx);
  }
  updateDomain(name: string, patch: { catchAll?: string | null }): Promise<Domain> {
    return this.#dirWrite(dir.updateDomain(this.#ctx, name, patch));
  }
  deleteDomain(name: string): Promise<void> {
    return this.#dirWrite(dir.deleteDomain(this.#ctx, name));
  }

  // --- accounts and credentials ---
  createAccount(input: NewAccount): Promise<Account> {
    return this.#dirWrite(dir.createAccount(this.#ctx, input));
  }
  getAccount(id: Id): Promise<Account | null> {
    return dir.getAccount(this.#ctx, id);
  }
  getAccountByName(name: string): Promise<Account | null> {
    return dir.getAccountByName(this.#ctx, name);
  }
  getAccountByAddress(address: string): Promise<Account | null> {
    return dir.getAccountByAddress(this.#ctx, address);
  }
  listAccounts(): Promise<Account[]> {
    return dir.listAccounts(this.#ctx);
  }
  updateAccount(id: Id, patch: AccountPatch): Promise<Account> {
    return this.#dirWrite(dir.updateAccount(this.#ctx, id, patch));
  }
  deleteAccount(id: Id): Promise<void> {
    return this.#dirWrite(dir.deleteAccount(this.#ctx, id));
  }
  addCredential(accountId: Id, credential: StoredCredential): Promise<Id> {
    return dir.addCredential(this.#ctx, accountId, credential);
  }
  listCredentials(accountId: Id): Promise<CredentialRecord[]> {
    return dir.listCredentials(this.#ctx, accountId);
  }
  removeCredential(accountId: Id, credentialId: Id): Promise<void> {
    return dir.removeCredential(this.#ctx, accountId, credentialId);
  }
  setPassword(accountId: Id, credential: StoredCredential): Promise<void> {
    return dir.setPassword(this.#ctx, accountId, credential);
  }

  // --- aliases and routing ---
  setAlias(alias: Alias): Promise<void> {
    return this.#dirWrite(dir.setAlias(this.#ctx, alias));
  }
  removeAlias(address: string): Promise<void> {
    return this.#dirWrite(dir.removeAlias(this.#ctx, address));
  }
  listAliases(domain?: string): Promise<Alias[]> {
    return dir.listAliases(this.#ctx, domain);
  }
  resolveRecipient(address: string, opts?: { subaddressSeparator?: string }): Promise<Recipient | null> {
    return dir.resolveRecipient(this.#ctx, address, opts);
  }

  // --- mailboxes ---
  listMailboxes(accountId: Id): Promise<Mailbox[]> {
    return mb.listMailboxes(this.#ctx, accountId);
  }
  getMailbox(accountId: Id, mailboxId: Id): Promise<Mailbox | null> {
    return mb.getMailbox(this.#ctx, accountId, mailboxId);
  }
  getMailboxByPath(accountId: Id, path: string): Promise<Mailbox | null> {
    return mb.getMailboxByPath(this.#ctx, accountId, path);
  }
  mailboxPath(accountId: Id, mailboxId: Id): Promise<string> {
    return mb.mailboxPath(this.#ctx, accountId, mailboxId);
  }
  createMailbox(accountId: Id, input: NewMailbox): Promise<Mailbox> {
    return mb.createMailbox(this.#ctx, accountId, input);
  }
  updateMailbox(accountId: Id, mailboxId: Id, patch: MailboxPatch): Promise<Mailbox> {
    return mb.updateMailbox(this.#ctx, accountId, mailboxId, patch);
  }
  deleteMailbox(accountId: Id, mailboxId: Id): Promise<void> {
    return mb.deleteMailbox(this.#ctx, accountId, mailboxId);
  }
  orphanSubscriptions(accountId: Id): Promise<string[]> {
    return mb.orphanSubscriptions(this.#ctx, accountId);
  }
  dropOrphanSubscription(accountId: Id, name: string): Promise<boolean> {
    return mb.dropOrphanSubscription(this.#ctx, accountId, name);
  }
  claimRecent(accountId: Id, mailboxId: Id, upToUid: number): Promise<number> {
    return this.#recent.claim(this.#ctx, accountId, mailboxId, upToUid);
  }
  countRecent(accountId: Id, mailboxId: Id): Promise<number> {
    return countRecent(this.#ctx, accountId, mailboxId);
  }

  // --- emails ---
  appendEmails(accountId: Id, inputs: AppendInput[]): Promise<Array<AppendResult | StoreErrorLike>> {
    return appendEmails(this.#ctx, accountId, inputs);
  }
  getEmails(accountId: Id, ids: Id[]): Promise<Email[]> {
    return em.getEmails(this.#ctx, accountId, ids);
  }
  getParsed(accountId: Id, ids: Id[]): Promise<Map<Id, Omit<ParsedMessage, "text">>> {
    return em.getParsed(this.#ctx, accountId, ids);
  }
  getEnvelopes(accountId: Id, ids: Id[]): Promise<Map<Id, Envelope>> {
    return em.getEnvelopes(this.#ctx, accountId, ids);
  }
  getRaw(accountId: Id, emailId: Id): Promise<Buffer | null> {
    return em.getRaw(this.#ctx, accountId, emailId);
  }
  listMessages(
    accountId: Id,
    mailboxId: Id,
    opts?: { fromUid?: number; withEnvelope?: boolean },
  ): Promise<MessageRow[]> {
    return em.listMessages(this.#ctx, accountId, mailboxId, opts);
  }
  changedMessages(accountId: Id, mailboxId: Id, since: number): Promise<MessageRow[]> {
    return em.changedMessages(this.#ctx, accountId, mailboxId, since);
  }
  expungedSince(accountId: Id, mailboxId: Id, since: number): Promise<number[]> {
    return em.expungedSince(this.#ctx, accountId, mailboxId, since);
  }
  mailboxDelta(accountId: Id, mailboxId: Id, since: number): Promise<MailboxDelta> {
    return em.mailboxDelta(this.#ctx, accountId, mailboxId, since);
  }
  setKeywords(
    accountId: Id,
    emailIds: Id[],
    change: KeywordChange,
    opts?: { unchangedSince?: number; waitDurable?: boolean },
  ): Promise<{ modseq: number; updated: Id[]; conflicts: Id[]; keywords: Map<Id, string[]> }> {
    return em.setKeywords(this.#ctx, accountId, emailIds, change, opts);
  }
  copyEmails(accountId: Id, emailIds: Id[], toMailboxId: Id): Promise<CopyResult> {
    return copyEmails(this.#ctx, accountId, emailIds, toMailboxId);
  }
  moveEmails(
    accountId: Id,
    fromMailboxId: Id,
    emailIds: Id[],
    toMailboxId: Id,
  ): Promise<{ copy: CopyResult; expunge: ExpungeResult }> {
    return moveEmails(this.#ctx, accountId, fromMailboxId, emailIds, toMailboxId);
  }
  expunge(accountId: Id, mailboxId: Id, uids: number[]): Promise<ExpungeResult> {
    return expunge(this.#ctx, accountId, mailboxId, uids);
  }
  destroyEmails(accountId: Id, emailIds: Id[]): Promise<{ modseq: number; destroyed: Id[] }> {
    return destroyEmails(this.#ctx, accountId, emailIds);
  }

  // --- changes and search ---
  currentModSeq(accountId: Id): Promise<number> {
    return currentModSeq(this.#ctx, accountId);
  }
  changesSince(
    accountId: Id,
    since: number,
    opts?: { types?: ObjectType[]; limit?: number },
  ): Promise<{ changes: ChangeRecord[]; hasMore: boolean; modseq: number }> {
    return changesSince(this.#ctx, accountId, since, opts);
  }
  compactChanges(accountId: Id, upTo: number): Promise<void> {
    return compactChanges(this.#ctx, accountId, upTo);
  }
  compactHistory(opts: CompactHistoryOptions): Promise<CompactHistoryResult> {
    return compactHistory(this.#ctx, opts);
  }
  async reindex(opts?: { batch?: number }): Promise<number> {
    const n = await reindex(this.#ctx, opts);
    this.searchIndexStale = false;
    return n;
  }

  async search(accountId: Id, query: SearchQuery, opts?: SearchOptions): Promise<SearchHit[]> {
    const db = this.#ctx.driver;
    const acct = await accountNum(db, accountId);
    // How many emails are searched (the mailbox's, else the account's): the index's plan.
    let mailboxNum: number | undefined;
    let rows: number | undefined;
    if (opts?.mailboxId !== undefined) {
      const row = await db.get<{ num: number; total: number }>(
        "SELECT num, total FROM mailboxes WHERE id = ? AND account_num = ?",
        [opts.mailboxId, acct],
      );
      if (!row) throw new StoreError("NOTFOUND", `no mailbox ${opts.mailboxId}`);
      mailboxNum = row.num;
      rows = Number(row.total);
    } else {
      const row = await db.get<{ n: number }>("SELECT used_messages AS n FROM accounts WHERE num = ?", [
        acct,
      ]);
      if (row) rows = Number(row.n);
    }
    // the text the index left out of capped emails (search-capped.ts)
    const q = await withCappedTexts(this.#ctx, db, acct, mailboxNum, query);
    const hits = await this.#ctx.search.search(db, acct, q, {
      ...(mailboxNum !== undefined ? { mailboxNum } : {}),
      ...(opts?.limit !== undefined ? { limit: opts.limit } : {}),
      ...(rows !== undefined ? { rows } : {}),
    });
    const ids = new Map<number, string>();
    for (const h of hits) if (h.emailId !== undefined) ids.set(h.emailNum, h.emailId);
    const missing = [...new Set(hits.filter((h) => h.emailId === undefined).map((h) => h.emailNum))];
    for (const part of chunks(missing)) {
      const rows = await db.all<{ num: number; id: string }>(
        `SELECT num, id FROM emails WHERE num IN (${marks(part.length)})`,
        part,
      );
      for (const r of rows) ids.set(r.num, r.id);
    }
    const out: SearchHit[] = [];
    for (const h of hits) {
      const emailId = ids.get(h.emailNum);
      if (emailId === undefined) continue;
      out.push(h.uid !== undefined ? { emailId, uid: h.uid } : { emailId });
    }
    return out;
  }

  async collectGarbage(opts?: { graceMs?: number }): Promise<number> {
    const blobs = this.#ctx.blobs;
    if (!isListable(blobs)) return 0;
    const grace = opts?.graceMs ?? 3_600_000;
    const now = this.#ctx.clock.now();
    const db = this.#ctx.driver;
    let deleted = 0;
    if (blobs instanceof FsBlobStore) await blobs.sweepTemp(now - grace);
    if (blobs instanceof HybridBlobStore) await blobs.fs.sweepTemp(now - grace);
    for await (const id of blobs.list()) {
      // A blob is in use while an email or a queued outbound message refers to it.
      const used = await db.get<{ n: number }>(
        `SELECT 1 AS n FROM emails WHERE blob_id = ?
         UNION ALL SELECT 1 AS n FROM outbound_queue WHERE blob_id = ? LIMIT 1`,
        [id, id],
      );
      if (used) continue;
      const t = await blobs.touchedAt(id);
      if (t === null || now - t < grace) continue;
      if (blobs instanceof DbBlobStore || blobs instanceof HybridBlobStore) {
        // One statement: an append committing the same blob meanwhile keeps it.
        const r = await db.run(
          `DELETE FROM blobs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM emails WHERE blob_id = ?)
           AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE blob_id = ?)`,
          [id, id, id],
        );
        deleted += r.changes;
        if (r.changes === 0 && blobs instanceof HybridBlobStore && (await blobs.fs.has(id))) {
          await blobs.fs.delete(id); // a large blob of the hybrid store: a file
          deleted++;
        }
        continue;
      }
      await blobs.delete(id);
      deleted++;
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.watcher?.stop();
    await this.#ctx.search.close?.();
    if (this.#server) await markServerStopped(this.#ctx.driver);
    await this.#ctx.driver.close();
  }
}

/** Runs pending migrations and returns the store. */
export async function createMailStore(opts: MailStoreOptions): Promise<MaintainedMailStore> {
  const search = opts.search ?? new ScanSearchIndex();
  await migrate(opts.driver, search);
  if (opts.server === true && (await markServerRunning(opts.driver)))
    opts.logger?.warn(
      { gap: MODSEQ_GAP },
      "the last server did not stop cleanly: modseqs skip ahead past flag changes a power failure may have lost",
    );
  const ctx: StoreContext = {
    driver: opts.driver,
    blobs: opts.blobs,
    bus: opts.bus,
    search,
    clock: opts.clock,
    logger: opts.logger,
  };
  if (opts.watchExternalChangesMs) {
    const watcher = new ExternalChangeWatcher(
      opts.driver,
      (e) => busPublish(ctx, e),
      (e) => opts.logger?.warn({ err: e }, "watching external changes failed"),
    );
    ctx.watcher = watcher;
    watcher.start(opts.watchExternalChangesMs);
  }
  await catchUpSearchIndex(ctx);
  const stale = await searchIndexStale(ctx);
  if (stale)
    opts.logger?.warn({ index: search.name }, "search index does not cover the stored emails: run reindex");
  return new SqlMailStore(ctx, stale, opts.server === true);
}

/**
 * Indexes the emails an index updated after commit has no entry for: those whose update a
 * crash lost, or all of them when the store had another index before. A few are indexed
 * before the store is returned; a whole store is indexed in the background (text searches
 * miss the rest meanwhile, which is logged).
 */
async function catchUpSearchIndex(ctx: StoreContext): Promise<void> {
  const missing = await ctx.search.missing?.(ctx.driver);
  if (!missing || missing.length === 0) return;
  ctx.logger?.info(
    { emails: missing.length, index: ctx.search.name },
    "indexing emails the search index misses",
  );
  if (missing.length <= 5_000) {
    await reindexEmails(ctx, missing);
    return;
  }
  reindexEmails(ctx, missing).then(
    (n) => ctx.logger?.info({ emails: n }, "search index caught up"),
    (e: unknown) => ctx.logger?.error({ err: e }, "indexing missed emails failed"),
  );
}
