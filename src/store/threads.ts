// Thread assignment at ingest (RFC 8621 §3, after RFC 5256 §2.1 base subjects).
// Rule (the one Gmail and Stalwart follow): a new email joins the thread of an existing
// email of the account when one of its ids (Message-ID, In-Reply-To, References) is one of
// that email's ids or references, AND their base subjects are equal (case-insensitively);
// an empty base subject on either side matches any. Otherwise it starts a new thread. A
// thread id never changes once given (RFC 8621 §3: threadId is immutable), so threads are
// never merged later.
import { newId } from "../core/ids.ts";
import type { WriteContext } from "./context.ts";
import { insertMany, marks } from "./context.ts";
import type { SqlExecutor } from "./sql.ts";

/** Ids are compared without angle brackets; RFC 5322 §3.6.4 ids are case-sensitive. */
export function threadingIds(p: {
  messageId: string[];
  inReplyTo: string[];
  references: string[];
}): string[] {
  const set = new Set<string>();
  for (const id of [...p.messageId, ...p.inReplyTo, ...p.references]) {
    const v = id.trim().replace(/^<|>$/g, "");
    if (v && v.length <= 998) set.add(v);
  }
  // Bound the work for messages with huge References headers: the nearest ancestors last.
  return [...set].slice(-100);
}

export interface ThreadChoice {
  num: number;
  id: string;
  created: boolean;
}

export async function chooseThread(
  w: WriteContext,
  ids: string[],
  baseSubject: string,
): Promise<ThreadChoice> {
  const subject = baseSubject.toLowerCase();
  if (ids.length > 0) {
    // LIMIT 1: many emails may share an id (duplicates, mailing-list copies); any match will do.
    const hit = await w.tx.get<{ thread_num: number; id: string }>(
      `SELECT m.thread_num, t.id FROM message_ids m JOIN threads t ON t.num = m.thread_num
        WHERE m.account_num = ? AND m.message_id IN (${marks(ids.length)})
          AND (m.base_subject = ? OR m.base_subject = '' OR ? = '') LIMIT 1`,
      [w.account.num, ...ids, subject, subject],
    );
    if (hit) return { num: hit.thread_num, id: hit.id, created: false };
  }
  return createThread(w.tx, w.account.num);
}

export async function createThread(tx: SqlExecutor, accountNum: number): Promise<ThreadChoice> {
  const id = newId("t");
  const row = await tx.get<{ num: number }>(
    "INSERT INTO threads (id, account_num) VALUES (?, ?) RETURNING num",
    [id, accountNum],
  );
  if (!row) throw new Error("thread insert returned nothing");
  return { num: row.num, id, created: true };
}

export async function recordMessageIds(
  w: WriteContext,
  emailNum: number,
  threadNum: number,
  ids: string[],
  baseSubject: string,
): Promise<void> {
  const subject = baseSubject.toLowerCase();
  await insertMany(
    w.tx,
    "INSERT INTO message_ids (account_num, message_id, thread_num, base_subject, email_num) VALUES ",
    "(?, ?, ?, ?, ?)",
    ids.map((id) => [w.account.num, id, threadNum, subject, emailNum]),
  );
}
