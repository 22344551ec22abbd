// The SQLite search index: an FTS5 table with the trigram tokenizer (SQLite >= 3.34), whose
// phrase queries are substring matches, plus one row per header field for HEADER searches.
// Text is folded before it is stored (see text.ts), so the index is built case-sensitively
// (no second fold inside FTS5) and instr() and the queries compare the same characters.
import type { SqlExecutor, SqlValue } from "../sql.ts";
import type { SearchDocument, SearchIndex, SearchQuery } from "../search-index.ts";
import {
  ALL_COLUMNS,
  COLUMN_NAMES,
  compileSearch,
  toHits,
  type Params,
  type SearchHitRow,
  type SqlFlavor,
  type TextColumn,
} from "./compile.ts";
import { codePoints, prepareDocument } from "./text.ts";
import { copyHeaderRows, insertHeaderRows, removeRows } from "./rows.ts";

// The trigram tokenizer indexes every 3-character sequence with its position
// (detail=full), so a phrase query of a needle's trigrams is a substring match answered
// from the index alone. Needles under 3 characters have no trigram and are tested with
// instr() on the emails the rest of the query selected.
//
// Measured on 100,000 synthetic messages (2 KB of text each): detail=none (no positions)
// writes 3x faster and is 2.4x smaller, but FTS5 must then check every candidate row
// against the stored text, and a TEXT or FROM search with thousands of candidates took
// 250-550 ms instead of 30-150 ms. Search speed won. With detail=full, bench/search.ts over
// 100,000 2 KB messages: TEXT ~8 ms (970 hits), FROM ~30 ms (4,987 hits); the index takes
// ~800 MB (trigram postings ~600 MB, stored text ~200 MB) for 400 MB of messages.
const TRIGRAM = 3;

/** An FTS5 string: double quotes doubled (a "phrase" of trigrams = a substring). */
function ftsString(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

export const sqliteFlavor: SqlFlavor = {
  dialect: "sqlite",
  // One FTS5 index covers every column: no need to store header text twice.
  textColumns: ALL_COLUMNS,
  textMatch(columns: readonly TextColumn[], needle: string, p: Params, num: string): string {
    const names = columns.map((c) => COLUMN_NAMES[c]);
    if (codePoints(needle) >= TRIGRAM) {
      // A column filter unless every column is searched (TEXT).
      const filter =
        names.length === ALL_COLUMNS.length
          ? ""
          : names.length === 1
            ? `${names[0]!} : `
            : `{${names.join(" ")}} : `;
      return `${num} IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ${p.add(filter + ftsString(needle))})`;
    }
    const tests = names.map((n) => `instr(x.${n}, ${p.add(needle)}) > 0`);
    return `EXISTS (SELECT 1 FROM search_fts x WHERE x.rowid = ${num} AND (${tests.join(" OR ")}))`;
  },
  // The narrow covering index of migration 2: flag, date and size tests never read the
  // wide emails rows (envelope and parsed metadata, ~2 KB each).
  emails: "emails e INDEXED BY search_emails_scan",
  contains(haystack: string, needle: string): string {
    return `instr(${haystack}, ${needle}) > 0`;
  },
  jsonList(param: string): string {
    return `(SELECT value FROM json_each(${param}))`;
  },
};

export function createSqliteSearchIndex(): SearchIndex {
  return {
    name: "fts5",
    migrations(): string[][] {
      return [
        [
          `CREATE VIRTUAL TABLE search_fts USING fts5(hfrom, hto, hcc, hbcc, subject, headers, body, tokenize = 'trigram case_sensitive 1')`,
          `CREATE TABLE search_headers (
            account_num INTEGER NOT NULL,
            email_num INTEGER NOT NULL REFERENCES emails(num) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL)`,
          `CREATE INDEX search_headers_name ON search_headers(account_num, name)`,
          `CREATE INDEX search_headers_email ON search_headers(email_num)`,
        ],
        // 2: every emails column a query tests, keyed like the statements reach them. Scanning
        // 100,000 emails for a flag or a date read ~200 MB of rows without it (measured).
        [
          `CREATE INDEX search_emails_scan ON emails(account_num, num, keywords, modseq, size, received_at, sent_at, thread_num, id)`,
        ],
        // 3: merge index segments 8 at a time instead of 4: about twice the insert rate of
        // trigram rows (each message adds thousands), with the same query times (measured on
        // 3,000 6 KB documents: 1,500 -> 2,800 inserts/s, substring query 5 ms either way).
        [`INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 8)`],
      ];
    },
    async index(tx: SqlExecutor, accountNum: number, emailNum: number, doc: SearchDocument): Promise<void> {
      const { text, fields } = prepareDocument(doc);
      const values: SqlValue[] = [
        emailNum,
        text.from,
        text.to,
        text.cc,
        text.bcc,
        text.subject,
        text.headers,
        text.body,
      ];
      await tx.run(
        `INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        values,
      );
      await insertHeaderRows(tx, accountNum, emailNum, fields);
    },
    async copy(tx: SqlExecutor, accountNum: number, fromEmailNum: number, toEmailNum: number): Promise<void> {
      await tx.run(
        `INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers, body)
         SELECT ?, hfrom, hto, hcc, hbcc, subject, headers, body FROM search_fts WHERE rowid = ?`,
        [toEmailNum, fromEmailNum],
      );
      await copyHeaderRows(tx, accountNum, fromEmailNum, toEmailNum);
    },
    async remove(tx: SqlExecutor, emailNums: number[]): Promise<void> {
      await removeRows(tx, "search_fts", "rowid", emailNums);
      await removeRows(tx, "search_headers", "email_num", emailNums);
    },
    async search(
      db: SqlExecutor,
      accountNum: number,
      query: SearchQuery,
      opts: { mailboxNum?: number; limit?: number },
    ): Promise<SearchHitRow[]> {
      const { sql, params } = compileSearch(sqliteFlavor, accountNum, query, opts);
      return toHits(await db.all<{ email_num: number; email_id: string; uid?: number }>(sql, params));
    },
  };
}
