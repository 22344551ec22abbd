// Compiles a whole SearchQuery tree (src/store/types.ts) into ONE SQL statement over the
// store's tables (emails `e`, memberships `m` when a mailbox is given) and the index's own
// tables. Every value is a bound parameter; the SQL text only holds fixed fragments.
//
// Each predicate is two-valued (never NULL), so NOT is plain boolean negation.
import { StoreError } from "../../core/errors.ts";
import type { Dialect, SqlExecutor, SqlValue } from "../sql.ts";
import { SENT_KEY, type SearchIndexHit, type SearchIndexOptions } from "../search-index.ts";
import type { SearchQuery } from "../types.ts";
import { fold } from "./text.ts";

/** Indexed text columns. `headers` holds the header fields without a column of their own. */
export type TextColumn = "from" | "to" | "cc" | "bcc" | "subject" | "headers" | "body";

/** Header fields with their own indexed column. */
const FIELD_COLUMNS: ReadonlyMap<string, TextColumn> = new Map<string, TextColumn>([
  ["from", "from"],
  ["to", "to"],
  ["cc", "cc"],
  ["bcc", "bcc"],
  ["subject", "subject"],
]);

/** The column names in the index tables. */
export const ALL_COLUMNS: readonly TextColumn[] = ["from", "to", "cc", "bcc", "subject", "headers", "body"];

export const COLUMN_NAMES: Readonly<Record<TextColumn, string>> = {
  from: "hfrom",
  to: "hto",
  cc: "hcc",
  bcc: "hbcc",
  subject: "subject",
  headers: "headers",
  body: "body",
};

/** Parameters in the order their `?` appear in the SQL text being built. */
export class Params {
  readonly values: SqlValue[] = [];
  add(v: SqlValue): "?" {
    this.values.push(v);
    return "?";
  }
}

/** What differs between the backends. */
export interface SqlFlavor {
  readonly dialect: Dialect;
  /** The columns TEXT searches (header and body text, each character once at least). */
  readonly textColumns: readonly TextColumn[];
  /**
   * A predicate: the email whose num is the SQL expression `num` has `needle` (folded,
   * non-empty) in one of `columns`. `rows`, when known, bounds the emails the statement
   * selects from (a small mailbox): the flavor may then test their text row by row instead of
   * asking its index, whose cost grows with every account's mail.
   */
  textMatch(columns: readonly TextColumn[], needle: string, p: Params, num: string, rows?: number): string;
  /**
   * search_headers is keyed by email (no index by field name): HEADER tests look up the
   * rows of each email instead of collecting the emails that have a field.
   */
  readonly headerRowsByEmail?: boolean;
  /** A predicate: `haystack` (SQL) contains the string parameter `needle` (SQL). */
  contains(haystack: string, needle: string): string;
  /**
   * The emails table as the statement reads it, aliased `e`; it is always reached through
   * (account_num, num), so a backend may name a narrow covering index here.
   */
  readonly emails: string;
  /** A subquery yielding the elements of a JSON array parameter (for long lists). */
  jsonList(param: string, kind: "int" | "text"): string;
}

// Long lists go as one JSON parameter: SQLite's expression depth and both databases'
// parameter limits stay out of reach.
const INLINE_LIST_MAX = 100;
// Deeper trees are refused (SQLite caps expression depth at 1000).
const MAX_DEPTH = 100;

function list(f: SqlFlavor, p: Params, values: ReadonlyArray<string | number>, kind: "int" | "text"): string {
  if (values.length > INLINE_LIST_MAX) return f.jsonList(p.add(JSON.stringify(values)), kind);
  return `(${values.map((v) => p.add(v)).join(", ")})`;
}

/** Joins with AND/OR as a balanced tree, so long lists do not make deep expressions. */
export function joinBalanced(parts: readonly string[], op: "AND" | "OR"): string {
  if (parts.length === 0) return op === "AND" ? "1=1" : "1=0";
  if (parts.length === 1) return parts[0]!;
  if (parts.length <= 16) return `(${parts.join(` ${op} `)})`;
  const mid = parts.length >> 1;
  return `(${joinBalanced(parts.slice(0, mid), op)} ${op} ${joinBalanced(parts.slice(mid), op)})`;
}

/** Sorted, merged ranges, each [low, high] with low <= high. */
export function normalizeRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = ranges
    .map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]))
    .sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

interface Ctx {
  f: SqlFlavor;
  p: Params;
  accountNum: number;
  /** True when the statement has the membership `m` of the searched mailbox. */
  inMailbox: boolean;
  /** The email's num: m.email_num in a mailbox, else e.num. */
  num: string;
  /** At most this many emails are selected from (see SqlFlavor.textMatch), when known. */
  rows?: number;
}

function rangePredicate(ctx: Ctx, column: string, ranges: ReadonlyArray<readonly [number, number]>): string {
  const merged = normalizeRanges(ranges);
  const singles: number[] = [];
  const spans: Array<[number, number]> = [];
  for (const [a, b] of merged) {
    if (b - a < 8) for (let v = a; v <= b; v++) singles.push(v);
    else spans.push([a, b]);
  }
  const parts: string[] = [];
  if (singles.length > 0) parts.push(`${column} IN ${list(ctx.f, ctx.p, singles, "int")}`);
  for (const [a, b] of spans) parts.push(`${column} BETWEEN ${ctx.p.add(a)} AND ${ctx.p.add(b)}`);
  return joinBalanced(parts, "OR");
}

function timePredicate(
  ctx: Ctx,
  column: string,
  before: number | undefined,
  since: number | undefined,
): string {
  const parts: string[] = [];
  if (since !== undefined) parts.push(`${column} >= ${ctx.p.add(since)}`);
  if (before !== undefined) parts.push(`${column} < ${ctx.p.add(before)}`);
  return joinBalanced(parts, "AND");
}

/** A predicate on some membership of the email: the searched one, or any one. */
function membershipPredicate(ctx: Ctx, build: (m: string) => string): string {
  if (ctx.inMailbox) return build("m");
  return `EXISTS (SELECT 1 FROM memberships mu WHERE mu.email_num = ${ctx.num} AND ${build("mu")})`;
}

function headerPredicate(ctx: Ctx, field: string, text: string): string {
  const name = field.trim().toLowerCase();
  const needle = fold(text);
  const column = FIELD_COLUMNS.get(name);
  if (column && needle !== "") return ctx.f.textMatch([column], needle, ctx.p, ctx.num, ctx.rows);
  // RFC 9051 §6.4.4 HEADER: an empty string matches every message that has the field.
  if (ctx.f.headerRowsByEmail) {
    const n = ctx.p.add(name);
    const value = needle === "" ? "" : ` AND ${ctx.f.contains("h.value", ctx.p.add(needle))}`;
    return `EXISTS (SELECT 1 FROM search_headers h WHERE h.email_num = ${ctx.num} AND h.name = ${n}${value})`;
  }
  const acct = ctx.p.add(ctx.accountNum);
  const n = ctx.p.add(name);
  const value = needle === "" ? "" : ` AND ${ctx.f.contains("h.value", ctx.p.add(needle))}`;
  return `${ctx.num} IN (SELECT h.email_num FROM search_headers h WHERE h.account_num = ${acct} AND h.name = ${n}${value})`;
}

function textPredicate(ctx: Ctx, columns: readonly TextColumn[], text: string): string {
  const needle = fold(text);
  // The empty string is a substring of everything.
  if (needle === "") return "1=1";
  return ctx.f.textMatch(columns, needle, ctx.p, ctx.num, ctx.rows);
}

/** The lower-cased JSON string of a keyword, as it appears inside emails.keywords. */
function keywordNeedle(keyword: string): string {
  // RFC 9051 §2.3.2: flags and keywords are case-insensitive (ASCII: atoms only).
  return JSON.stringify(keyword).replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function compile(ctx: Ctx, q: SearchQuery, depth: number): string {
  if (depth > MAX_DEPTH) throw new StoreError("LIMIT", "search query nested too deeply");
  const { f, p } = ctx;
  switch (q.op) {
    case "all":
      return "1=1";
    case "and":
    case "or":
      return joinBalanced(
        q.terms.map((t) => compile(ctx, t, depth + 1)),
        q.op === "and" ? "AND" : "OR",
      );
    case "not":
      return `NOT (${compile(ctx, q.term, depth + 1)})`;
    case "keyword":
      return f.contains("lower(e.keywords)", p.add(keywordNeedle(q.keyword)));
    case "uid":
      if (q.ranges.length === 0) return "1=0";
      return membershipPredicate(ctx, (m) => rangePredicate(ctx, `${m}.uid`, q.ranges));
    case "emailIds":
      if (q.ids.length === 0) return "1=0";
      return `e.id IN ${list(f, p, q.ids, "text")}`;
    case "threadIds": {
      if (q.ids.length === 0) return "1=0";
      const acct = p.add(ctx.accountNum);
      return `e.thread_num IN (SELECT t.num FROM threads t WHERE t.account_num = ${acct} AND t.id IN ${list(f, p, q.ids, "text")})`;
    }
    case "inMailbox": {
      const id = p.add(q.mailboxId);
      const acct = p.add(ctx.accountNum);
      return `${ctx.num} IN (SELECT mi.email_num FROM memberships mi JOIN mailboxes mb ON mb.num = mi.mailbox_num WHERE mb.id = ${id} AND mb.account_num = ${acct})`;
    }
    case "modseq":
      // RFC 7162 §3.1.5: MODSEQ matches mod-sequences >= the given one. In a mailbox a
      // message's is its membership's (set on entry and on every keyword change, the store's
      // MessageRow.modseq); account-wide, the email's.
      if (ctx.inMailbox) return `m.modseq >= ${p.add(q.min)}`;
      return `e.modseq >= ${p.add(q.min)}`;
    case "received":
      // `local`: the wall-clock time in the internal date's own zone (IMAP BEFORE/ON/SINCE)
      return timePredicate(
        ctx,
        q.local === true ? "(e.received_at + e.received_tz * 60000)" : "e.received_at",
        q.before,
        q.since,
      );
    case "sent":
      // RFC 9051 §6.4.4 SENTBEFORE/SENTON/SENTSINCE use the Date header's day as written
      // (sent_day, its own zone); without one the internal date stands in, as RFC 5256 §2.2
      // does for SORT DATE.
      return timePredicate(ctx, SENT_KEY, q.before, q.since);
    case "saved":
      // RFC 8514 §4: SAVEDBEFORE/SAVEDON/SAVEDSINCE on the time the message entered the mailbox.
      if (q.before === undefined && q.since === undefined) return "1=1";
      return membershipPredicate(ctx, (m) => timePredicate(ctx, `${m}.saved_at`, q.before, q.since));
    case "size": {
      const parts: string[] = [];
      if (q.larger !== undefined) parts.push(`e.size > ${p.add(q.larger)}`);
      if (q.smaller !== undefined) parts.push(`e.size < ${p.add(q.smaller)}`);
      return joinBalanced(parts, "AND");
    }
    case "header":
      return headerPredicate(ctx, q.field, q.text);
    case "body":
      return textPredicate(ctx, ["body"], q.text);
    case "text":
      return textPredicate(ctx, f.textColumns, q.text);
  }
}

export interface CompiledSearch {
  sql: string;
  params: SqlValue[];
}

/**
 * The statement: `email_num`, `email_id` (and `uid` with a mailbox) per hit, in the
 * documented order.
 */
export function compileSearch(
  f: SqlFlavor,
  accountNum: number,
  query: SearchQuery,
  opts: SearchIndexOptions,
): CompiledSearch {
  const inMailbox = opts.mailboxNum !== undefined;
  const ctx: Ctx = {
    f,
    p: new Params(),
    accountNum,
    inMailbox,
    num: inMailbox ? "m.email_num" : "e.num",
    ...(opts.rows !== undefined ? { rows: opts.rows } : {}),
  };
  const where = compile(ctx, query, 0);
  // The head's parameters come first in the text: compile into a separate list, then join.
  const head = new Params();
  // The public id comes along (from the covering index on SQLite), so the store need not
  // look the hits up again.
  let sql: string;
  if (opts.mailboxNum === undefined) {
    sql = `SELECT e.num AS email_num, e.id AS email_id FROM ${f.emails} WHERE e.account_num = ${head.add(accountNum)}`;
  } else {
    sql =
      `SELECT m.email_num AS email_num, e.id AS email_id, m.uid AS uid FROM memberships m ` +
      `JOIN ${f.emails} ON e.account_num = ${head.add(accountNum)} AND e.num = m.email_num ` +
      `WHERE m.mailbox_num = ${head.add(opts.mailboxNum)}`;
  }
  if (where !== "1=1") sql += ` AND ${where}`;
  sql += inMailbox ? " ORDER BY m.uid" : " ORDER BY e.num";
  const params = [...head.values, ...ctx.p.values];
  if (opts.limit !== undefined) {
    sql += " LIMIT ?";
    params.push(Math.max(0, Math.floor(opts.limit)));
  }
  return { sql, params };
}

/** A hit with the email's public id as well (a superset of SearchIndexHit). */
export interface SearchHitRow extends SearchIndexHit {
  emailId: string;
}

export function toHits(
  rows: ReadonlyArray<{ email_num: number; email_id: string; uid?: number | null }>,
): SearchHitRow[] {
  return rows.map((r) => {
    const hit: SearchHitRow = { emailNum: Number(r.email_num), emailId: r.email_id };
    if (r.uid !== undefined && r.uid !== null) hit.uid = Number(r.uid);
    return hit;
  });
}

/** SearchIndex.search for a flavor: compile the query, run it, map the rows to hits. */
export async function runSearch(
  flavor: SqlFlavor,
  db: SqlExecutor,
  accountNum: number,
  query: SearchQuery,
  opts: SearchIndexOptions,
): Promise<SearchHitRow[]> {
  const { sql, params } = compileSearch(flavor, accountNum, query, opts);
  return toHits(await db.all<{ email_num: number; email_id: string; uid?: number }>(sql, params));
}
