// IMAP4rev1 \Recent (RFC 3501 §2.3.2) across sessions, server restarts and server processes:
// per mailbox, the highest UID a session has already taken as \Recent (mailboxes.recent_uid,
// migration 9), as Dovecot keeps a "first recent UID" in its index. A session claims by
// raising the value to its highest UID; the UIDs above the old value are recent to that session
// only. Deliveries never write it (no work on the delivery path): the messages above it are the
// ones no session has seen as recent yet.
import { StoreError } from "../core/errors.ts";
import type { StoreContext } from "./context.ts";
import type { Id } from "./types.ts";

const READ = `SELECT m.num, m.recent_uid FROM mailboxes m JOIN accounts a ON a.num = m.account_num
  WHERE a.id = ? AND m.id = ?`;

/**
 * Raises the mailbox's claimed UID to `upToUid` and returns the value before it: the UIDs above
 * that value, up to `upToUid`, are the caller's \Recent messages. Reads only (no write, no
 * commit) when the stored value is at `upToUid` already; `upToUid` 0 just reads it.
 */
export async function claimRecent(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  upToUid: number,
): Promise<number> {
  const row = await ctx.driver.get<{ num: number; recent_uid: number }>(READ, [accountId, mailboxId]);
  if (!row) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
  if (row.recent_uid >= upToUid) return row.recent_uid;
  return ctx.driver.transaction(
    async (tx) => {
      // Read again under the write lock (SQLite's database lock; the row lock on PostgreSQL):
      // two claims, of one process or two, run one after the other and never share a UID.
      const lock = tx.dialect === "postgres" ? " FOR UPDATE" : "";
      const cur = await tx.get<{ recent_uid: number }>(
        `SELECT recent_uid FROM mailboxes WHERE num = ?${lock}`,
        [row.num],
      );
      if (!cur) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
      if (cur.recent_uid < upToUid)
        await tx.run("UPDATE mailboxes SET recent_uid = ? WHERE num = ?", [upToUid, row.num]);
      return cur.recent_uid;
    },
    // A claim lost in a crash only makes its messages recent once more, which §2.3.2 allows
    // ("SHOULD be considered recent" when it cannot be told): no wait for the disk.
    { waitDurable: false },
  );
}

/** RFC 3501 §6.3.10 STATUS RECENT: the messages above the claimed UID; 0 for no mailbox. */
export async function countRecent(ctx: StoreContext, accountId: Id, mailboxId: Id): Promise<number> {
  const row = await ctx.driver.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM mailboxes m JOIN accounts a ON a.num = m.account_num
       JOIN memberships ms ON ms.mailbox_num = m.num AND ms.uid > m.recent_uid
     WHERE a.id = ? AND m.id = ?`,
    [accountId, mailboxId],
  );
  return Number(row?.n ?? 0);
}

/** Mailboxes whose claimed UID one store remembers (the least recently claimed are dropped). */
const REMEMBERED = 10_000;

/**
 * claimRecent for one store (one process), without a store read when the answer is known:
 * when a delivery reaches 1,000 rev1 sessions of one mailbox, each claims the new UID at the
 * same moment; the first claim goes to the store, the others wait for it and then know the UID
 * is taken (before, each read and 999 then queued a write transaction to find it taken). The value
 * kept per mailbox is a lower bound of the stored one (which only rises), so "already claimed up
 * to here" read from it is always true; anything else goes to the store as before.
 */
export class RecentClaims {
  readonly #claimed = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<number>>();

  async claim(ctx: StoreContext, accountId: Id, mailboxId: Id, upToUid: number): Promise<number> {
    // EXAMINE (0) reads the stored value itself: another process may have claimed more.
    if (upToUid <= 0) return claimRecent(ctx, accountId, mailboxId, upToUid);
    const key = `${accountId}\u0000${mailboxId}`;
    let waited = false;
    for (let p = this.#inFlight.get(key); p !== undefined; p = this.#inFlight.get(key)) {
      waited = true;
      await p.catch(() => undefined);
    }
    // Only a claim that waited for another one takes its answer from memory: the mailbox
    // existed a moment ago. Otherwise the store says (and a deleted mailbox is NOTFOUND).
    const known = this.#claimed.get(key);
    if (waited && known !== undefined && known >= upToUid) return known;
    const p = claimRecent(ctx, accountId, mailboxId, upToUid);
    this.#inFlight.set(key, p);
    try {
      const before = await p;
      const now = Math.max(before, upToUid, this.#claimed.get(key) ?? 0);
      this.#claimed.delete(key); // re-inserted last: the map's order is recency
      this.#claimed.set(key, now);
      if (this.#claimed.size > REMEMBERED) {
        const oldest = this.#claimed.keys().next().value;
        if (oldest !== undefined) this.#claimed.delete(oldest);
      }
      return before;
    } finally {
      if (this.#inFlight.get(key) === p) this.#inFlight.delete(key);
    }
  }
}
