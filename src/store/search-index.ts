// The seam between the mail store and its search index (one implementation per backend:
// FTS5 on SQLite, tsvector/pg_trgm on PostgreSQL, in src/store/search/). The store owns the
// transactions; the index only adds statements to them, so an email and its index entry
// are committed (or rolled back) together.
//
// What the index may read (the store's tables, see src/store/schema.ts), all keyed by
// internal integer `num`s:
// - emails(num, id, account_num, thread_num, size, received_at, sent_at, keywords, modseq,
//   envelope, meta): `keywords` is a JSON array of strings, sorted ("\\Seen", "$Junk");
//   IMAP keywords match case-insensitively (RFC 9051 §2.3.2).
// - memberships(mailbox_num, uid, email_num, modseq, saved_at): one row per mailbox the
//   email is in. A message's IMAP MODSEQ in a mailbox is memberships.modseq (set on entry
//   and on every keyword change); without a mailbox, use emails.modseq.
// - mailboxes(num, id, account_num), threads(num, id, account_num).
// Public ids in a SearchQuery (emailIds, threadIds, inMailbox) are the `id` columns.
import type { Dialect, SqlExecutor } from "./sql.ts";
import type { EnvelopeAddress, ParsedMessage } from "../mail/types.ts";
import type { SearchDocument, SearchQuery } from "./types.ts";

export type { SearchDocument, SearchQuery };

export interface IndexEntry {
  accountNum: number;
  emailNum: number;
  doc: SearchDocument;
}

export interface SearchIndexHit {
  emailNum: number;
  /** The email's public id, when the index has it at hand (saves the store a lookup). */
  emailId?: string;
  /** Set when `opts.mailboxNum` was given: the email's UID in that mailbox. */
  uid?: number;
}

/** Where SearchIndex.search looks. */
export interface SearchIndexOptions {
  /** Only emails in this mailbox; hits carry their UID. */
  mailboxNum?: number;
  /** At most this many hits. */
  limit?: number;
  /**
   * How many emails the search selects from at most (the mailbox's, or the account's),
   * when the caller knows: text of a few emails is cheaper to test one by one than through an
   * index shared by every account.
   */
  rows?: number;
}

export interface SearchIndex {
  /**
   * A short stable name ("fts5", "pg", "like"): the store records the number of applied
   * migrations under the meta key `search.<name>.version`.
   */
  readonly name: string;
  /**
   * The index's own tables, as migrations (each a list of statements), applied in order
   * after the store's schema, each in one transaction. Append new entries; never edit old ones.
   */
  migrations(dialect: Dialect): string[][];
  /**
   * Indexes new emails; called once per append transaction, after every other write of it.
   * Batched on purpose: SQLite's FTS5 flushes its pending terms to disk whenever another
   * statement of the transaction opens a statement journal, so index rows written between
   * the store's other inserts cost one flush (and segment merge) per message, not per batch
   * (measured: the header-row INSERT that followed each message's FTS rows took 0.45 ms of
   * flushing, more than everything else in the append).
   */
  index(tx: SqlExecutor, entries: readonly IndexEntry[]): Promise<void>;
  /**
   * Indexes `toEmailNum` with the same document as `fromEmailNum` (a copy that made a new
   * email sharing the blob); called inside the copy transaction. The source stays indexed.
   */
  copy(tx: SqlExecutor, accountNum: number, fromEmailNum: number, toEmailNum: number): Promise<void>;
  /** Drops the entries of destroyed emails; called inside the destroying transaction. */
  remove(tx: SqlExecutor, emailNums: number[]): Promise<void>;
  /**
   * Evaluates the whole query (flags, dates, sizes, uids, headers and text) for one
   * account, read-only. With `mailboxNum`, only emails in that mailbox match and hits carry
   * their UID, ascending by UID; otherwise hits are ordered by emailNum ascending.
   * `limit` caps the number of hits.
   */
  search(
    db: SqlExecutor,
    accountNum: number,
    query: SearchQuery,
    opts: SearchIndexOptions,
  ): Promise<SearchIndexHit[]>;
  /**
   * An index updated after commit (outside the store's transactions) lists here the emails
   * it has no entry for, and the store indexes them again at open.
   */
  missing?(db: SqlExecutor): Promise<number[]>;
  /** Resolves once every committed change has reached the index. */
  settled?(): Promise<void>;
  /** Stops what the index runs of its own (threads); called by the store's close(). */
  close?(): Promise<void>;
}

/**
 * What SearchQuery "sent" compares, as an SQL expression over emails `e`: the Date header's day
 * as written (sent_day, midnight UTC of that date), else its instant (messages stored before
 * sent_day), else the internal date (no Date header, as RFC 5256 §2.2 for SORT DATE).
 */
export const SENT_KEY = "COALESCE(e.sent_day * 86400000, e.sent_at, e.received_at)";

/**
 * An address list as indexed: "Name <addr>" (or "addr") joined by ", ", then the names of its
 * groups (RFC 5322 §3.4 "name: members;"): SEARCH TO matches the envelope's field (RFC 9051
 * §6.4.4), where a group's name stands (RFC 9051 §7.5.2), as its members' addresses do.
 */
function addressText(
  list: ReadonlyArray<{ name: string | null; address: string }>,
  envelope: readonly EnvelopeAddress[] = [],
): string {
  const parts = list.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address));
  // a group's start marker: host NIL, mailbox the group's name
  for (const e of envelope) if (e.host === null && e.mailbox !== null) parts.push(e.mailbox);
  return parts.join(", ");
}

/**
 * The indexed text of a message, built by the store from the ParsedMessage at ingest:
 * addresses as "Name <addr>" joined by ", ", headers one "name: value" per line (raw values),
 * body = parsed.text.
 */
export function buildSearchDocument(parsed: ParsedMessage): SearchDocument {
  return {
    from: addressText(parsed.from, parsed.envelope.from),
    to: addressText(parsed.to, parsed.envelope.to),
    cc: addressText(parsed.cc, parsed.envelope.cc),
    bcc: addressText(parsed.bcc, parsed.envelope.bcc),
    subject: parsed.subject ?? "",
    headers: parsed.headers.map((h) => `${h.name}: ${h.value}`).join("\n"),
    body: parsed.text,
  };
}
