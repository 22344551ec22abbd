// Retention of the change history (DESIGN.md "Changes are first class"): the change rows
// (JMAP /changes, RFC 8620 §5.2) and the tombstones of expunged messages (QRESYNC VANISHED,
// RFC 7162 §3.2.5, §3.2.6) grow with every write; compaction drops what is older than a
// horizon. What stays tells what it still covers:
// - accounts.changes_floor: every change after it is in `changes`; changesSince() older than
//   it fails with LIMIT (JMAP cannotCalculateChanges);
// - mailboxes.expunges_floor: the highest modseq of a tombstone of the mailbox dropped; every
//   expunge after it has its tombstone, expungedSince() older than it fails with LIMIT and
//   IMAP falls back to the client's known UIDs (src/protocols/imap/server/vanished.ts). Per
//   mailbox, so that a mailbox nothing was expunged from for months still answers exactly.
//
// Modseqs are counters, not times: history_marks records an account's modseq now and then
// (at most one row per 30th of the horizon, and none while the account does not change), and
// "older than the horizon" is "at or below the newest mark taken before it". So history is
// dropped a little later than the horizon, never earlier; after an upgrade nothing is dropped
// until the first marks are a horizon old.
//
// Cheap: small transactions (a few thousand rows each), so the SQLite writer is never held
// long and PostgreSQL writers of the account wait for one batch at most. Idempotent: every
// step re-reads the floor under the account lock, so two processes running it at once (the
// server holds a lease to avoid that) only repeat no-op statements.
import { StoreError, isStoreError } from "../core/errors.ts";
import type { StoreContext } from "./context.ts";
import { lockAccount } from "./context.ts";
import type { SqlExecutor } from "./sql.ts";
import type { Id } from "./types.ts";

export interface CompactHistoryOptions {
  /** History older than this time (ms since the epoch) goes. */
  before: number;
  /** The horizon (now - before): marks are taken at most every 30th of it. */
  horizonMs: number;
  /** Change rows per transaction; default 2,000. */
  batch?: number;
  /** Asked between transactions; false stops (a lost lease, a server stopping). */
  proceed?: () => boolean | Promise<boolean>;
}

export interface CompactHistoryResult {
  /** Accounts whose history was cut. */
  accounts: number;
  /** Change rows and tombstones dropped. */
  changes: number;
  tombstones: number;
  /** False when `proceed` stopped it before the last account. */
  finished: boolean;
}

const PAGE = 500;

/** Marks every account's modseq, then drops each account's history older than `before`. */
export async function compactHistory(
  ctx: StoreContext,
  opts: CompactHistoryOptions,
): Promise<CompactHistoryResult> {
  const out: CompactHistoryResult = { accounts: 0, changes: 0, tombstones: 0, finished: false };
  const proceed = opts.proceed ?? (() => true);
  await markHistory(ctx, Math.max(1, Math.floor(opts.horizonMs / 30)));
  for (let after = 0; ;) {
    const page = await ctx.driver.all<{ num: number; id: string; floor: number; target: number | null }>(
      `SELECT a.num, a.id, a.changes_floor AS floor,
          (SELECT MAX(m.modseq) FROM history_marks m WHERE m.account_num = a.num AND m.at <= ?) AS target
         FROM accounts a WHERE a.num > ? ORDER BY a.num LIMIT ?`,
      [opts.before, after, PAGE],
    );
    for (const a of page) {
      if (!(await proceed())) return out;
      if (a.target === null || Number(a.target) <= a.floor) continue;
      const target = Number(a.target);
      const r = await compactAccount(ctx, a.id, target, { batch: opts.batch ?? 2_000, proceed });
      out.accounts++;
      out.changes += r.changes;
      out.tombstones += r.tombstones;
      if (r.stopped) return out;
      // the marks before the one used tell nothing any more (a quiet account adds none, so
      // its target stays at its floor and there is nothing to prune)
      await ctx.driver.run("DELETE FROM history_marks WHERE account_num = ? AND modseq < ?", [a.num, target]);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.num ?? after;
  }
  out.finished = true;
  return out;
}

/**
 * Records each account's modseq now, unless a mark newer than `spacingMs` exists or the
 * account did not change since its last mark (that mark still tells its modseq now).
 */
async function markHistory(ctx: StoreContext, spacingMs: number): Promise<void> {
  const now = ctx.clock.now();
  for (let after = 0; ;) {
    const last = await ctx.driver.get<{ num: number | null; n: number }>(
      "SELECT MAX(num) AS num, COUNT(*) AS n FROM (SELECT num FROM accounts WHERE num > ? ORDER BY num LIMIT ?) p",
      [after, PAGE],
    );
    if (!last || last.num === null) return;
    await ctx.driver.run(
      `INSERT INTO history_marks (account_num, modseq, at)
       SELECT a.num, a.modseq, ? FROM accounts a
        WHERE a.num > ? AND a.num <= ?
          AND NOT EXISTS (SELECT 1 FROM history_marks m
                           WHERE m.account_num = a.num AND (m.at > ? OR m.modseq >= a.modseq))
       ON CONFLICT (account_num, modseq) DO NOTHING`,
      [now, after, last.num, now - spacingMs],
    );
    if (Number(last.n) < PAGE) return;
    after = Number(last.num);
  }
}

/**
 * Drops the account's change rows and tombstones at or below `upTo` (at most its modseq), a
 * batch per transaction, raising changes_floor and the mailboxes' expunges_floor with each
 * batch. Returns what it dropped, and whether `proceed` stopped it before `upTo`. An account
 * deleted meanwhile ends it quietly.
 */
export async function compactAccount(
  ctx: StoreContext,
  accountId: Id,
  upTo: number,
  opts: { batch?: number; proceed?: () => boolean | Promise<boolean> } = {},
): Promise<{ changes: number; tombstones: number; stopped: boolean }> {
  const batch = Math.max(1, opts.batch ?? 2_000);
  let changes = 0;
  let tombstones = 0;
  for (let first = true; ; first = false) {
    if (!first && opts.proceed && !(await opts.proceed())) return { changes, tombstones, stopped: true };
    let step: { changes: number; tombstones: number; done: boolean };
    try {
      step = await ctx.driver.transaction((tx) => compactStep(tx, accountId, upTo, batch));
    } catch (e) {
      if (isStoreError(e, "NOTFOUND")) break;
      throw e;
    }
    changes += step.changes;
    tombstones += step.tombstones;
    if (step.done) break;
  }
  return { changes, tombstones, stopped: false };
}

async function compactStep(
  tx: SqlExecutor,
  accountId: Id,
  upTo: number,
  batch: number,
): Promise<{ changes: number; tombstones: number; done: boolean }> {
  // The account lock orders this with the account's writers and with another compaction.
  const acct = await lockAccount(tx, accountId);
  const cur = await tx.get<{ changes_floor: number }>("SELECT changes_floor FROM accounts WHERE num = ?", [
    acct.num,
  ]);
  if (!cur) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  const target = Math.min(upTo, acct.modseq);
  if (target <= cur.changes_floor) return { changes: 0, tombstones: 0, done: true };
  // This batch ends at the modseq of the batch-th row past the floor (a modseq is never split).
  const cut = await tx.get<{ modseq: number }>(
    `SELECT modseq FROM changes WHERE account_num = ? AND modseq > ? AND modseq <= ?
      ORDER BY modseq LIMIT 1 OFFSET ?`,
    [acct.num, cur.changes_floor, target, batch - 1],
  );
  const bound = cut ? Math.min(cut.modseq, target) : target;
  // The floors rise in the same transaction as the deletes: a reader that misses a row sees
  // the raised floor when it reads it after the rows (changesSince, expungedSince). Every
  // tombstone left is above changes_floor >= expunges_floor, so expunges_floor only rises.
  await tx.run(
    `UPDATE mailboxes SET expunges_floor =
       (SELECT MAX(t.modseq) FROM tombstones t WHERE t.mailbox_num = mailboxes.num AND t.modseq <= ?)
      WHERE account_num = ?
        AND EXISTS (SELECT 1 FROM tombstones t WHERE t.mailbox_num = mailboxes.num AND t.modseq <= ?)`,
    [bound, acct.num, bound],
  );
  await tx.run("UPDATE accounts SET changes_floor = ? WHERE num = ? AND changes_floor < ?", [
    bound,
    acct.num,
    bound,
  ]);
  const t = await tx.run(
    "DELETE FROM tombstones WHERE modseq <= ? AND mailbox_num IN (SELECT num FROM mailboxes WHERE account_num = ?)",
    [bound, acct.num],
  );
  const c = await tx.run("DELETE FROM changes WHERE account_num = ? AND modseq <= ?", [acct.num, bound]);
  return { changes: c.changes, tombstones: t.changes, done: bound >= target };
}
