// The built-in SearchIndex: documents kept as JSON rows, queries evaluated by scanning the
// account's emails in JS. Correct for every SearchQuery, linear in the mailbox size; the
// default when no backend index (src/store/search/) is configured, and the reference the
// backend indexes are tested against.
// RFC 9051 §6.4.4: text matches are case-insensitive substring matches.
import type { Dialect, SqlExecutor, SqlValue } from "./sql.ts";
import {
  SENT_KEY,
  type IndexEntry,
  type SearchIndex,
  type SearchIndexHit,
  type SearchIndexOptions,
} from "./search-index.ts";
import type { SearchDocument, SearchQuery } from "./types.ts";
import { chunks, marks } from "./context.ts";

interface Candidate {
  num: number;
  id: string;
  thread_id: string;
  keywords: string;
  size: number;
  received_at: number;
  received_tz: number;
  /** SENT_KEY: what SENT* compare. */
  sent_key: number | null;
  emod: number;
  uid: number | null;
  saved_at: number | null;
  mmod: number | null;
  doc: string | null;
}

interface Ctx {
  mailboxesOf: Map<number, Set<string>> | null;
  docs: Map<number, SearchDocument | null>;
}

function needs(q: SearchQuery, pred: (q: SearchQuery) => boolean): boolean {
  if (pred(q)) return true;
  if (q.op === "and" || q.op === "or") return q.terms.some((t) => needs(t, pred));
  if (q.op === "not") return needs(q.term, pred);
  return false;
}

const has = (hay: string, needle: string): boolean => hay.toLowerCase().includes(needle.toLowerCase());

function headerMatch(doc: SearchDocument, field: string, text: string): boolean {
  const f = field.toLowerCase();
  const decoded: Partial<Record<string, string>> = {
    from: doc.from,
    to: doc.to,
    cc: doc.cc,
    bcc: doc.bcc,
    subject: doc.subject,
  };
  const lines = doc.headers.split("\n").filter((l) => l.slice(0, l.indexOf(":")).trim().toLowerCase() === f);
  if (text === "") return lines.length > 0;
  const d = decoded[f];
  if (d !== undefined && has(d, text)) return true;
  return lines.some((l) => has(l.slice(l.indexOf(":") + 1), text));
}

function evaluate(q: SearchQuery, c: Candidate, ctx: Ctx): boolean {
  const doc = (): SearchDocument => {
    let d = ctx.docs.get(c.num);
    if (d === undefined) {
      d = c.doc ? (JSON.parse(c.doc) as SearchDocument) : null;
      ctx.docs.set(c.num, d);
    }
    return d ?? { from: "", to: "", cc: "", bcc: "", subject: "", headers: "", body: "" };
  };
  switch (q.op) {
    case "all":
      return true;
    case "and":
      return q.terms.every((t) => evaluate(t, c, ctx));
    case "or":
      return q.terms.some((t) => evaluate(t, c, ctx));
    case "not":
      return !evaluate(q.term, c, ctx);
    case "keyword": {
      const k = q.keyword.toLowerCase();
      return (JSON.parse(c.keywords) as string[]).some((x) => x.toLowerCase() === k);
    }
    case "uid":
      return (
        c.uid !== null && q.ranges.some(([a, b]) => c.uid! >= Math.min(a, b) && c.uid! <= Math.max(a, b))
      );
    case "emailIds":
      return q.ids.includes(c.id);
    case "threadIds":
      return q.ids.includes(c.thread_id);
    case "inMailbox":
      return ctx.mailboxesOf?.get(c.num)?.has(q.mailboxId) ?? false;
    case "modseq":
      return (c.mmod ?? c.emod) >= q.min;
    case "received":
    case "sent":
    case "saved": {
      const t =
        q.op === "received"
          ? c.received_at + (q.local === true ? Number(c.received_tz) * 60_000 : 0)
          : q.op === "sent"
            ? c.sent_key
            : (c.saved_at ?? c.received_at);
      if (t === null) return false;
      return (q.before === undefined || t < q.before) && (q.since === undefined || t >= q.since);
    }
    case "size":
      return (q.larger === undefined || c.size > q.larger) && (q.smaller === undefined || c.size < q.smaller);
    case "header":
      return headerMatch(doc(), q.field, q.text);
    case "body":
      return has(doc().body, q.text);
    case "text": {
      const d = doc();
      return (
        has(d.headers, q.text) ||
        has(d.body, q.text) ||
        has(`${d.from}\n${d.to}\n${d.cc}\n${d.subject}`, q.text)
      );
    }
  }
}

export class ScanSearchIndex implements SearchIndex {
  readonly name = "scan";

  migrations(_dialect: Dialect): string[][] {
    return [
      [
        "CREATE TABLE search_docs (email_num BIGINT PRIMARY KEY, account_num BIGINT NOT NULL, doc TEXT NOT NULL)",
      ],
    ];
  }

  async index(tx: SqlExecutor, entries: readonly IndexEntry[]): Promise<void> {
    for (const e of entries) {
      await tx.run("INSERT INTO search_docs (email_num, account_num, doc) VALUES (?, ?, ?)", [
        e.emailNum,
        e.accountNum,
        JSON.stringify(e.doc),
      ]);
    }
  }

  async copy(tx: SqlExecutor, accountNum: number, fromEmailNum: number, toEmailNum: number): Promise<void> {
    await tx.run(
      "INSERT INTO search_docs (email_num, account_num, doc) SELECT ?, ?, doc FROM search_docs WHERE email_num = ?",
      [toEmailNum, accountNum, fromEmailNum],
    );
  }

  async remove(tx: SqlExecutor, emailNums: number[]): Promise<void> {
    for (const part of chunks(emailNums)) {
      await tx.run(`DELETE FROM search_docs WHERE email_num IN (${marks(part.length)})`, part);
    }
  }

  async search(
    db: SqlExecutor,
    accountNum: number,
    query: SearchQuery,
    opts: SearchIndexOptions,
  ): Promise<SearchIndexHit[]> {
    const text = needs(query, (q) => q.op === "header" || q.op === "body" || q.op === "text");
    const inBox = opts.mailboxNum !== undefined;
    const params: SqlValue[] = [];
    let sql = `SELECT e.num, e.id, t.id AS thread_id, e.keywords, e.size, e.received_at, e.received_tz, ${SENT_KEY} AS sent_key, e.modseq AS emod,
        ${inBox ? "m.uid, m.saved_at, m.modseq AS mmod" : "NULL AS uid, NULL AS saved_at, NULL AS mmod"},
        ${text ? "s.doc" : "NULL AS doc"}
      FROM emails e JOIN threads t ON t.num = e.thread_num`;
    if (inBox) {
      sql += " JOIN memberships m ON m.email_num = e.num AND m.mailbox_num = ?";
      params.push(opts.mailboxNum ?? 0);
    }
    if (text) sql += " LEFT JOIN search_docs s ON s.email_num = e.num";
    sql += ` WHERE e.account_num = ? ORDER BY ${inBox ? "m.uid" : "e.num"}`;
    params.push(accountNum);
    const rows = await db.all<Candidate>(sql, params);
    const ctx: Ctx = { mailboxesOf: null, docs: new Map() };
    if (needs(query, (q) => q.op === "inMailbox")) {
      ctx.mailboxesOf = new Map();
      const ms = await db.all<{ email_num: number; id: string }>(
        `SELECT m.email_num, b.id FROM memberships m JOIN mailboxes b ON b.num = m.mailbox_num WHERE b.account_num = ?`,
        [accountNum],
      );
      for (const m of ms) {
        let s = ctx.mailboxesOf.get(m.email_num);
        if (!s) ctx.mailboxesOf.set(m.email_num, (s = new Set()));
        s.add(m.id);
      }
    }
    const out: SearchIndexHit[] = [];
    const limit = opts.limit ?? Infinity;
    for (const c of rows) {
      if (out.length >= limit) break;
      if (evaluate(query, c, ctx))
        out.push(c.uid === null ? { emailNum: c.num } : { emailNum: c.num, uid: c.uid });
    }
    return out;
  }
}
