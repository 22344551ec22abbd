// The search index for each backend (the SearchIndex seam, src/store/search-index.ts):
// FTS5 trigram on SQLite, pg_trgm on PostgreSQL. Both give IMAP's case-insensitive
// substring semantics (RFC 9051 §6.4.4) and evaluate the whole query in one statement.
import type { Dialect } from "../sql.ts";
import type { SearchIndex } from "../search-index.ts";
import { createPostgresSearchIndex } from "./postgres.ts";
import { createSqliteSearchIndex } from "./sqlite.ts";
import { DeferredFtsIndex, type DeferredFtsOptions } from "./sqlite-deferred.ts";

/**
 * PostgreSQL: pg_trgm, written in the store's transactions. SQLite with a database file
 * (`sqlite` given): the FTS5 index in a file of its own, written by a worker thread after
 * commit (sqlite-deferred.ts); an in-memory SQLite database: FTS5 in its transactions.
 */
export function createSearchIndex(dialect: Dialect, sqlite?: DeferredFtsOptions): SearchIndex {
  if (dialect === "postgres") return createPostgresSearchIndex();
  return sqlite ? new DeferredFtsIndex(sqlite) : createSqliteSearchIndex();
}

export { fold } from "./text.ts";
