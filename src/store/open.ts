// Opens the configured store: the SQL driver (SQLite file or PostgreSQL), the blob store
// (files or database), the change bus and the backend's search index.
// The PostgreSQL driver and the search indexes are loaded dynamically: a deployment on
// SQLite never loads `pg`, and the store still opens while an index is not built.
import { join } from "node:path";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { openSqlite } from "./backends/sqlite/driver.ts";
import { DbBlobStore } from "./blob/db.ts";
import { openFsBlobStore } from "./blob/fs.ts";
import { HybridBlobStore } from "./blob/hybrid.ts";
import { LocalChangeBus } from "./bus/local.ts";
import type { MaintainedMailStore } from "./mail-store.ts";
import { createMailStore } from "./mail-store.ts";
import type { SearchIndex } from "./search-index.ts";
import type { DeferredFtsOptions } from "./search/sqlite-deferred.ts";
import type { Dialect, SqlDriver } from "./sql.ts";
import type { ChangeBus } from "./types.ts";

export interface OpenStoreOptions {
  backend: "sqlite" | "postgres";
  /** The SQLite database file (backend "sqlite"). */
  sqlitePath?: string;
  /** postgres://user@host:port/db (backend "postgres"). */
  postgresUrl?: string;
  /** Work in this PostgreSQL schema (created when missing); tests and benchmarks use their own. */
  postgresSchema?: string;
  /**
   * "auto": blobs up to `inlineBlobMax` in the database (durable with the append's own
   * commit), larger ones as files; "fs": all files; "db": all in the database.
   */
  blobs: "auto" | "fs" | "db";
  /** Largest blob kept in the database with blobs "auto". Default 256 KiB. */
  inlineBlobMax?: number;
  /** Directory of the file blob store; default: "blobs" next to the SQLite file. */
  blobDir?: string;
  /** Default "FULL"; see backends/sqlite/driver.ts. */
  sqliteSynchronous?: "FULL" | "NORMAL";
  /**
   * Publish changes other processes commit to the database, polled every this many ms
   * (off by default; a server on SQLite turns it on so CLI writes reach IDLE clients).
   */
  watchExternalChangesMs?: number;
  /** This process is the server (see MailStoreOptions.server). */
  server?: boolean;
  /** Defaults to an in-process LocalChangeBus. */
  bus?: ChangeBus;
  /**
   * "backend" or true (default): the backend's index (src/store/search/) when present, else
   * the built-in scan; "scan" or false: the built-in scanning search.
   */
  search?: "backend" | "scan" | boolean;
  clock: Clock;
  logger: Logger;
}

interface PostgresModule {
  openPostgres(url: string, opts: { logger?: Logger; schema?: string }): Promise<SqlDriver>;
}

interface SearchModule {
  createSearchIndex(dialect: Dialect, sqlite?: DeferredFtsOptions): SearchIndex;
}

function isMissingModule(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND";
}

async function loadSearch(
  dialect: Dialect,
  logger: Logger,
  sqlite?: DeferredFtsOptions,
): Promise<SearchIndex | undefined> {
  try {
    const mod = (await import("./search/index.ts")) as Partial<SearchModule>;
    if (typeof mod.createSearchIndex === "function") return mod.createSearchIndex(dialect, sqlite);
  } catch (e) {
    if (!isMissingModule(e)) throw e;
  }
  logger.warn("no backend search index: using the built-in scanning search");
  return undefined;
}

export async function openStore(opts: OpenStoreOptions): Promise<MaintainedMailStore> {
  let driver: SqlDriver;
  let deferred: DeferredFtsOptions | undefined;
  if (opts.backend === "sqlite") {
    if (!opts.sqlitePath) throw new Error("store: sqlitePath is required for the sqlite backend");
    const sqlite = openSqlite(
      opts.sqlitePath,
      opts.sqliteSynchronous ? { synchronous: opts.sqliteSynchronous } : {},
    );
    driver = sqlite;
    if (opts.sqlitePath !== ":memory:" && opts.sqlitePath !== "")
      deferred = { databasePath: opts.sqlitePath, driver: sqlite, logger: opts.logger };
  } else {
    if (!opts.postgresUrl) throw new Error("store: postgresUrl is required for the postgres backend");
    const mod = (await import("./backends/postgres/driver.ts")) as PostgresModule;
    driver = await mod.openPostgres(opts.postgresUrl, {
      logger: opts.logger,
      ...(opts.postgresSchema ? { schema: opts.postgresSchema } : {}),
    });
  }
  try {
    let blobs;
    if (opts.blobs === "db") blobs = new DbBlobStore(driver);
    else {
      const dir = opts.blobDir ?? (opts.sqlitePath ? join(opts.sqlitePath, "..", "blobs") : undefined);
      if (!dir) throw new Error("store: blobDir is required for file blobs");
      const files = await openFsBlobStore(dir);
      blobs =
        opts.blobs === "auto"
          ? new HybridBlobStore(new DbBlobStore(driver), files, opts.inlineBlobMax)
          : files;
    }
    const search =
      opts.search === "scan" || opts.search === false
        ? undefined
        : await loadSearch(driver.dialect, opts.logger, deferred);
    const bus =
      opts.bus ??
      new LocalChangeBus({ onError: (e) => opts.logger.error({ err: e }, "change listener failed") });
    return await createMailStore({
      driver,
      blobs,
      bus,
      ...(search ? { search } : {}),
      clock: opts.clock,
      logger: opts.logger,
      ...(opts.watchExternalChangesMs ? { watchExternalChangesMs: opts.watchExternalChangesMs } : {}),
      ...(opts.server === true ? { server: true } : {}),
    });
  } catch (e) {
    await driver.close();
    throw e;
  }
}
