// The SQL seam between the store's mail semantics (written once, in src/store/) and the
// backends (src/store/backends/sqlite, src/store/backends/postgres). Store code writes
// portable SQL with `?` placeholders; the PostgreSQL driver rewrites them to $1..$n, so SQL
// text must never contain a literal `?` (pass values as parameters instead).
//
// Integers: every driver returns BIGINT columns as JS numbers (ids, UIDs, modseqs and sizes
// stay below 2^53). Binary columns come back as Buffer.

export type SqlValue = string | number | bigint | Buffer | null;
export type SqlRow = Record<string, SqlValue>;

export type Dialect = "sqlite" | "postgres";

export interface RunResult {
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  changes: number;
}

/** Statements against one connection (a transaction or the read pool). */
export interface SqlExecutor {
  readonly dialect: Dialect;
  all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /**
   * Only on a transaction's executor: runs `fn` once the transaction has committed (and is
   * durable), before TransactionOptions.afterCommit, in registration order; dropped when the
   * transaction rolls back. `fn` must not throw.
   */
  onCommit?(fn: () => void): void;
}

export interface TransactionOptions {
  /**
   * Called synchronously right after COMMIT succeeded, before the driver starts the next
   * transaction it serializes; the store publishes its ChangeEvent here so events go out in
   * commit order. Not called on rollback. (A driver that ignores it still works: the store
   * then publishes when transaction() resolves.)
   */
  afterCommit?: () => void;
  /**
   * Called synchronously right after COMMIT succeeded, before it is durable (SQLite syncs
   * the WAL afterwards) and before the next transaction may start: a writer can form its next
   * batch while this one syncs. Where COMMIT is durable when it returns (PostgreSQL), the
   * same moment as afterCommit.
   */
  committed?: () => void;
  /**
   * false: resolve once COMMIT returned (the change is visible to every reader), without
   * waiting until it is on disk; afterCommit still runs only when it is durable. For changes
   * nobody was promised (an IMAP flag change: Dovecot does not fsync those either); never for
   * anything acknowledged as stored. Where COMMIT is durable when it returns (PostgreSQL),
   * no difference. Default true.
   */
  waitDurable?: boolean;
}

export interface SqlDriver extends SqlExecutor {
  /**
   * Runs `fn` in one write transaction and commits when it resolves (rolls back when it
   * throws). Write transactions are serialized per database on SQLite (one writer
   * connection behind a mutex, BEGIN IMMEDIATE) and per account on PostgreSQL (the store
   * locks the account row with SELECT ... FOR UPDATE, see `lockAccount` in the store).
   * Reads made through the driver itself (not `tx`) never see uncommitted writes.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** Runs DDL (several statements separated by `;`). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /**
   * A transaction with waitDurable false may resolve before its commit is on disk (SQLite
   * with WAL syncs): a power failure can take back such commits after they were answered.
   * Absent or false where every COMMIT is durable when it returns (PostgreSQL).
   */
  readonly answersBeforeSync?: boolean;
}
