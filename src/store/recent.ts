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
