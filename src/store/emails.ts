// Reading emails and message lists, and keyword changes (IMAP STORE, JMAP keywords).
// The list queries are single prepared statements joined in SQL (no per-row queries) and
// parse only the JSON they return: listing 10,000 messages is one statement.
import { StoreError, isStoreError } from "../core/errors.ts";
import type { Envelope, ParsedMessage } from "../mail/types.ts";
import type { StoreContext } from "./context.ts";
import { accountNum, chunks, marks, writeAccount } from "./context.ts";
import { SEEN, applyKeywordChange, parseKeywords, sameKeywords } from "./keywords.ts";
import type { SqlExecutor } from "./sql.ts";
import { mailboxWithNum } from "./mailboxes.ts";
import type { Email, Id, KeywordChange, MailboxDelta, MessageRow } from "./types.ts";

async function mailboxNum(db: SqlExecutor, accountId: Id, mailboxId: Id): Promise<number> {
  const row = await db.get<{ num: number }>(
    "SELECT b.num FROM mailboxes b JOIN accounts a ON a.num = b.account_num WHERE b.id = ? AND a.id = ?",
    [mailboxId, accountId],
  );
  if (!row) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
  return row.num;
}

interface ListRow {
  uid: number;
  email_id: string;
  thread_id: string;
  mmod: number;
  keywords: string;
  size: number;
  received_at: number;
  received_tz: number;
  saved_at: number;
}

// A message's IMAP MODSEQ is its membership's: set when it entered the mailbox and at each
// keyword change (which also moves every containing mailbox's HIGHESTMODSEQ), so it never
// exceeds the mailbox's HIGHESTMODSEQ (RFC 7162 §3.1.1).
const LIST_SQL = `SELECT m.uid, e.id AS email_id, t.id AS thread_id, m.modseq AS mmod,
    e.keywords, e.size, e.received_at, e.received_tz, m.saved_at
  FROM memberships m JOIN emails e ON e.num = m.email_num JOIN threads t ON t.num = e.thread_num`;

const LIST_SQL_ENVELOPE = `SELECT m.uid, e.id AS email_id, t.id AS thread_id, m.modseq AS mmod,
    e.keywords, e.size, e.received_at, e.received_tz, m.saved_at, x.envelope
  FROM memberships m JOIN emails e ON e.num = m.email_num JOIN threads t ON t.num = e.thread_num
  JOIN email_meta x ON x.email_num = e.num`;

function toMessageRow(r: ListRow): MessageRow {
  return {
    uid: r.uid,
    emailId: r.email_id,
    threadId: r.thread_id,
    modseq: r.mmod,
    keywords: parseKeywords(r.keywords),
    size: r.size,
    receivedAt: r.received_at,
    receivedTz: Number(r.received_tz),
    savedAt: r.saved_at,
  };
}

export async function listMessages(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  opts?: { fromUid?: number; withEnvelope?: boolean },
): Promise<MessageRow[]> {
  const db = ctx.driver;
  const num = await mailboxNum(db, accountId, mailboxId);
  if (opts?.withEnvelope) {
    // One ordered walk of the mailbox's memberships: the envelopes come with the rows, in
    // UID order, with no lookups by id (FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)).
    const rows = await db.all<ListRow & { envelope: string }>(
      `${LIST_SQL_ENVELOPE} WHERE m.mailbox_num = ? AND m.uid >= ? ORDER BY m.uid`,
      [num, opts.fromUid ?? 1],
    );
    return rows.map((r) => ({ ...toMessageRow(r), envelope: JSON.parse(r.envelope) as Envelope }));
  }
  const rows = await db.all<ListRow>(`${LIST_SQL} WHERE m.mailbox_num = ? AND m.uid >= ? ORDER BY m.uid`, [
    num,
    opts?.fromUid ?? 1,
  ]);
  return rows.map(toMessageRow);
}

export async function changedMessages(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  since: number,
): Promise<MessageRow[]> {
  const db = ctx.driver;
  return changedIn(db, await mailboxNum(db, accountId, mailboxId), since);
}

async function changedIn(db: SqlExecutor, num: number, since: number): Promise<MessageRow[]> {
  const rows = await db.all<ListRow>(`${LIST_SQL} WHERE m.mailbox_num = ? AND m.modseq > ? ORDER BY m.uid`, [
    num,
    since,
  ]);
  return rows.map(toMessageRow);
}

/**
 * UIDs expunged after `since`; StoreError("LIMIT") when tombstones after it were dropped
 * (the mailbox's expunges_floor is above it, see retention.ts).
 */
export async function expungedSince(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  since: number,
): Promise<number[]> {
  const db = ctx.driver;
  return expungedIn(db, await mailboxNum(db, accountId, mailboxId), since);
}

async function expungedIn(db: SqlExecutor, num: number, since: number): Promise<number[]> {
  // One statement, one snapshot: the tombstones with the floor of the same moment (compaction
  // raises the floor in the transaction that drops them). The floor comes first, as UID 0.
  const rows = await db.all<{ uid: number; floor: number }>(
    `SELECT 0 AS uid, expunges_floor AS floor FROM mailboxes WHERE num = ?
     UNION ALL SELECT uid, 0 AS floor FROM tombstones WHERE mailbox_num = ? AND modseq > ?
     ORDER BY uid`,
    [num, num, since],
  );
  const floor = rows[0]?.uid === 0 ? Number(rows[0].floor) : 0;
  if (since < floor) throw new StoreError("LIMIT", `expunges before modseq ${floor} are no longer known`);
  return rows.filter((r) => r.uid !== 0).map((r) => r.uid);
}

/**
 * What a selected mailbox's view reads at each poll (IMAP untagged updates, IDLE): the mailbox
 * first (its highestModSeq never runs ahead of the rows read after it), then the messages
 * changed and the UIDs expunged after `since`, by the mailbox's row number: three statements.
 * `expunged` is null when the expunges after `since` are no longer known (expungedSince's
 * LIMIT); `mailbox` null when the mailbox is gone.
 */
export async function mailboxDelta(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  since: number,
): Promise<MailboxDelta> {
  const db = ctx.driver;
  const found = await mailboxWithNum(db, accountId, mailboxId);
  if (found === null) return { mailbox: null, changed: [], expunged: [] };
  const changed = await changedIn(db, found.num, since);
  const expunged = await expungedIn(db, found.num, since).catch((e: unknown) => {
    if (isStoreError(e, "LIMIT")) return null;
    throw e;
  });
  return { mailbox: found.mailbox, changed, expunged };
}

interface EmailRow {
  num: number;
  id: string;
  thread_id: string;
  blob_id: string;
  size: number;
  received_at: number;
  sent_at: number | null;
  keywords: string;
  modseq: number;
}

export async function getEmails(ctx: StoreContext, accountId: Id, ids: Id[]): Promise<Email[]> {
  const db = ctx.driver;
  const acct = await accountNum(db, accountId);
  const out: Email[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db.all<EmailRow>(
      `SELECT e.num, e.id, t.id AS thread_id, e.blob_id, e.size, e.received_at, e.sent_at, e.keywords, e.modseq
         FROM emails e JOIN threads t ON t.num = e.thread_num
        WHERE +e.account_num = ? AND e.id IN (${marks(part.length)})`,
      [acct, ...part],
    );
    if (rows.length === 0) continue;
    const boxes = await db.all<{ email_num: number; id: string }>(
      `SELECT m.email_num, b.id FROM memberships m JOIN mailboxes b ON b.num = m.mailbox_num
        WHERE m.email_num IN (${marks(rows.length)}) ORDER BY b.num`,
      rows.map((r) => r.num),
    );
    const byEmail = new Map<number, Id[]>();
    for (const b of boxes) {
      const list = byEmail.get(b.email_num);
      if (list) list.push(b.id);
      else byEmail.set(b.email_num, [b.id]);
    }
    for (const r of rows) {
      out.push({
        id: r.id,
        accountId,
        blobId: r.blob_id,
        threadId: r.thread_id,
        size: r.size,
        receivedAt: r.received_at,
        sentAt: r.sent_at,
        keywords: parseKeywords(r.keywords),
        mailboxIds: byEmail.get(r.num) ?? [],
        modseq: r.modseq,
      });
    }
  }
  const order = new Map(ids.map((id, i) => [id, i]));
  return out.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

/**
 * Selects `cols` of the account's emails with the given ids. Many ids against a small
 * account: one scan of the account's rows filtered in JS beats thousands of index lookups
 * (FETCH ENVELOPE of a whole 10,000-message mailbox is one ~20 ms scan).
 */
async function emailsByIds<T extends { id: string }>(
  db: SqlExecutor,
  accountId: Id,
  ids: Id[],
  cols: string,
): Promise<T[]> {
  const acct = await db.get<{ num: number; used_messages: number }>(
    "SELECT num, used_messages FROM accounts WHERE id = ?",
    [accountId],
  );
  if (!acct) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  const wanted = [...new Set(ids)];
  const from = "FROM emails e JOIN email_meta x ON x.email_num = e.num";
  if (wanted.length >= 200 && wanted.length * 4 >= acct.used_messages) {
    const set = new Set(wanted);
    const rows = await db.all<T>(`SELECT e.id, ${cols} ${from} WHERE e.account_num = ?`, [acct.num]);
    return rows.filter((r) => set.has(r.id));
  }
  const out: T[] = [];
  for (const part of chunks(wanted)) {
    out.push(
      ...(await db.all<T>(
        `SELECT e.id, ${cols} ${from} WHERE +e.account_num = ? AND e.id IN (${marks(part.length)})`,
        [acct.num, ...part],
      )),
    );
  }
  return out;
}

export async function getParsed(
  ctx: StoreContext,
  accountId: Id,
  ids: Id[],
): Promise<Map<Id, Omit<ParsedMessage, "text">>> {
  const out = new Map<Id, Omit<ParsedMessage, "text">>();
  const rows = await emailsByIds<{ id: string; envelope: string; meta: string }>(
    ctx.driver,
    accountId,
    ids,
    "x.envelope, x.meta",
  );
  for (const r of rows) {
    const meta = JSON.parse(r.meta) as Omit<ParsedMessage, "text" | "envelope">;
    out.set(r.id, { ...meta, envelope: JSON.parse(r.envelope) as Envelope });
  }
  return out;
}

export async function getEnvelopes(ctx: StoreContext, accountId: Id, ids: Id[]): Promise<Map<Id, Envelope>> {
  const out = new Map<Id, Envelope>();
  const rows = await emailsByIds<{ id: string; envelope: string }>(ctx.driver, accountId, ids, "x.envelope");
  for (const r of rows) out.set(r.id, JSON.parse(r.envelope) as Envelope);
  return out;
}

export async function getRaw(ctx: StoreContext, accountId: Id, emailId: Id): Promise<Buffer | null> {
  const row = await ctx.driver.get<{ blob_id: string }>(
    "SELECT e.blob_id FROM emails e JOIN accounts a ON a.num = e.account_num WHERE e.id = ? AND a.id = ?",
    [emailId, accountId],
  );
  if (!row) return null;
  return ctx.blobs.get(row.blob_id);
}

export async function setKeywords(
  ctx: StoreContext,
  accountId: Id,
  emailIds: Id[],
  change: KeywordChange,
  opts?: { unchangedSince?: number; waitDurable?: boolean },
): Promise<{ modseq: number; updated: Id[]; conflicts: Id[]; keywords: Map<Id, string[]> }> {
  return writeAccount(
    ctx,
    accountId,
    async (w) => {
      const updated: Id[] = [];
      const conflicts: Id[] = [];
      const keywords = new Map<Id, string[]>();
      for (const part of chunks([...new Set(emailIds)])) {
        const rows = await w.tx.all<{ num: number; id: string; keywords: string; flags_modseq: number }>(
          `SELECT num, id, keywords, flags_modseq FROM emails WHERE +account_num = ? AND id IN (${marks(part.length)})`,
          [w.account.num, ...part],
        );
        // Changed emails grouped by their new keyword set: "mark all read" on 10,000 messages
        // is a few statements per chunk, not four per message.
        const byKeywords = new Map<string, number[]>();
        const seenDelta = new Map<number, number>();
        for (const r of rows) {
          // RFC 7162 §3.1.3: UNCHANGEDSINCE fails for messages whose flags changed after it.
          if (opts?.unchangedSince !== undefined && r.flags_modseq > opts.unchangedSince) {
            conflicts.push(r.id);
            continue;
          }
          const before = parseKeywords(r.keywords);
          const after = applyKeywordChange(before, change);
          if (sameKeywords(before, after)) continue;
          const json = JSON.stringify(after);
          const list = byKeywords.get(json);
          if (list) list.push(r.num);
          else byKeywords.set(json, [r.num]);
          const seenBefore = before.includes(SEEN);
          const seenAfter = after.includes(SEEN);
          seenDelta.set(r.num, seenBefore === seenAfter ? 0 : seenAfter ? -1 : 1);
          w.record("Email", r.id, "updated");
          updated.push(r.id);
          keywords.set(r.id, after);
        }
        if (seenDelta.size === 0) continue;
        const modseq = w.modseq;
        for (const [json, nums] of byKeywords) {
          await w.tx.run(
            `UPDATE emails SET keywords = ?, modseq = ?, flags_modseq = ? WHERE num IN (${marks(nums.length)})`,
            [json, modseq, modseq, ...nums],
          );
        }
        const nums = [...seenDelta.keys()];
        const boxes = await w.tx.all<{ email_num: number; num: number; id: string }>(
          `SELECT m.email_num, b.num, b.id FROM memberships m JOIN mailboxes b ON b.num = m.mailbox_num
          WHERE m.email_num IN (${marks(nums.length)})`,
          nums,
        );
        await w.tx.run(`UPDATE memberships SET modseq = ? WHERE email_num IN (${marks(nums.length)})`, [
          modseq,
          ...nums,
        ]);
        for (const b of boxes) w.mailbox(b.num, b.id, { unseen: seenDelta.get(b.email_num) ?? 0 });
      }
      return { updated, conflicts, keywords };
    },
    opts?.waitDurable === false ? { waitDurable: false } : undefined,
  );
}
