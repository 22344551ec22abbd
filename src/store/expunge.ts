// Removing emails from mailboxes: IMAP EXPUNGE/UID EXPUNGE/MOVE, JMAP Email/set destroy,
// mailbox deletion. Every removed membership leaves a tombstone (RFC 7162 §3.2.10 VANISHED);
// an email left in no mailbox is destroyed: its message ids, search entry and row go, its
// quota is freed, its thread loses it (and is destroyed when empty). Blobs stay until
// collectGarbage() (another email, or another account, may share them).
import type { StoreContext, WriteContext } from "./context.ts";
import { chunks, insertMany, marks, writeAccount } from "./context.ts";
import { hasSeen } from "./keywords.ts";
import type { ExpungeResult, Id } from "./types.ts";
import { StoreError } from "../core/errors.ts";

export interface MemberRow {
  uid: number;
  email_num: number;
  email_id: string;
  keywords: string;
  size: number;
}

const MEMBER_SELECT = `SELECT m.uid, m.email_num, e.id AS email_id, e.keywords, e.size
  FROM memberships m JOIN emails e ON e.num = m.email_num`;

export async function membersByUid(
  w: WriteContext,
  mailboxNum: number,
  uids: number[],
): Promise<MemberRow[]> {
  const out: MemberRow[] = [];
  for (const part of chunks([...new Set(uids)])) {
    out.push(
      ...(await w.tx.all<MemberRow>(
        `${MEMBER_SELECT} WHERE m.mailbox_num = ? AND m.uid IN (${marks(part.length)})`,
        [mailboxNum, ...part],
      )),
    );
  }
  return out.sort((a, b) => a.uid - b.uid);
}

export async function allMembers(w: WriteContext, mailboxNum: number): Promise<MemberRow[]> {
  return w.tx.all<MemberRow>(`${MEMBER_SELECT} WHERE m.mailbox_num = ? ORDER BY m.uid`, [mailboxNum]);
}

/** Deletes memberships of one mailbox, with tombstones, and adjusts its counters. */
export async function removeMemberships(
  w: WriteContext,
  mailbox: { num: number; id: string },
  members: MemberRow[],
  tombstones = true,
): Promise<void> {
  if (members.length === 0) return;
  const modseq = w.modseq;
  for (const part of chunks(members)) {
    await w.tx.run(`DELETE FROM memberships WHERE mailbox_num = ? AND uid IN (${marks(part.length)})`, [
      mailbox.num,
      ...part.map((m) => m.uid),
    ]);
  }
  if (tombstones) {
    await insertMany(
      w.tx,
      "INSERT INTO tombstones (mailbox_num, uid, modseq) VALUES ",
      "(?, ?, ?)",
      members.map((m) => [mailbox.num, m.uid, modseq]),
    );
  }
  let unseen = 0;
  let size = 0;
  for (const m of members) {
    if (!hasSeen(m.keywords)) unseen++;
    size += m.size;
  }
  w.mailbox(mailbox.num, mailbox.id, { total: -members.length, unseen: -unseen, size: -size });
}

/**
 * After memberships were removed: destroys the emails left in no mailbox and marks the
 * others updated (their mailboxIds changed).
 */
export async function settleEmails(ctx: StoreContext, w: WriteContext, emailNums: number[]): Promise<Id[]> {
  const nums = [...new Set(emailNums)];
  if (nums.length === 0) return [];
  const kept = new Set<number>();
  for (const part of chunks(nums)) {
    const rows = await w.tx.all<{ email_num: number }>(
      `SELECT DISTINCT email_num FROM memberships WHERE email_num IN (${marks(part.length)})`,
      part,
    );
    for (const r of rows) kept.add(r.email_num);
  }
  const keep = nums.filter((n) => kept.has(n));
  for (const part of chunks(keep)) {
    const rows = await w.tx.all<{ id: string }>(
      `UPDATE emails SET modseq = ? WHERE num IN (${marks(part.length)}) RETURNING id`,
      [w.modseq, ...part],
    );
    for (const r of rows) w.record("Email", r.id, "updated");
  }
  return destroyEmailRows(
    ctx,
    w,
    nums.filter((n) => !kept.has(n)),
  );
}

/** Destroys email rows (their memberships must be gone already). */
export async function destroyEmailRows(ctx: StoreContext, w: WriteContext, nums: number[]): Promise<Id[]> {
  if (nums.length === 0) return [];
  const destroyed: Id[] = [];
  const threads = new Map<number, string>();
  for (const part of chunks(nums)) {
    const rows = await w.tx.all<{
      num: number;
      id: string;
      size: number;
      thread_num: number;
      thread_id: string;
    }>(
      `SELECT e.num, e.id, e.size, e.thread_num, t.id AS thread_id FROM emails e JOIN threads t ON t.num = e.thread_num
        WHERE e.num IN (${marks(part.length)})`,
      part,
    );
    await w.tx.run(`DELETE FROM message_ids WHERE email_num IN (${marks(part.length)})`, part);
    await ctx.search.remove(w.tx, part);
    await w.tx.run(`DELETE FROM emails WHERE num IN (${marks(part.length)})`, part);
    for (const r of rows) {
      w.usedBytes -= r.size;
      w.usedMessages -= 1;
      w.record("Email", r.id, "destroyed");
      threads.set(r.thread_num, r.thread_id);
      destroyed.push(r.id);
    }
  }
  for (const [num, id] of threads) {
    const left = await w.tx.get<{ n: number }>("SELECT count(*) AS n FROM emails WHERE thread_num = ?", [
      num,
    ]);
    if (Number(left?.n ?? 0) === 0) {
      await w.tx.run("DELETE FROM threads WHERE num = ?", [num]);
      w.record("Thread", id, "destroyed");
    } else {
      w.record("Thread", id, "updated");
    }
  }
  return destroyed;
}

export async function mailboxRow(
  w: WriteContext,
  mailboxId: Id,
): Promise<{ num: number; id: string; uid_validity: number }> {
  const row = await w.tx.get<{ num: number; id: string; uid_validity: number }>(
    "SELECT num, id, uid_validity FROM mailboxes WHERE id = ? AND account_num = ?",
    [mailboxId, w.account.num],
  );
  if (!row) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
  return row;
}

/** Removes the given UIDs from the mailbox inside `w` (shared by expunge and move). */
export async function expungeIn(
  ctx: StoreContext,
  w: WriteContext,
  mailbox: { num: number; id: string },
  uids: number[],
): Promise<number[]> {
  const members = await membersByUid(w, mailbox.num, uids);
  if (members.length === 0) return [];
  await removeMemberships(w, mailbox, members);
  await settleEmails(
    ctx,
    w,
    members.map((m) => m.email_num),
  );
  return members.map((m) => m.uid);
}

export async function expunge(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  uids: number[],
): Promise<ExpungeResult> {
  return writeAccount(ctx, accountId, async (w) => {
    const mailbox = await mailboxRow(w, mailboxId);
    return { uids: await expungeIn(ctx, w, mailbox, uids) };
  });
}

export async function destroyEmails(
  ctx: StoreContext,
  accountId: Id,
  emailIds: Id[],
): Promise<{ modseq: number; destroyed: Id[] }> {
  return writeAccount(ctx, accountId, async (w) => {
    const nums: number[] = [];
    for (const part of chunks([...new Set(emailIds)])) {
      const rows = await w.tx.all<{ num: number }>(
        `SELECT num FROM emails WHERE +account_num = ? AND id IN (${marks(part.length)})`,
        [w.account.num, ...part],
      );
      nums.push(...rows.map((r) => r.num));
    }
    if (nums.length === 0) return { destroyed: [] };
    const byMailbox = new Map<number, { id: string; members: MemberRow[] }>();
    for (const part of chunks(nums)) {
      const rows = await w.tx.all<MemberRow & { mailbox_num: number; mailbox_id: string }>(
        `SELECT m.mailbox_num, b.id AS mailbox_id, m.uid, m.email_num, e.id AS email_id, e.keywords, e.size
           FROM memberships m JOIN emails e ON e.num = m.email_num JOIN mailboxes b ON b.num = m.mailbox_num
          WHERE m.email_num IN (${marks(part.length)})`,
        part,
      );
      for (const r of rows) {
        let g = byMailbox.get(r.mailbox_num);
        if (!g) byMailbox.set(r.mailbox_num, (g = { id: r.mailbox_id, members: [] }));
        g.members.push(r);
      }
    }
    for (const [num, g] of byMailbox) await removeMemberships(w, { num, id: g.id }, g.members);
    return { destroyed: await destroyEmailRows(ctx, w, nums) };
  });
}
