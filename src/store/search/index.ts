// The search index for each backend (the SearchIndex seam, src/store/search-index.ts):
// FTS5 trigram on SQLite, pg_trgm on PostgreSQL. Both give IMAP's case-insensitive
// substring semantics (RFC 9051 §6.4.4) and evaluate the whole query in one statement.
import type { Dialect } from "../sql.ts";
import type { SearchIndex } from "../search-index.ts";
import { createPostgresSearchIndex } from "./postgres.ts";
import { createSqliteSearchIndex } from "./sqlite.ts";

export function createSearchIndex(dialect: Dialect): SearchIndex {
  return dialect === "postgres" ? createPostgresSearchIndex() : createSqliteSearchIndex();
}

export { fold } from "./text.ts";
