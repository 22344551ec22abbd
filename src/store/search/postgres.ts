// The PostgreSQL search index: one row of folded text per email with a pg_trgm GIN index
// per column, which serves `LIKE '%needle%'` (the extension's trigram indexes support LIKE
// and ILIKE), plus one row per header field for HEADER searches. Text is folded before it
// is stored (see text.ts), so a case-sensitive LIKE is a case-insensitive search whatever
// the database's locale.
import type { SqlExecutor, SqlValue } from "../sql.ts";
import type { IndexEntry, SearchIndex, SearchIndexOptions, SearchQuery } from "../search-index.ts";
import {
  COLUMN_NAMES,
  runSearch,
  type Params,
  type SearchHitRow,
  type SqlFlavor,
  type TextColumn,
} from "./compile.ts";
import { codePoints, escapeLike, prepareDocument } from "./text.ts";
import { copyHeaderRows, insertHeaderRows, removeRows } from "./rows.ts";

// pg_trgm extracts no trigram from a needle shorter than 3 characters, so such needles are
// tested row by row with strpos() on the emails already selected.
const TRIGRAM = 3;

const TEXT_COLUMNS = Object.values(COLUMN_NAMES);

export const postgresFlavor: SqlFlavor = {
  dialect: "postgres",
  // The headers column holds every header's text here (allHeaders): TEXT is then two
  // trigram indexes. With the seven columns ORed, the planner preferred a sequential scan
  // (it does not count the cost of reading the TOASTed bodies) and took ~0.5 s at 30,000
  // messages where the bitmap scans take ~1 ms.
  textColumns: ["headers", "body"],
  textMatch(columns: readonly TextColumn[], needle: string, p: Params, num: string): string {
    const names = columns.map((c) => COLUMN_NAMES[c]);
    if (codePoints(needle) >= TRIGRAM) {
      const pattern = `%${escapeLike(needle)}%`;
      const tests = names.map((n) => `s.${n} LIKE ${p.add(pattern)} ESCAPE '\\'`);
      return `${num} IN (SELECT s.email_num FROM search_text s WHERE ${tests.join(" OR ")})`;
    }
    const tests = names.map((n) => `strpos(s.${n}, ${p.add(needle)}) > 0`);
    return `EXISTS (SELECT 1 FROM search_text s WHERE s.email_num = ${num} AND (${tests.join(" OR ")}))`;
  },
  emails: "emails e",
  contains(haystack: string, needle: string): string {
    return `strpos(${haystack}, ${needle}) > 0`;
  },
  jsonList(param: string, kind: "int" | "text"): string {
    const cast = kind === "int" ? "::bigint" : "";
    return `(SELECT j.v${cast} FROM jsonb_array_elements_text(${param}::jsonb) AS j(v))`;
  },
};

// pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (PostgreSQL >= 13): the
// database owner may create it. It goes to `public` when that schema exists, so that a
// per-tenant (or per-test) schema dropped later does not take it along; concurrent
// creations by two migrating servers are tolerated.
const CREATE_TRGM = `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
      CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    ELSE
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    END IF;
  END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
  NULL;
END
$$`;

export function createPostgresSearchIndex(): SearchIndex {
  return {
    name: "pg",
    migrations(): string[][] {
      return [
        [
          CREATE_TRGM,
          `CREATE TABLE search_text (
            email_num BIGINT PRIMARY KEY REFERENCES emails(num) ON DELETE CASCADE,
            ${TEXT_COLUMNS.map((c) => `${c} TEXT NOT NULL`).join(",\n            ")})`,
          ...TEXT_COLUMNS.map(
            (c) => `CREATE INDEX search_text_${c} ON search_text USING gin (${c} gin_trgm_ops)`,
          ),
          `CREATE TABLE search_headers (
            account_num BIGINT NOT NULL,
            email_num BIGINT NOT NULL REFERENCES emails(num) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL)`,
          `CREATE INDEX search_headers_name ON search_headers(account_num, name)`,
          `CREATE INDEX search_headers_email ON search_headers(email_num)`,
        ],
      ];
    },
    async index(tx: SqlExecutor, entries: readonly IndexEntry[]): Promise<void> {
      for (const e of entries) await indexOne(tx, e);
    },
    async copy(tx: SqlExecutor, accountNum: number, fromEmailNum: number, toEmailNum: number): Promise<void> {
      await tx.run(
        `INSERT INTO search_text (email_num, hfrom, hto, hcc, hbcc, subject, headers, body)
         SELECT ?, hfrom, hto, hcc, hbcc, subject, headers, body FROM search_text WHERE email_num = ?`,
        [toEmailNum, fromEmailNum],
      );
      await copyHeaderRows(tx, accountNum, fromEmailNum, toEmailNum);
    },
    async remove(tx: SqlExecutor, emailNums: number[]): Promise<void> {
      await removeRows(tx, "search_text", "email_num", emailNums);
      await removeRows(tx, "search_headers", "email_num", emailNums);
    },
    async search(
      db: SqlExecutor,
      accountNum: number,
      query: SearchQuery,
      opts: SearchIndexOptions,
    ): Promise<SearchHitRow[]> {
      return runSearch(postgresFlavor, db, accountNum, query, opts);
    },
  };
}

async function indexOne(tx: SqlExecutor, e: IndexEntry): Promise<void> {
  const { text, fields } = prepareDocument(e.doc);
  const values: SqlValue[] = [
    e.emailNum,
    text.from,
    text.to,
    text.cc,
    text.bcc,
    text.subject,
    text.allHeaders,
    text.body,
  ];
  await tx.run(
    `INSERT INTO search_text (email_num, hfrom, hto, hcc, hbcc, subject, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    values,
  );
  await insertHeaderRows(tx, e.accountNum, e.emailNum, fields);
}
