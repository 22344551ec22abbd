// The change log (DESIGN.md "Changes are first class"): JMAP /changes (RFC 8620 §5.2),
// DAV sync (RFC 6578) and IMAP CONDSTORE/QRESYNC (RFC 7162) read the account's modseq and
// the rows every write adds (see WriteContext in context.ts).
//
// Retention (retention.ts, run by the server every store.historyCompactMinutes): change rows
// and tombstones older than store.historyDays are dropped and the account's changes_floor
// (and each mailbox's expunges_floor) raised; a client whose state is older then gets LIMIT
// (JMAP cannotCalculateChanges; IMAP QRESYNC answers from the client's known UIDs).
import { StoreError } from "../core/errors.ts";
import type { StoreContext } from "./context.ts";
import { marks } from "./context.ts";
import { compactAccount } from "./retention.ts";
import type { ChangeOp, ChangeRecord, Id, ObjectType } from "./types.ts";

export async function currentModSeq(ctx: StoreContext, accountId: Id): Promise<number> {
  const row = await ctx.driver.get<{ modseq: number }>("SELECT modseq FROM accounts WHERE id = ?", [
    accountId,
  ]);
  if (!row) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  return row.modseq;
}

/**
 * Changes after `since`, oldest first. A page never splits one modseq (so the modseq
 * returned with hasMore is a state a client can resume from); a single modseq with more
 * rows than `limit` is returned whole.
 */
export async function changesSince(
  ctx: StoreContext,
  accountId: Id,
  since: number,
  opts?: { types?: ObjectType[]; limit?: number },
): Promise<{ changes: ChangeRecord[]; hasMore: boolean; modseq: number }> {
  const db = ctx.driver;
  const acct = await db.get<{ num: number; modseq: number; changes_floor: number }>(
    "SELECT num, modseq, changes_floor FROM accounts WHERE id = ?",
    [accountId],
  );
  if (!acct) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  if (!Number.isSafeInteger(since) || since < acct.changes_floor || since > acct.modseq) {
    throw new StoreError("LIMIT", `cannot calculate changes since ${since}`);
  }
  const out = await readChanges(ctx, acct, since, opts);
  // Compaction may have committed between the reads: the floor read after the rows tells
  // whether they are whole (it rises in the transaction that deletes them).
  const after = await db.get<{ changes_floor: number }>("SELECT changes_floor FROM accounts WHERE num = ?", [
    acct.num,
  ]);
  if (after && since < after.changes_floor)
    throw new StoreError("LIMIT", `cannot calculate changes since ${since}`);
  return out;
}

async function readChanges(
  ctx: StoreContext,
  acct: { num: number; modseq: number },
  since: number,
  opts?: { types?: ObjectType[]; limit?: number },
): Promise<{ changes: ChangeRecord[]; hasMore: boolean; modseq: number }> {
  const db = ctx.driver;
  const limit = Math.max(1, opts?.limit ?? 10_000);
  const types = opts?.types;
  if (types && types.length === 0) return { changes: [], hasMore: false, modseq: acct.modseq };
  const typeSql = types ? ` AND type IN (${marks(types.length)})` : "";
  const rows = await db.all<{ modseq: number; type: string; object_id: string; op: string }>(
    `SELECT modseq, type, object_id, op FROM changes WHERE account_num = ? AND modseq > ? AND modseq <= ?${typeSql}
      ORDER BY modseq, type, object_id LIMIT ?`,
    [acct.num, since, acct.modseq, ...(types ?? []), limit + 1],
  );
  const toRecord = (r: (typeof rows)[number]): ChangeRecord => ({
    modseq: r.modseq,
    type: r.type as ObjectType,
    id: r.object_id,
    op: r.op as ChangeOp,
  });
  if (rows.length <= limit) return { changes: rows.map(toRecord), hasMore: false, modseq: acct.modseq };
  // More than a page: cut before the modseq of the row past the limit...
  const cutModseq = rows[limit]?.modseq ?? 0;
  let page = rows.slice(0, limit).filter((r) => r.modseq < cutModseq);
  if (page.length === 0) {
    // ...unless that modseq alone fills the page: return it whole.
    page = await db.all<{ modseq: number; type: string; object_id: string; op: string }>(
      `SELECT modseq, type, object_id, op FROM changes WHERE account_num = ? AND modseq = ?${typeSql}
        ORDER BY type, object_id`,
      [acct.num, cutModseq, ...(types ?? [])],
    );
    const more = await db.get<{ n: number }>(
      `SELECT 1 AS n FROM changes WHERE account_num = ? AND modseq > ? AND modseq <= ?${typeSql} LIMIT 1`,
      [acct.num, cutModseq, acct.modseq, ...(types ?? [])],
    );
    return { changes: page.map(toRecord), hasMore: !!more, modseq: more ? cutModseq : acct.modseq };
  }
  const last = page[page.length - 1]?.modseq ?? since;
  return { changes: page.map(toRecord), hasMore: true, modseq: last };
}

/** Drops the log at or below `upTo` now, whatever its age (see retention.ts). */
export async function compactChanges(ctx: StoreContext, accountId: Id, upTo: number): Promise<void> {
  const acct = await ctx.driver.get<{ n: number }>("SELECT 1 AS n FROM accounts WHERE id = ?", [accountId]);
  if (!acct) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  await compactAccount(ctx, accountId, upTo);
}
