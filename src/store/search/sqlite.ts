// The SQLite search index: an FTS5 table with the trigram tokenizer (SQLite >= 3.34), whose
// phrase queries are substring matches, plus one row per header field for HEADER searches.
// Text is folded before it is stored (see text.ts), so the index is built case-sensitively
// (no second fold inside FTS5) and instr() and the queries compare the same characters.
import type { SqlExecutor, SqlValue } from "../sql.ts";
import type { IndexEntry, SearchIndex, SearchIndexOptions, SearchQuery } from "../search-index.ts";
import {
  ALL_COLUMNS,
  COLUMN_NAMES,
  runSearch,
  type Params,
  type SearchHitRow,
  type SqlFlavor,
  type TextColumn,
} from "./compile.ts";
import { codePoints, prepareDocument } from "./text.ts";
import { removeRows } from "./rows.ts";

/** Header rows per multi-row INSERT (4 parameters each). */
const HEADER_BATCH = 200;

// Two FTS5 tables with the trigram tokenizer:
// - search_fts holds the header columns with positions (detail=full), so a phrase query of
//   a needle's trigrams is a substring match answered from the index alone: FROM, SUBJECT and
//   the other header searches stay in single milliseconds on 100,000 messages.
// - search_body holds the body text without positions (detail=none, columnsize=0). GLOB
//   '*needle*' finds the rows that have every trigram of the needle in the index, then
//   checks those rows' text. Measured on 20,000 6 KB bodies: inserts 3,150/s instead of
//   1,350/s (the body is most of what a message indexes), a rare word found in 1-2 ms;
//   a very common substring costs a re-check of each candidate row.
// Needles under 3 characters have no trigram and are tested with instr() on the emails the
// rest of the query selected. So are the needles of a search over few emails (a small mailbox,
// `rows`): the index's cost grows with every account's mail (a trigram's rows for all of them
// are read), the row-by-row test's with the mailbox only. Measured on a 500-message mailbox,
// FROM "olivia": 0.2 ms through the index holding 4,000 messages, about 30 ms holding
// 110,000, and 0.55 ms row by row either way (about 1.1 us a message for header text and
// 3.4 us for a body: hence the lower bound for body text).
const TRIGRAM = 3;
const ROW_BY_ROW_HEADERS = 2000;
const ROW_BY_ROW_BODIES = 500;

const FTS_DDL = `CREATE VIRTUAL TABLE search_fts USING fts5(hfrom, hto, hcc, hbcc, subject, headers, tokenize = 'trigram case_sensitive 1')`;
const BODY_DDL = `CREATE VIRTUAL TABLE search_body USING fts5(body, tokenize = 'trigram case_sensitive 1', detail = none, columnsize = 0)`;

/**
 * The index tables in a database file of their own (sqlite-deferred.ts), created when
 * missing: no foreign key to emails there, which lives in the store's file.
 */
export const FTS_TABLES: readonly string[] = [
  FTS_DDL.replace("CREATE VIRTUAL TABLE", "CREATE VIRTUAL TABLE IF NOT EXISTS"),
  BODY_DDL.replace("CREATE VIRTUAL TABLE", "CREATE VIRTUAL TABLE IF NOT EXISTS"),
  `CREATE TABLE IF NOT EXISTS search_headers (
    email_num INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (email_num, seq)) WITHOUT ROWID`,
  // Emails whose rows the index thread deletes when idle (fts-worker.ts).
  `CREATE TABLE IF NOT EXISTS search_removals (num INTEGER PRIMARY KEY)`,
  // See migration 3 below.
  `INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 8)`,
  `INSERT INTO search_body(search_body, rank) VALUES ('automerge', 8)`,
];

/** The header columns (search_fts); the body lives in search_body. */
const HEADER_COLUMNS: readonly TextColumn[] = ALL_COLUMNS.filter((c) => c !== "body");

/** An FTS5 string: double quotes doubled (a "phrase" of trigrams = a substring). */
function ftsString(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** A GLOB pattern matching `s` anywhere: the GLOB wildcards *, ? and [ become classes. */
function globContains(s: string): string {
  return `*${s.replace(/[*?[]/g, (c) => `[${c}]`)}*`;
}

function headerMatch(names: string[], needle: string, p: Params, num: string, rows: number): string {
  if (codePoints(needle) >= TRIGRAM && rows > ROW_BY_ROW_HEADERS) {
    // A column filter unless every header column is searched.
    const filter =
      names.length === HEADER_COLUMNS.length
        ? ""
        : names.length === 1
          ? `${names[0]!} : `
          : `{${names.join(" ")}} : `;
    return `${num} IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ${p.add(filter + ftsString(needle))})`;
  }
  const tests = names.map((n) => `instr(x.${n}, ${p.add(needle)}) > 0`);
  return `EXISTS (SELECT 1 FROM search_fts x WHERE x.rowid = ${num} AND (${tests.join(" OR ")}))`;
}

function bodyMatch(needle: string, p: Params, num: string, rows: number): string {
  if (codePoints(needle) >= TRIGRAM && rows > ROW_BY_ROW_BODIES) {
    return `${num} IN (SELECT rowid FROM search_body WHERE body GLOB ${p.add(globContains(needle))})`;
  }
  return `EXISTS (SELECT 1 FROM search_body x WHERE x.rowid = ${num} AND instr(x.body, ${p.add(needle)}) > 0)`;
}

export const sqliteFlavor: SqlFlavor = {
  dialect: "sqlite",
  // One FTS5 index covers every column: no need to store header text twice.
  textColumns: ALL_COLUMNS,
  textMatch(columns: readonly TextColumn[], needle: string, p: Params, num: string, rows?: number): string {
    const headers = columns.filter((c) => c !== "body").map((c) => COLUMN_NAMES[c]);
    const parts: string[] = [];
    const n = rows ?? Infinity;
    if (headers.length > 0) parts.push(headerMatch(headers, needle, p, num, n));
    if (columns.includes("body")) parts.push(bodyMatch(needle, p, num, n));
    return parts.length === 1 ? parts[0]! : `(${parts.join(" OR ")})`;
  },
  // The narrow covering index of migration 2: flag, date and size tests never read the
  // wide emails rows (envelope and parsed metadata, ~2 KB each).
  emails: "emails e INDEXED BY search_emails_scan",
  headerRowsByEmail: true,
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
          FTS_DDL,
          BODY_DDL,
          // One row per header field, clustered by email: appending a message's rows is a
          // sequential write, where (account, name) and email_num indexes cost about 0.4 ms
          // per message (a third of indexing). HEADER tests look rows up by email.
          `CREATE TABLE search_headers (
            email_num INTEGER NOT NULL REFERENCES emails(num) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (email_num, seq)) WITHOUT ROWID`,
        ],
        // 2: every emails column a query tests, keyed like the statements reach them. Scanning
        // 100,000 emails for a flag or a date read ~200 MB of rows without it (measured).
        [
          `CREATE INDEX search_emails_scan ON emails(account_num, num, keywords, modseq, size, received_at, sent_at, thread_num, id)`,
        ],
        // 3: merge index segments 8 at a time instead of 4: about twice the insert rate of
        // trigram rows (each message adds thousands), with the same query times (measured on
        // 3,000 6 KB documents: 1,500 -> 2,800 inserts/s, substring query 5 ms either way).
        [
          `INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 8)`,
          `INSERT INTO search_body(search_body, rank) VALUES ('automerge', 8)`,
        ],
      ];
    },
    async index(tx: SqlExecutor, entries: readonly IndexEntry[]): Promise<void> {
      const prepared = entries.map((e) => ({ num: e.emailNum, ...prepareDocument(e.doc) }));
      // Plain-table rows first, then the FTS5 rows back to back (see SearchIndex.index).
      const rows: SqlValue[][] = [];
      for (const d of prepared) d.fields.forEach((f, i) => rows.push([d.num, i, f.name, f.value]));
      for (let i = 0; i < rows.length; i += HEADER_BATCH) {
        const chunk = rows.slice(i, i + HEADER_BATCH);
        await tx.run(
          `INSERT INTO search_headers (email_num, seq, name, value) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`,
          chunk.flat(),
        );
      }
      for (const { num, text } of prepared) {
        await tx.run(
          `INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [num, text.from, text.to, text.cc, text.bcc, text.subject, text.headers],
        );
      }
      for (const { num, text } of prepared) {
        await tx.run(`INSERT INTO search_body (rowid, body) VALUES (?, ?)`, [num, text.body]);
      }
    },
    async copy(tx: SqlExecutor, accountNum: number, fromEmailNum: number, toEmailNum: number): Promise<void> {
      await tx.run(
        `INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers)
         SELECT ?, hfrom, hto, hcc, hbcc, subject, headers FROM search_fts WHERE rowid = ?`,
        [toEmailNum, fromEmailNum],
      );
      await tx.run(`INSERT INTO search_body (rowid, body) SELECT ?, body FROM search_body WHERE rowid = ?`, [
        toEmailNum,
        fromEmailNum,
      ]);
      void accountNum;
      await tx.run(
        `INSERT INTO search_headers (email_num, seq, name, value)
         SELECT ?, seq, name, value FROM search_headers WHERE email_num = ?`,
        [toEmailNum, fromEmailNum],
      );
    },
    async remove(tx: SqlExecutor, emailNums: number[]): Promise<void> {
      await removeRows(tx, "search_fts", "rowid", emailNums);
      await removeRows(tx, "search_body", "rowid", emailNums);
      await removeRows(tx, "search_headers", "email_num", emailNums);
    },
    async search(
      db: SqlExecutor,
      accountNum: number,
      query: SearchQuery,
      opts: SearchIndexOptions,
    ): Promise<SearchHitRow[]> {
      return runSearch(sqliteFlavor, db, accountNum, query, opts);
    },
  };
}
