// The PostgreSQL driver behind the SQL seam (src/store/sql.ts), on node-postgres with a
// connection pool. Reads go to any pooled connection; a write transaction holds one
// connection from BEGIN to COMMIT. The store serializes writers per account itself
// (SELECT ... FOR UPDATE on the account row), so the default READ COMMITTED level suffices;
// serialization failures and deadlocks are still retried, the whole function again.
import pg from "pg";
import type { Logger } from "../../../core/logger.ts";
import type {
  Dialect,
  RunResult,
  SqlDriver,
  SqlExecutor,
  SqlRow,
  SqlValue,
  TransactionOptions,
} from "../../sql.ts";
import { PlaceholderCache } from "./placeholders.ts";

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  logger?: Logger;
  /**
   * Work in this schema (created when missing): every connection gets
   * `search_path=<schema>,public`, so extensions installed in `public` stay visible. Lower-case
   * letters, digits and `_` only. Tests use one schema per test file to run side by side.
   */
  schema?: string;
  /** Drop the schema (CASCADE) on close(); for tests. */
  dropSchemaOnClose?: boolean;
  /** Attempts of a transaction that fails with a serialization failure or deadlock (default 5). */
  maxAttempts?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

// SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
const RETRYABLE = new Set(["40001", "40P01"]);

// Type OIDs (src/include/catalog/pg_type.dat).
const INT8 = 20;
const NUMERIC = 1700;

/**
 * Per-pool result parsers: BIGINT and NUMERIC (counts, sums) as JS numbers, everything else
 * as node-postgres does by default (BYTEA as Buffer). Not installed in the global pg.types,
 * so other users of `pg` in the process are not affected.
 */
const toNumber = (value: string): number => Number(value);
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary"): unknown => {
    if (oid === INT8 || oid === NUMERIC) return toNumber;
    return format === "binary" ? pg.types.getTypeParser(oid, "binary") : pg.types.getTypeParser(oid, "text");
  }) as pg.CustomTypesConfig["getTypeParser"],
};

interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

function toParams(params: readonly SqlValue[] | undefined): unknown[] | undefined {
  if (!params || params.length === 0) return undefined;
  // bigint goes as text: PostgreSQL casts it to the column's integer type.
  return params.map((v) => (typeof v === "bigint" ? v.toString() : v));
}

class PgExecutor implements SqlExecutor {
  readonly dialect: Dialect = "postgres";
  readonly #target: Queryable;
  readonly #cache: PlaceholderCache;

  constructor(target: Queryable, cache: PlaceholderCache) {
    this.#target = target;
    this.#cache = cache;
  }

  async #query(sql: string, params: readonly SqlValue[] | undefined): Promise<pg.QueryResult> {
    const { text, count } = this.#cache.get(sql);
    const n = params?.length ?? 0;
    if (count !== n)
      throw new Error(`SQL has ${count} placeholders but ${n} parameters: ${sql.slice(0, 200)}`);
    return this.#target.query(text, toParams(params));
  }

  async all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    const r = await this.#query(sql, params);
    return r.rows as T[];
  }

  async get<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const r = await this.#query(sql, params);
    return r.rows[0] as T | undefined;
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    const r = await this.#query(sql, params);
    return { changes: r.rowCount ?? 0 };
  }
}

/** A transaction's executor: also collects the onCommit hooks. */
class PgTxExecutor extends PgExecutor {
  readonly hooks: Array<() => void> = [];
  onCommit(fn: () => void): void {
    this.hooks.push(fn);
  }
}

function sqlState(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e)
    return typeof e.code === "string" ? e.code : undefined;
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class PgDriver extends PgExecutor implements SqlDriver {
  readonly #pool: pg.Pool;
  readonly #cache: PlaceholderCache;
  readonly #opts: PostgresOptions;
  #closed = false;

  constructor(pool: pg.Pool, cache: PlaceholderCache, opts: PostgresOptions) {
    super(pool, cache);
    this.#pool = pool;
    this.#cache = cache;
    this.#opts = opts;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, txOpts?: TransactionOptions): Promise<T> {
    const attempts = Math.max(1, this.#opts.maxAttempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(fn);
      if (outcome.ok) {
        // Per account, writers are serialized by the account row lock, so the next writer's
        // COMMIT cannot be answered before this one: events leave in commit order.
        txOpts?.committed?.();
        for (const h of outcome.hooks) h();
        txOpts?.afterCommit?.();
        return outcome.value;
      }
      const state = sqlState(outcome.error);
      if (state === undefined || !RETRYABLE.has(state) || attempt >= attempts) throw outcome.error;
      this.#opts.logger?.debug({ sqlState: state, attempt }, "postgres transaction retried");
      // Jittered exponential backoff: 5-10 ms, 10-20 ms, 20-40 ms, ...
      const base = 5 * 2 ** (attempt - 1);
      await sleep(base + Math.random() * base);
    }
  }

  /** One try: BEGIN, fn, COMMIT; ROLLBACK when anything fails. */
  async #attempt<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
  ): Promise<{ ok: true; value: T; hooks: Array<() => void> } | { ok: false; error: unknown }> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out emits "error" on the client besides failing the
    // query; without a listener that would be an uncaught exception.
    const onError = (err: Error): void => {
      broken = err;
      this.#opts.logger?.warn({ err }, "postgres connection failed in a transaction");
    };
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const tx = new PgTxExecutor(client, this.#cache);
      const value = await fn(tx);
      await client.query("COMMIT");
      return { ok: true, value, hooks: tx.hooks };
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        // The connection is unusable; do not give it back to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      return { ok: false, error };
    } finally {
      client.removeListener("error", onError);
      client.release(broken);
    }
  }

  async exec(sql: string): Promise<void> {
    // No parameters: the simple query protocol runs several statements at once.
    await this.#pool.query(sql);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const schema = this.#opts.schema;
    try {
      if (schema && this.#opts.dropSchemaOnClose)
        await this.#pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await this.#pool.end();
    }
  }
}

/**
 * Opens a pool on `url` (a libpq connection URI, e.g. "postgres://user@127.0.0.1:5432/db")
 * and checks that the server answers.
 */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<SqlDriver> {
  const schema = opts.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const config: pg.PoolConfig = {
    connectionString: url,
    max: opts.poolSize ?? 10,
    types: TYPES,
    idleTimeoutMillis: 30_000,
  };
  if (schema) config.options = `-c search_path=${schema},public`;
  const pool = new pg.Pool(config);
  // An idle connection that dies (server restart) must not crash the process.
  pool.on("error", (err) => opts.logger?.warn({ err }, "postgres idle connection failed"));
  try {
    if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    else await pool.query("SELECT 1");
  } catch (e) {
    await pool.end();
    throw e;
  }
  return new PgDriver(pool, new PlaceholderCache(), opts);
}

/** A random schema name for tests ("t_" + 16 hex digits). */
export function randomSchemaName(prefix = "t"): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `${prefix}_${Buffer.from(bytes).toString("hex")}`;
}
