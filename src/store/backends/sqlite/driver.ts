// The SQLite backend of the SQL seam (src/store/sql.ts) on better-sqlite3.
//
// Two connections to one WAL database file:
// - the writer, used only inside transaction() (BEGIN IMMEDIATE) and exec(); since the
//   transaction body is async, writers are serialized by an in-process mutex, and between
//   processes (the CLI opening the file while a server runs) by SQLite's own write lock
//   with busy_timeout;
// - the reader, for statements made on the driver itself while a transaction is open or
//   waiting (in WAL mode it sees only committed data, so reads never observe a transaction in
//   progress) and for the files attached to it; between transactions the writer serves reads,
//   as its page cache survives its own commits where the reader's does not (see #conn).
//
// Durability ("FULL", the default): a transaction() resolves only once its COMMIT is on
// disk, so 250 OK / APPEND OK follow a durable write. SQLite's own synchronous=FULL would
// fsync the WAL inside COMMIT, on the event loop, one fsync per transaction. Instead the
// writer runs with synchronous=NORMAL (COMMIT only write()s the WAL frames) and the driver
// fdatasyncs the WAL file itself (WalSync below), from a thread that tells the completion
// through shared memory (sync-thread.ts): one fdatasync
// started after a COMMIT makes that COMMIT and every earlier one durable, so the commits
// of all sessions and accounts made while a sync runs share the next one (group commit),
// and the write mutex is released at COMMIT, not after the sync. The change events of a
// transaction (afterCommit) go out after its sync, in commit order, so no session is told
// of a write that could still vanish. Checkpoints (NORMAL syncs the WAL before copying it
// and the database after) keep everything that was synced.
// "NORMAL" skips the WAL sync (may lose the last commits on power loss, never corrupting
// the file); for tests and benchmarks that measure something else.
//
// better-sqlite3 is pinned at 13.0.3 (SQLite 3.53.4). In SQLite 3.54 the planner marks every
// `col = ?` of a join or an ORDER BY as plan-relevant, and sqlite3_clear_bindings, which
// better-sqlite3 calls after each run, then expires the statement: each run of a cached
// statement with a join parsed and planned it again (4-8 us instead of 0.5 us inside a
// transaction; 7% of the event loop on the IMAP mixed load). Lift the pin for a release
// whose SQLite no longer re-prepares `SELECT b.num FROM mailboxes b JOIN accounts a ON
// a.num = b.account_num WHERE b.id = ?` on every run.
import Database from "better-sqlite3";
import { Checkpointer, DEFAULT_RESTART_BYTES } from "./checkpointer.ts";
import { SyncThread } from "./sync-thread.ts";
import type {
  Dialect,
  RunResult,
  SqlDriver,
  SqlExecutor,
  SqlRow,
  SqlValue,
  TransactionOptions,
} from "../../sql.ts";

export interface SqliteOptions {
  /** Milliseconds to wait for another process's lock before SQLITE_BUSY. Default 10000. */
  busyTimeoutMs?: number;
  /** Default "FULL" (see the file comment). */
  synchronous?: "FULL" | "NORMAL";
  /**
   * Where WAL checkpoints run: "worker" (default for database files) a worker thread of
   * its own (see checkpointer.ts), "inline" SQLite's auto-checkpoint inside COMMIT.
   */
  checkpoints?: "worker" | "inline";
  /** Prepared statements kept per connection. Default 500. */
  statementCacheSize?: number;
  /** WAL content past which it is restarted (checkpointer.ts); for tests. */
  walRestartBytes?: number;
}

type Stmt = Database.Statement<unknown[], unknown>;

/** A connection with a bounded cache of prepared statements (least recently used evicted). */
class Connection implements SqlExecutor {
  readonly dialect: Dialect = "sqlite";
  readonly db: Database.Database;
  readonly #cache = new Map<string, Stmt>();
  readonly #max: number;

  constructor(db: Database.Database, max: number) {
    this.db = db;
    this.#max = max;
  }

  prepare(sql: string): Stmt {
    let st = this.#cache.get(sql);
    if (st) {
      // Refresh its place in the LRU order.
      this.#cache.delete(sql);
      this.#cache.set(sql, st);
      return st;
    }
    st = this.db.prepare(sql);
    this.#cache.set(sql, st);
    if (this.#cache.size > this.#max) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return st;
  }

  allSync<T>(sql: string, params: readonly SqlValue[]): T[] {
    const st = this.prepare(sql);
    if (!st.reader) {
      st.run(...params);
      return [];
    }
    return st.all(...params) as T[];
  }

  async all<T extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.allSync<T>(sql, params);
  }

  async get<T extends object = SqlRow>(
    sql: string,
    params: readonly SqlValue[] = [],
  ): Promise<T | undefined> {
    const st = this.prepare(sql);
    if (!st.reader) {
      st.run(...params);
      return undefined;
    }
    return st.get(...params) as T | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    const st = this.prepare(sql);
    if (st.reader) {
      // A statement with RETURNING yields one row per changed row.
      return { changes: st.all(...params).length };
    }
    const r = st.run(...params);
    return { changes: r.changes };
  }
}

/** The executor handed to a transaction body; refuses use after the transaction ended. */
class TxExecutor implements SqlExecutor {
  readonly dialect: Dialect = "sqlite";
  readonly #conn: Connection;
  readonly hooks: Array<() => void> = [];
  open = true;
  constructor(conn: Connection) {
    this.#conn = conn;
  }
  #check(): void {
    if (!this.open) throw new Error("transaction executor used after the transaction ended");
  }
  onCommit(fn: () => void): void {
    this.#check();
    this.hooks.push(fn);
  }
  async all<T extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.#check();
    return this.#conn.all<T>(sql, params);
  }
  async get<T extends object = SqlRow>(
    sql: string,
    params: readonly SqlValue[] = [],
  ): Promise<T | undefined> {
    this.#check();
    return this.#conn.get<T>(sql, params);
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    this.#check();
    return this.#conn.run(sql, params);
  }
}

/** A commit waiting to be durable. */
interface SyncWaiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  onDurable?: (() => void) | undefined;
}

/**
 * fdatasyncs of the WAL file that may run at once (see WalSync). A commit waits for the next
 * free slot, then its own sync: about (1 + 1/N) syncs. IMAP mixed load, 2 runs each: APPEND
 * mean 6.03 / 6.11 ms with 2, 5.82 / 5.48 with 3, 5.83 / 5.26 with 4; EXPUNGE 5.16 / 5.22,
 * 4.90 / 4.72, 4.86 / 4.41.
 */
const MAX_SYNCS = 4;

/**
 * Commits not yet on disk past which a transaction with waitDurable false waits for its sync
 * all the same: what a power failure can take back stays bounded (see store/modseq-gap.ts).
 */
export const MAX_UNSYNCED_COMMITS = 10_000;

/**
 * Makes COMMITs durable by fdatasync of the WAL file, batched: sync() waits for a sync that
 * started after the call, and calls `onDurable` callbacks in call order when it completes.
 *
 * A commit made while a sync runs needs a sync that starts after it. Rather than wait for the
 * running one to finish first (1.5 syncs of latency on average, 2 at worst), a second one
 * starts at once, up to MAX_SYNCS running; the commits made meanwhile wait for the next free
 * slot. Any sync that completes makes durable every commit made before it started, so it
 * settles, in order, the commits of every sync started before it as well as its own.
 */
export class WalSync {
  readonly #path: string;
  readonly #syncFile: () => Promise<void>;
  /** Runs the syncs unless `syncFile` was given; started at the first one. */
  #thread: SyncThread | undefined;
  /** Commits not yet covered by a running sync, in commit order. */
  #waiting: SyncWaiter[] = [];
  /** Running syncs in start order, each with the commits it was started for. */
  #running: { id: number; waiters: SyncWaiter[] }[] = [];
  readonly #maxSyncs: number;
  #started = 0;
  #inFlight = 0;
  /** Commits whose sync has not completed yet. */
  #unsynced = 0;
  commits = 0;
  syncs = 0;

  /** `syncFile` replaces the fdatasync of the WAL file, `maxSyncs` MAX_SYNCS (tests of the ordering). */
  constructor(walPath: string, syncFile?: () => Promise<void>, maxSyncs = MAX_SYNCS) {
    this.#path = walPath;
    this.#syncFile = syncFile ?? (() => (this.#thread ??= new SyncThread(this.#path)).sync());
    this.#maxSyncs = maxSyncs;
  }

  /** Commits made that are not on disk yet. */
  get unsynced(): number {
    return this.#unsynced;
  }

  sync(onDurable?: () => void): Promise<void> {
    this.commits++;
    this.#unsynced++;
    const p = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject, onDurable }));
    this.#start();
    return p;
  }

  #start(): void {
    if (this.#waiting.length === 0 || this.#inFlight >= this.#maxSyncs) return;
    const run = { id: ++this.#started, waiters: this.#waiting };
    this.#waiting = [];
    this.#running.push(run);
    this.#inFlight++;
    void this.#syncFile().then(
      () => this.#done(run.id, null),
      (e: unknown) => this.#done(run.id, e),
    );
  }

  /** Settles the commits whose sync has ended since the last look (see sync-thread.ts). */
  poll(): void {
    this.#thread?.poll();
  }

  #done(id: number, error: unknown): void {
    this.#inFlight--;
    if (error === null) {
      this.syncs++;
      // Every sync started before this one is covered too: settle them all, in order.
      while (this.#running.length > 0 && (this.#running[0]?.id ?? Infinity) <= id) {
        const run = this.#running.shift();
        this.#unsynced -= run?.waiters.length ?? 0;
        for (const w of run?.waiters ?? []) {
          try {
            w.onDurable?.();
            w.resolve();
          } catch (e) {
            // The commit is durable; the caller learns that its after-commit work failed.
            w.reject(e);
          }
        }
      }
    } else {
      // Only this sync's own commits fail: an earlier sync still running may cover its own.
      const i = this.#running.findIndex((r) => r.id === id);
      const failed = i >= 0 ? (this.#running.splice(i, 1)[0]?.waiters ?? []) : [];
      this.#unsynced -= failed.length;
      for (const w of failed) w.reject(error);
    }
    this.#start();
  }

  async close(): Promise<void> {
    while (this.#inFlight > 0 || this.#waiting.length > 0) await new Promise((r) => setImmediate(r));
    await this.#thread?.close();
    this.#thread = undefined;
  }
}

/** A FIFO async mutex: `fn` bodies run one at a time, in call order. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  /** Holders and waiters. */
  #count = 0;
  /** Whether someone holds it or waits for it. */
  get busy(): boolean {
    return this.#count > 0;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => (release = r));
    this.#count++;
    try {
      await prev;
      return await fn();
    } finally {
      this.#count--;
      release();
    }
  }
}

function openConnection(path: string, opts: SqliteOptions, role: "writer" | "reader"): Connection {
  // The writer's setup may wait for another process opening the file at the same moment.
  const db = new Database(path, { timeout: role === "writer" ? 1000 : (opts.busyTimeoutMs ?? 10_000) });
  // WAL: readers and the writer do not block each other; the mode is persistent in the file.
  if (role === "writer") {
    db.pragma("journal_mode = WAL");
    // After a checkpoint the WAL is reused from its start; cap the size it keeps on disk. Above
    // what it reaches before a RESTART (checkpointer.ts): the truncation at each reset freed
    // the page cache of the rest of the file inside the next COMMIT, on the event loop (80 ms
    // for a WAL of 256 MB cut to 64 MB).
    db.pragma(`journal_size_limit = ${2 * DEFAULT_RESTART_BYTES}`);
  }
  // FULL durability is WalSync's fdatasync after COMMIT (see the file comment).
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  if (role === "reader") db.pragma("query_only = ON");
  // The writer reads the database file through a memory map instead of read() calls: a 28 KB
  // message blob costs about half the CPU (measured 40 -> 20 us); pages still in the WAL are
  // read from it as before. It serves the reads between transactions (see #conn) and keeps its
  // page cache and its map across its own commits. The reader maps nothing: a connection that
  // finds the database changed by another since its last read drops its page cache and unmaps
  // the whole map (SQLite's pager), and the reader reads after the writer's commits, so each
  // of its reads paid an munmap, an mmap and a page fault per page touched (a point read right
  // after a commit: 180-255 us mapped, 30 us with read() calls, on this VM).
  if (role === "writer") db.pragma("mmap_size = 268435456");
  // Then the writer never waits inside SQLite: a wait there is a sleep of the event loop. The
  // write lock is waited for in #begin, asynchronously; a read between transactions that
  // meets a lock goes to the reader (#read). The lock is held by another process's writer or
  // by a RESTART checkpoint (checkpointer.ts): with a 100 ms wait here, each RESTART stalled
  // every session for its whole duration (64-77 ms every 3 s on the IMAP mixed load).
  if (role === "writer") db.pragma("busy_timeout = 0");
  return new Connection(db, opts.statementCacheSize ?? 500);
}

class SqliteDriver implements SqlDriver {
  readonly dialect: Dialect = "sqlite";
  readonly #writer: Connection;
  readonly #reader: Connection;
  readonly #mutex = new Mutex();
  readonly #busyTimeoutMs: number;
  readonly #walSync: WalSync | undefined;
  readonly #polls: Array<() => void> = [];
  readonly #checkpointInWorker: boolean;
  /** Schemas attached to the reader only; statements naming them always run there. */
  readonly #attached: string[] = [];
  readonly #readerOnly = new Map<string, boolean>();
  #checkpointer: Checkpointer | undefined;
  #restarting = false;
  readonly #walRestartBytes: number | undefined;
  #closed = false;
  readonly answersBeforeSync: boolean;

  constructor(path: string, opts: SqliteOptions) {
    this.#busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
    this.#walRestartBytes = opts.walRestartBytes;
    this.#writer = openConnection(path, opts, "writer");
    const memory = path === ":memory:" || path === "";
    // ":memory:" databases are private to a connection: read through the writer then.
    this.#reader = memory ? this.#writer : openConnection(path, opts, "reader");
    const file = this.#writer.db.name;
    this.#walSync = memory || opts.synchronous === "NORMAL" ? undefined : new WalSync(`${file}-wal`);
    this.answersBeforeSync = this.#walSync !== undefined;
    this.#checkpointInWorker = !memory && (opts.checkpoints ?? "worker") === "worker";
    if (this.#checkpointInWorker) this.#writer.db.pragma("wal_autocheckpoint = 0");
  }

  /**
   * ATTACHes a database file to the reader connection (reads outside transactions), e.g. the
   * search index's own file. Writes never see it: the writer takes no lock on that file.
   */
  attachToReader(path: string, schema: string): void {
    if (this.#reader === this.#writer) throw new Error("an in-memory database has no separate reader");
    this.#reader.prepare(`ATTACH DATABASE ? AS ${schema}`).run(path);
    this.#attached.push(schema);
    this.#readerOnly.clear();
  }

  /** Commits made, WAL syncs run (commits / syncs is the group-commit factor), commits not on disk yet. */
  stats(): { commits: number; syncs: number; unsynced: number } {
    const w = this.#walSync;
    return { commits: w?.commits ?? 0, syncs: w?.syncs ?? 0, unsynced: w?.unsynced ?? 0 };
  }

  /**
   * The connection a read outside transaction() runs on. In WAL mode a connection drops its
   * whole page cache when it starts reading after another connection has committed, so the
   * reader re-reads every page it touches after each write of the writer (a FETCH BODY[] that
   * follows its own \Seen commit read the mailbox rows and the message again from the WAL
   * and the map: 4x the CPU of a BODY.PEEK[]). The writer keeps its cache across its own
   * commits, so while no transaction is open or waiting (the mutex is free: a read can't see
   * uncommitted data) reads go to the writer; otherwise, and for the files attached to the
   * reader only, to the reader.
   */
  #conn(sql: string): Connection {
    if (this.#mutex.busy || this.#reader === this.#writer) return this.#reader;
    let onReader = this.#readerOnly.get(sql);
    if (onReader === undefined) {
      // A statement the writer cannot compile (it names a table of a file attached to the
      // reader only) or that writes (the reader refuses it, as before) stays on the reader.
      try {
        onReader =
          this.#attached.some((schema) => sql.includes(`${schema}.`)) || !this.#writer.prepare(sql).readonly;
      } catch {
        onReader = true;
      }
      if (this.#readerOnly.size >= 2000) this.#readerOnly.clear();
      this.#readerOnly.set(sql, onReader);
    }
    return onReader ? this.#reader : this.#writer;
  }

  /** Runs a read on the connection #conn picks. */
  /** Has `fn` run before each statement: threads whose answers are read then (see #poll). */
  addPoll(fn: () => void): void {
    this.#polls.push(fn);
  }

  /**
   * Takes what the store's threads have finished since the last look: WAL syncs
   * (sync-thread.ts), the search index's progress and query rows. Run before each statement:
   * on a busy event loop that comes sooner than the loop's next poll phase.
   */
  #poll(): void {
    this.#walSync?.poll();
    for (const fn of this.#polls) fn();
  }

  async #read<R>(sql: string, read: (c: Connection) => Promise<R>): Promise<R> {
    this.#poll();
    const c = this.#conn(sql);
    try {
      return await read(c);
    } catch (e) {
      // The writer waits 100 ms for a lock; the reader, made for waiting, takes it over.
      if (c === this.#reader || (e as { code?: string }).code !== "SQLITE_BUSY") throw e;
      return read(this.#reader);
    }
  }

  async all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#read(sql, (c) => c.all<T>(sql, params));
  }
  async get<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.#read(sql, (c) => c.get<T>(sql, params));
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    // A write outside transaction(): run it as its own transaction on the writer.
    return this.transaction((tx) => tx.run(sql, params));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    if (this.#closed) throw new Error("database closed");
    this.#poll();
    let durable: Promise<void> | undefined;
    const result = await this.#mutex.run(async () => {
      const w = this.#writer;
      await this.#begin();
      const tx = new TxExecutor(w);
      try {
        const result = await fn(tx);
        tx.open = false;
        w.prepare("COMMIT").run();
        opts?.committed?.();
        // Started at the first commit: a driver that only reads needs no thread.
        if (this.#checkpointInWorker)
          this.#checkpointer ??= new Checkpointer(w.db.name, {
            onRestartWanted: () => this.#restartWal(),
            ...(this.#walRestartBytes !== undefined ? { restartBytes: this.#walRestartBytes } : {}),
          });
        const committed = (): void => {
          for (const h of tx.hooks) h();
          opts?.afterCommit?.();
        };
        // The mutex is released now; the next transaction runs while this one syncs.
        if (this.#walSync) durable = this.#walSync.sync(committed);
        else committed();
        return result;
      } catch (e) {
        tx.open = false;
        if (w.db.inTransaction) w.prepare("ROLLBACK").run();
        throw e;
      }
    });
    if (durable) {
      // A failed sync also fails every later commit's wait, which reports it.
      if (opts?.waitDurable === false && (this.#walSync?.unsynced ?? 0) <= MAX_UNSYNCED_COMMITS)
        durable.catch(() => undefined);
      else await durable;
    }
    return result;
  }

  /**
   * Lets the checkpoint thread run a RESTART checkpoint with no transaction of ours open or
   * starting: it holds the write mutex meanwhile, so the writes wait here for the copy alone
   * (see checkpointer.ts), and reads go to the reader.
   */
  #restartWal(): void {
    if (this.#closed || this.#restarting) return;
    this.#restarting = true;
    void this.#mutex
      .run(async () => {
        if (!this.#closed) await this.#checkpointer?.restart();
      })
      .finally(() => (this.#restarting = false));
  }

  /**
   * BEGIN IMMEDIATE takes the write lock now, so the body never fails half-way with
   * SQLITE_BUSY on its first write. While another connection (another process, or another
   * driver on the same file) holds the lock, we wait asynchronously with backoff instead of
   * blocking the event loop in busy_timeout: the holder may be this very process.
   */
  async #begin(): Promise<void> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    // Locks are held for milliseconds (a transaction, a checkpoint's end): short retries.
    for (let delay = 1; ; delay = Math.min(delay * 2, 8)) {
      try {
        this.#writer.prepare("BEGIN IMMEDIATE").run();
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async exec(sql: string): Promise<void> {
    await this.#mutex.run(async () => {
      await this.#begin();
      try {
        this.#writer.db.exec(sql);
        this.#writer.prepare("COMMIT").run();
      } catch (e) {
        if (this.#writer.db.inTransaction) this.#writer.prepare("ROLLBACK").run();
        throw e;
      }
    });
    await this.#walSync?.sync();
  }

  /** Runs a WAL checkpoint (TRUNCATE) on the writer; for maintenance and tests. */
  async checkpoint(): Promise<void> {
    await this.#mutex.run(async () => {
      // maintenance: it may wait for the checkpoint thread (the event loop waits too)
      this.#writer.db.pragma("busy_timeout = 5000");
      try {
        this.#writer.db.pragma("wal_checkpoint(TRUNCATE)");
      } finally {
        this.#writer.db.pragma("busy_timeout = 0");
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.run(async () => {
      await this.#checkpointer?.close();
      await this.#walSync?.close();
      if (this.#reader !== this.#writer) this.#reader.db.close();
      this.#writer.db.close();
    });
  }
}

export type SqliteDriverHandle = SqlDriver & {
  checkpoint(): Promise<void>;
  stats(): { commits: number; syncs: number; unsynced: number };
  attachToReader(path: string, schema: string): void;
  addPoll(fn: () => void): void;
};

/** Opens (creating if needed) the SQLite database at `path`. */
export function openSqlite(path: string, opts: SqliteOptions = {}): SqliteDriverHandle {
  return new SqliteDriver(path, opts);
}
