// The SQLite search index of a store kept in a database file: the same FTS5 tables and
// queries as sqlite.ts, but in a database file of their own, written by a worker thread
// (fts-worker.ts) after the store's transactions commit, instead of inside them on the event
// loop. Indexing (folding, trigram tokenizing, FTS5 merges) was about half of the server's
// CPU per delivered message; a delivery now only hands the document to the worker.
//
// Consistency: index(), copy() and remove() register their operation with the transaction
// (SqlExecutor.onCommit), so only committed emails reach the worker, in commit order. A
// search that tests text or headers first waits until the worker has applied every
// operation for its account committed before it began (read-your-writes: an APPEND followed
// by SEARCH finds the message): the header rows for a search of headers, every row for one
// of body text (the worker applies a batch's header rows first, see fts-worker.ts). The store's reader connection attaches the index file as schema `fts`;
// table names in the compiled queries are unqualified and resolve there. Text searches run on a
// thread of their own with the same view (query-thread.ts), the rest on the store's connections.
//
// Scheduling: the index is background work. Operations are handed to the worker while the
// event loop has time to spare; while it is busy serving clients (utilization over the last
// interval at or above HOLD_UTILIZATION), they are held here, up to HOLD_MAX_OPS operations
// or HOLD_MAX_CHARS characters of text, and posted once it quiets down, so a burst of
// deliveries is not slowed by indexing on the same cores (a low thread priority for the worker
// alone did not keep it off them: measured on 2 cores, it took 0.8-1.1 CPU s per 1,000
// LMTP messages during the burst). A text search posts what is held at once if some of it is
// its account's, and waits for the batch with its account's last operation only: another
// account's deliveries being indexed do not hold it up.
//
// Crash safety: the index file is not synced (synchronous=NORMAL) and operations in flight
// die with the process. At open, missing() lists the emails without index entries, and the
// store indexes them again from their messages; entries of emails destroyed meanwhile are
// never returned by a query (the queries select from emails, whose numbers are never reused).
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import Database from "better-sqlite3";
import type { Logger } from "../../core/logger.ts";
import type { SqlExecutor } from "../sql.ts";
import type { IndexEntry, SearchIndex, SearchIndexOptions, SearchQuery } from "../search-index.ts";
import { compileSearch, runSearch, toHits, type SearchHitRow } from "./compile.ts";
import type { FtsBatch, FtsDone, FtsOp } from "./fts-worker.ts";
import { SearchQueryThread } from "./query-thread.ts";
import { FTS_TABLES, sqliteFlavor } from "./sqlite.ts";

/** The reader side of the SQLite driver this index needs. */
export interface AttachableDriver {
  /** ATTACHes `path` as `schema` on the connection that serves reads outside transactions. */
  attachToReader(path: string, schema: string): void;
  /** Has `fn` run before each statement (see #poll). */
  addPoll?(fn: () => void): void;
}

export interface DeferredFtsOptions {
  /** The store's database file; the index lives beside it in `<file>.fts`. */
  databasePath: string;
  driver: AttachableDriver;
  logger?: Logger;
}

/** How often held operations are reconsidered (ms). */
const HOLD_CHECK_MS = 50;
/** Event-loop utilization over the last check at or above which operations are held. */
const HOLD_UTILIZATION = 0.5;
/** Held operations posted regardless of load past either bound (memory stays bounded). */
const HOLD_MAX_OPS = 20_000;
const HOLD_MAX_CHARS = 64 * 1024 * 1024;

/** The account of a removal: no search waits for one (see remove()). */
const NO_ACCOUNT = -1;

function opChars(op: FtsOp): number {
  if (op.t !== "index") return 16;
  const d = op.doc;
  return d.body.length + d.headers.length + d.subject.length + d.from.length + d.to.length + 64;
}

/** True when some term of the query has one of these ops. */
function hasTerm(q: SearchQuery, ops: ReadonlySet<SearchQuery["op"]>): boolean {
  switch (q.op) {
    case "and":
    case "or":
      return q.terms.some((t) => hasTerm(t, ops));
    case "not":
      return hasTerm(q.term, ops);
    default:
      return ops.has(q.op);
  }
}

const TEXT_OPS: ReadonlySet<SearchQuery["op"]> = new Set(["header", "body", "text"]);
const BODY_OPS: ReadonlySet<SearchQuery["op"]> = new Set(["body", "text"]);

/** True when the query tests header or body text (answered from the index tables). */
export function usesTextIndex(q: SearchQuery): boolean {
  return hasTerm(q, TEXT_OPS);
}

/** True when the query tests body text (BODY, TEXT): it waits for the body rows too. */
export function usesBodyIndex(q: SearchQuery): boolean {
  return hasTerm(q, BODY_OPS);
}

export class DeferredFtsIndex implements SearchIndex {
  readonly name = "fts5-deferred";
  readonly #worker: Worker;
  readonly #donePort: MessagePort;
  readonly #logger: Logger | undefined;
  readonly #exited: Promise<void>;
  #buffer: FtsOp[] = [];
  /** The account of each buffered operation (NO_ACCOUNT for removals). */
  #bufferOpAccounts: number[] = [];
  #bufferChars = 0;
  #holdTimer: ReturnType<typeof setInterval> | undefined;
  #elu: { at: number; elu: EventLoopUtilization } | undefined;
  #lastUtilization = 0;
  #posted = 0;
  /** Batches whose header rows are applied, and whose every row is (see fts-worker.ts). */
  #headersDone = 0;
  #done = 0;
  #waiters: Array<{ seq: number; bodies: boolean; resolve: () => void }> = [];
  /** Accounts with operations in the buffer, and the last batch posted with one, by account. */
  readonly #bufferAccounts = new Set<number>();
  readonly #accountBatch = new Map<number, number>();
  /** The removals in the buffer, and the emails they name. */
  #bufferRemoveOps: Array<Extract<FtsOp, { t: "remove" }>> = [];
  readonly #bufferRemovals = new Set<number>();
  #dead = false;
  /** Where text searches run: off the event loop (query-worker.ts). */
  readonly #queries: SearchQueryThread;

  constructor(opts: DeferredFtsOptions) {
    this.#logger = opts.logger;
    const path = `${opts.databasePath}.fts`;
    // The tables exist before the reader attaches the file and before the worker starts.
    const db = new Database(path);
    try {
      db.pragma("journal_mode = WAL");
      db.exec(FTS_TABLES.join(";\n"));
    } finally {
      db.close();
    }
    opts.driver.attachToReader(path, "fts");
    this.#queries = new SearchQueryThread(opts.databasePath, path, opts.logger);
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const { port1, port2 } = new MessageChannel();
    this.#worker = new Worker(new URL(`./fts-worker${ext}`, import.meta.url), {
      workerData: { path, done: port1 },
      transferList: [port1],
    });
    // FtsDone comes on a port of its own, which #poll reads when the driver runs a statement:
    // on a busy event loop the message waited about 0.9 ms for the loop's poll phase, and a
    // FROM search waits for it (1.1 ms median, 1.8 mean, on the IMAP mixed load).
    port2.on("message", (m: FtsDone) => this.#onDone(m));
    port2.unref();
    this.#donePort = port2;
    opts.driver.addPoll?.(() => this.#poll());
    // Work in flight at exit is recovered at the next open. The thread holds the process until
    // close() all the same: the "message" listener below references it again, and a CLI
    // command waiting for settled() relies on that.
    this.#worker.unref();
    this.#worker.on("message", (m: FtsDone) => this.#onDone(m));
    this.#exited = new Promise((resolve) => this.#worker.once("exit", () => resolve()));
    this.#worker.on("error", (e) => {
      this.#logger?.error({ err: e }, "search index worker failed; text search may miss new mail");
      this.#dead = true;
      this.#release(Number.MAX_SAFE_INTEGER);
    });
  }

  migrations(): string[][] {
    return [
      [
        // The index tables of the in-transaction index (sqlite.ts), if this store had it.
        "DROP TABLE IF EXISTS main.search_headers",
        "DROP TABLE IF EXISTS main.search_fts",
        "DROP TABLE IF EXISTS main.search_body",
        // Flag, date and size tests read this narrow index instead of the emails rows.
        "CREATE INDEX IF NOT EXISTS search_emails_scan ON emails(account_num, num, keywords, modseq, size, received_at, sent_at, thread_num, id)",
      ],
    ];
  }

  async index(tx: SqlExecutor, entries: readonly IndexEntry[]): Promise<void> {
    const ops: FtsOp[] = entries.map((e) => ({ t: "index", num: e.emailNum, doc: e.doc }));
    this.#afterCommit(
      tx,
      ops,
      entries.map((e) => e.accountNum),
    );
  }

  async copy(tx: SqlExecutor, accountNum: number, fromEmailNum: number, toEmailNum: number): Promise<void> {
    this.#afterCommit(tx, [{ t: "copy", from: fromEmailNum, to: toEmailNum }], [accountNum]);
  }

  async remove(tx: SqlExecutor, emailNums: number[]): Promise<void> {
    // No account waits for a removal: a query never returns an email that is gone (it selects
    // from emails, whose numbers are never reused).
    if (emailNums.length > 0) this.#afterCommit(tx, [{ t: "remove", nums: [...emailNums] }], [NO_ACCOUNT]);
  }

  async search(
    db: SqlExecutor,
    accountNum: number,
    query: SearchQuery,
    opts: SearchIndexOptions,
  ): Promise<SearchHitRow[]> {
    if (!usesTextIndex(query)) return runSearch(sqliteFlavor, db, accountNum, query, opts);
    await this.#settledFor(accountNum, usesBodyIndex(query));
    // On the query thread, which sees what is committed as the store's reader (`db`) does;
    // on the reader while the thread starts, or if it failed (not the statement).
    const { sql, params } = compileSearch(sqliteFlavor, accountNum, query, opts);
    type Row = { email_num: number; email_id: string; uid?: number };
    let rows: Row[] | null = null;
    try {
      rows = await this.#queries.tryAll<Row>(sql, params);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith("search query thread")) throw e;
    }
    return toHits(rows ?? (await db.all<Row>(sql, params)));
  }

  /**
   * Emails that have no index entry (lost in a crash, or stored before this index). Also
   * removes the rows of emails that are gone, whose removal a crash lost (it was in flight to
   * the worker): no query returns them, but they take room and merge time. Their ids are read
   * from the header table's small docsize rows (FTS5's own shadow table), not its text.
   */
  async missing(db: SqlExecutor): Promise<number[]> {
    await this.settled();
    const orphans = await db.all<{ id: number }>(
      "SELECT id FROM fts.search_fts_docsize WHERE id NOT IN (SELECT num FROM emails)",
    );
    if (orphans.length > 0 && !this.#dead) {
      this.#logger?.info({ emails: orphans.length }, "removing search index rows of emails that are gone");
      const batch: FtsBatch = { seq: ++this.#posted, ops: [{ t: "remove", nums: orphans.map((o) => o.id) }] };
      this.#worker.postMessage(batch);
    }
    const rows = await db.all<{ num: number }>(
      "SELECT num FROM emails WHERE num NOT IN (SELECT rowid FROM fts.search_body) ORDER BY num",
    );
    return rows.map((r) => r.num);
  }

  /** Resolves once every operation committed so far is applied. */
  settled(): Promise<void> {
    this.#post();
    return this.#waitFor(this.#posted, true);
  }

  /**
   * Resolves once the operations committed so far for this account are applied (a search of
   * one account does not wait for another's deliveries to be indexed): its held operations
   * are posted at once, ahead of the other accounts' (which stay held, in their order; each
   * account's own operations keep theirs), and the wait ends with the batch of its last one.
   */
  #settledFor(accountNum: number, bodies: boolean): Promise<void> {
    if (this.#bufferAccounts.has(accountNum)) this.#postAccount(accountNum);
    return this.#waitFor(this.#accountBatch.get(accountNum) ?? 0, bodies);
  }

  #postAccount(accountNum: number): void {
    if (this.#dead) return;
    const mine: FtsOp[] = [];
    const rest: FtsOp[] = [];
    const restAccounts: number[] = [];
    for (let i = 0; i < this.#buffer.length; i++) {
      const op = this.#buffer[i]!;
      const a = this.#bufferOpAccounts[i]!;
      if (a === accountNum) {
        mine.push(op);
        this.#bufferChars -= opChars(op);
      } else {
        rest.push(op);
        restAccounts.push(a);
      }
    }
    this.#buffer = rest;
    this.#bufferOpAccounts = restAccounts;
    this.#bufferAccounts.delete(accountNum);
    const batch: FtsBatch = { seq: ++this.#posted, ops: mine };
    this.#accountBatch.set(accountNum, batch.seq);
    this.#worker.postMessage(batch);
  }

  /** Resolves once batch `seq` is applied: its header rows, or with `bodies` every row. */
  #waitFor(seq: number, bodies: boolean): Promise<void> {
    if ((bodies ? this.#done : this.#headersDone) >= seq || this.#dead) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, bodies, resolve }));
  }

  async close(): Promise<void> {
    await this.#queries.close();
    this.#stopHold();
    this.#post();
    if (!this.#dead) {
      this.#worker.ref();
      this.#worker.postMessage("stop");
    }
    await this.#exited;
    this.#release(Number.MAX_SAFE_INTEGER);
  }

  /** `accounts`: the account of each operation (NO_ACCOUNT for removals, which none waits for). */
  #afterCommit(tx: SqlExecutor, ops: FtsOp[], accounts: readonly number[]): void {
    if (!tx.onCommit) throw new Error("the deferred search index needs a transaction with onCommit");
    tx.onCommit(() => {
      // Operations of the transactions committed in one turn of the event loop go together.
      if (this.#buffer.length === 0 && this.#holdTimer === undefined) queueMicrotask(() => this.#offer());
      for (const [i, op] of ops.entries()) {
        const a = accounts[i] ?? NO_ACCOUNT;
        if (op.t === "remove") {
          this.#bufferRemoveOps.push(op);
          for (const n of op.nums) this.#bufferRemovals.add(n);
        } else if (op.t === "index" && this.#bufferRemovals.has(op.num)) this.#cancelRemoval(op.num);
        this.#buffer.push(op);
        this.#bufferOpAccounts.push(a);
        this.#bufferChars += opChars(op);
        if (a !== NO_ACCOUNT) this.#bufferAccounts.add(a);
      }
    });
  }

  /**
   * An email indexed again (a reindex removes its rows, then indexes it) is no longer to be
   * removed: its index operation replaces the old rows (fts-worker.ts). The removal, which no
   * search waits for, can stay in the buffer after a search posted the index operation of its
   * account (#postAccount): sent later, it would delete the new rows.
   */
  #cancelRemoval(num: number): void {
    this.#bufferRemovals.delete(num);
    for (const op of this.#bufferRemoveOps) op.nums = op.nums.filter((n) => n !== num);
  }

  /** Posts the buffer unless the event loop is busy (see the file comment); else holds it. */
  #offer(): void {
    if (this.#buffer.length === 0) return this.#stopHold();
    const full = this.#buffer.length >= HOLD_MAX_OPS || this.#bufferChars >= HOLD_MAX_CHARS;
    if (full || this.#utilization() < HOLD_UTILIZATION) this.#post();
    if (this.#buffer.length === 0) return this.#stopHold();
    if (this.#holdTimer === undefined) {
      this.#holdTimer = setInterval(() => this.#offer(), HOLD_CHECK_MS);
      this.#holdTimer.unref();
    }
  }

  /** The event loop's utilization over the last 10-100 ms (0 before the first look). */
  #utilization(): number {
    const now = performance.eventLoopUtilization();
    const t = performance.now();
    if (this.#elu === undefined) {
      this.#elu = { at: t, elu: now };
      return this.#lastUtilization;
    }
    if (t - this.#elu.at >= 10)
      this.#lastUtilization = performance.eventLoopUtilization(now, this.#elu.elu).utilization;
    if (t - this.#elu.at >= 100) this.#elu = { at: t, elu: now };
    return this.#lastUtilization;
  }

  #stopHold(): void {
    if (this.#holdTimer !== undefined) clearInterval(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  #post(): void {
    if (this.#buffer.length === 0 || this.#dead) return;
    const batch: FtsBatch = { seq: ++this.#posted, ops: this.#buffer };
    this.#buffer = [];
    this.#bufferOpAccounts = [];
    this.#bufferChars = 0;
    this.#bufferRemoveOps = [];
    this.#bufferRemovals.clear();
    for (const a of this.#bufferAccounts) this.#accountBatch.set(a, batch.seq);
    this.#bufferAccounts.clear();
    this.#worker.postMessage(batch);
  }

  /** Takes what the threads have answered since the last look (FtsDone, query rows). */
  #poll(): void {
    if (this.#waiters.length > 0)
      for (
        let m = receiveMessageOnPort(this.#donePort);
        m !== undefined;
        m = receiveMessageOnPort(this.#donePort)
      )
        this.#onDone(m.message as FtsDone);
    this.#queries.poll();
  }

  #onDone(m: FtsDone): void {
    if (m.error)
      this.#logger?.error({ error: m.error }, "search index update failed; reindexed at next open");
    this.#release(m.done, m.headers);
  }

  #release(done: number, headers = done): void {
    this.#done = Math.max(this.#done, done);
    this.#headersDone = Math.max(this.#headersDone, headers, this.#done);
    // bounded by the accounts with operations in flight
    for (const [a, seq] of this.#accountBatch) if (seq <= this.#done) this.#accountBatch.delete(a);
    const isReady = (w: { seq: number; bodies: boolean }): boolean =>
      w.seq <= (w.bodies ? this.#done : this.#headersDone);
    const ready = this.#waiters.filter(isReady);
    this.#waiters = this.#waiters.filter((w) => !isReady(w));
    for (const w of ready) w.resolve();
  }
}
