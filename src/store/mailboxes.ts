// Mailboxes: a tree per account with immutable ids (RFC 8474 MAILBOXID, RFC 8621 §2).
// Names are leaf names; the IMAP path joins them with "/" (the separator we announce,
// RFC 9051 §6.3.9). Rules: no "/" and no control characters in a leaf name, no empty names,
// siblings unique, INBOX unique and case-insensitive at the root (RFC 9051 §5.1), no loops
// in parents. Renaming or moving keeps the id, the UIDs and UIDVALIDITY (RFC 9051 §6.3.6 asks
// for the same UIDVALIDITY after RENAME); children move with their parent since they refer
// to it by number.
import { StoreError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { StoreContext, WriteContext } from "./context.ts";
import { accountNum, writeAccount } from "./context.ts";
import { allMembers, removeMemberships, settleEmails } from "./expunge.ts";
import type { SqlExecutor } from "./sql.ts";
import type { Id, Mailbox, MailboxPatch, MailboxRole, NewMailbox } from "./types.ts";
import { DEFAULT_MAILBOXES } from "./types.ts";

const ROLES = new Set<string>([
  "inbox",
  "drafts",
  "sent",
  "junk",
  "trash",
  "archive",
  "all",
  "flagged",
  "important",
]);

interface MailboxRow {
  num: number;
  id: string;
  parent_num: number;
  name: string;
  role: string | null;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  subscribed: number;
  sort_order: number;
  total: number;
  unseen: number;
  size: number;
}

const SELECT = `SELECT num, id, parent_num, name, role, uid_validity, uid_next, highest_modseq, subscribed,
  sort_order, total, unseen, size FROM mailboxes`;

function toMailbox(accountId: Id, r: MailboxRow, byNum: Map<number, MailboxRow>): Mailbox {
  return rowToMailbox(accountId, r, r.parent_num === 0 ? null : (byNum.get(r.parent_num)?.id ?? null));
}

function rowToMailbox(accountId: Id, r: MailboxRow, parentId: Id | null): Mailbox {
  return {
    id: r.id,
    accountId,
    name: r.name,
    parentId,
    role: r.role as MailboxRole | null,
    uidValidity: r.uid_validity,
    uidNext: r.uid_next,
    highestModSeq: r.highest_modseq,
    subscribed: r.subscribed !== 0,
    sortOrder: r.sort_order,
    totalEmails: r.total,
    unseenEmails: r.unseen,
    size: r.size,
  };
}

async function rowsOf(db: SqlExecutor, acct: number): Promise<Map<number, MailboxRow>> {
  const rows = await db.all<MailboxRow>(`${SELECT} WHERE account_num = ? ORDER BY num`, [acct]);
  return new Map(rows.map((r) => [r.num, r]));
}

function isInbox(name: string): boolean {
  return name.toLowerCase() === "inbox";
}

/** Validates a leaf name; at the root, any case of "INBOX" is INBOX. */
function leafName(name: string, parentNum: number): string {
  if (name.length === 0) throw new StoreError("INVALID", "empty mailbox name");
  if (name.includes("/")) throw new StoreError("INVALID", 'a mailbox name cannot contain "/"');
  if (/[\x00-\x1f\x7f]/.test(name)) throw new StoreError("INVALID", "control character in mailbox name");
  if ([...name].length > 255) throw new StoreError("LIMIT", "mailbox name too long");
  return parentNum === 0 && isInbox(name) ? "INBOX" : name;
}

function pathOf(r: MailboxRow, byNum: Map<number, MailboxRow>): string {
  const parts: string[] = [];
  let cur: MailboxRow | undefined = r;
  for (let depth = 0; cur && depth < 1000; depth++) {
    parts.unshift(cur.name);
    cur = cur.parent_num === 0 ? undefined : byNum.get(cur.parent_num);
  }
  return parts.join("/");
}

export async function listMailboxes(ctx: StoreContext, accountId: Id): Promise<Mailbox[]> {
  const byNum = await rowsOf(ctx.driver, await accountNum(ctx.driver, accountId));
  return [...byNum.values()].map((r) => toMailbox(accountId, r, byNum));
}

// One mailbox by id with its parent's id: one indexed statement, not a list of the account's
// mailboxes (it runs at every poll of a selected mailbox).
const SELECT_ONE = `SELECT b.num, b.id, b.parent_num, b.name, b.role, b.uid_validity, b.uid_next,
  b.highest_modseq, b.subscribed, b.sort_order, b.total, b.unseen, b.size, p.id AS parent_id
  FROM mailboxes b JOIN accounts a ON a.num = b.account_num LEFT JOIN mailboxes p ON p.num = b.parent_num
  WHERE b.id = ? AND a.id = ?`;

/** The mailbox and its row number; null when absent (NOTFOUND when the account is). */
export async function mailboxWithNum(
  db: SqlExecutor,
  accountId: Id,
  mailboxId: Id,
): Promise<{ num: number; mailbox: Mailbox } | null> {
  const r = await db.get<MailboxRow & { parent_id: string | null }>(SELECT_ONE, [mailboxId, accountId]);
  if (r === undefined) {
    // as before: an unknown account is NOTFOUND, an unknown mailbox null
    await accountNum(db, accountId);
    return null;
  }
  return { num: r.num, mailbox: rowToMailbox(accountId, r, r.parent_num === 0 ? null : r.parent_id) };
}

export async function getMailbox(ctx: StoreContext, accountId: Id, mailboxId: Id): Promise<Mailbox | null> {
  return (await mailboxWithNum(ctx.driver, accountId, mailboxId))?.mailbox ?? null;
}

const SELECT_ROOT = `SELECT b.num, b.id, b.parent_num, b.name, b.role, b.uid_validity, b.uid_next,
  b.highest_modseq, b.subscribed, b.sort_order, b.total, b.unseen, b.size, b.account_num
  FROM mailboxes b JOIN accounts a ON a.num = b.account_num WHERE a.id = ? AND b.parent_num = 0 AND b.name = ?`;
const SELECT_CHILD = `${SELECT} WHERE account_num = ? AND parent_num = ? AND name = ?`;

/**
 * The mailbox at a path: one indexed lookup per level (the unique account/parent/name key),
 * not a list of the account's mailboxes (APPEND, SELECT and STATUS name mailboxes by path).
 */
export async function getMailboxByPath(
  ctx: StoreContext,
  accountId: Id,
  path: string,
): Promise<Mailbox | null> {
  const db = ctx.driver;
  const [first = "", ...rest] = path.split("/");
  if (first === "" || rest.includes("")) return null;
  const root = await db.get<MailboxRow & { account_num: number }>(SELECT_ROOT, [
    accountId,
    isInbox(first) ? "INBOX" : first,
  ]);
  if (root === undefined) {
    // as before: an unknown account is NOTFOUND, an unknown mailbox null
    await accountNum(db, accountId);
    return null;
  }
  let cur: MailboxRow = root;
  let parentId: Id | null = null;
  for (const name of rest) {
    const next = await db.get<MailboxRow>(SELECT_CHILD, [root.account_num, cur.num, name]);
    if (next === undefined) return null;
    parentId = cur.id;
    cur = next;
  }
  return rowToMailbox(accountId, cur, parentId);
}

/** Subscribed names that have no mailbox (subscriptions kept after a DELETE), sorted. */
export async function orphanSubscriptions(ctx: StoreContext, accountId: Id): Promise<string[]> {
  const rows = await ctx.driver.all<{ name: string }>(
    "SELECT s.name FROM subscriptions s JOIN accounts a ON a.num = s.account_num WHERE a.id = ? ORDER BY s.name",
    [accountId],
  );
  return rows.map((r) => r.name);
}

/** Drops a subscription kept for a name without a mailbox; false when there was none. */
export async function dropOrphanSubscription(
  ctx: StoreContext,
  accountId: Id,
  name: string,
): Promise<boolean> {
  const out = await writeAccount(ctx, accountId, async (w) => {
    const r = await w.tx.run("DELETE FROM subscriptions WHERE account_num = ? AND name = ?", [
      w.account.num,
      name,
    ]);
    return { dropped: r.changes > 0 };
  });
  return out.dropped;
}

export async function mailboxPath(ctx: StoreContext, accountId: Id, mailboxId: Id): Promise<string> {
  const byNum = await rowsOf(ctx.driver, await accountNum(ctx.driver, accountId));
  const r = [...byNum.values()].find((m) => m.id === mailboxId);
  if (!r) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
  return pathOf(r, byNum);
}

function checkRole(role: string | null | undefined, byNum: Map<number, MailboxRow>, self?: number): void {
  if (role === null || role === undefined) return;
  if (!ROLES.has(role)) throw new StoreError("INVALID", `unknown mailbox role ${role}`);
  // RFC 8621 §2: a role is held by at most one mailbox of the account.
  for (const m of byNum.values()) {
    if (m.role === role && m.num !== self)
      throw new StoreError("EXISTS", `a mailbox has the role ${role} already`);
  }
}

function checkSibling(byNum: Map<number, MailboxRow>, parentNum: number, name: string, self?: number): void {
  for (const m of byNum.values()) {
    if (m.parent_num === parentNum && m.name === name && m.num !== self) {
      throw new StoreError("EXISTS", `mailbox ${name} exists`);
    }
  }
}

function parentNumOf(byNum: Map<number, MailboxRow>, parentId: Id | null | undefined): number {
  if (parentId === null || parentId === undefined) return 0;
  const p = [...byNum.values()].find((m) => m.id === parentId);
  if (!p) throw new StoreError("NOTFOUND", `no parent mailbox ${parentId}`);
  return p.num;
}

/** Creates one mailbox inside `w`; UIDVALIDITY is the mailbox's number (never reused). */
export async function insertMailbox(
  w: WriteContext,
  byNum: Map<number, MailboxRow>,
  input: NewMailbox,
): Promise<MailboxRow> {
  const parentNum = parentNumOf(byNum, input.parentId);
  const name = leafName(input.name, parentNum);
  checkSibling(byNum, parentNum, name);
  checkRole(input.role, byNum);
  const id = newId("m");
  const modseq = w.modseq;
  // a subscription kept for this path (its mailbox was deleted) subscribes the new one
  const parent = parentNum === 0 ? undefined : byNum.get(parentNum);
  const path = parent === undefined ? name : `${pathOf(parent, byNum)}/${name}`;
  const kept = await w.tx.run("DELETE FROM subscriptions WHERE account_num = ? AND name = ?", [
    w.account.num,
    path,
  ]);
  const subscribed = input.subscribed === true || kept.changes > 0 ? 1 : 0;
  const row = await w.tx.get<{ num: number }>(
    `INSERT INTO mailboxes (id, account_num, parent_num, name, role, uid_validity, uid_next, highest_modseq,
       subscribed, sort_order) VALUES (?, ?, ?, ?, ?, 0, 1, ?, ?, ?) RETURNING num`,
    [id, w.account.num, parentNum, name, input.role ?? null, modseq, subscribed, input.sortOrder ?? 0],
  );
  if (!row) throw new Error("mailbox insert returned nothing");
  // RFC 9051 §2.3.1.1: UIDVALIDITY must change when a name is reused for a new mailbox; the
  // AUTOINCREMENT/identity number is never reused, so it serves (and fits 32 bits).
  await w.tx.run("UPDATE mailboxes SET uid_validity = num WHERE num = ?", [row.num]);
  w.record("Mailbox", id, "created");
  const created: MailboxRow = {
    num: row.num,
    id,
    parent_num: parentNum,
    name,
    role: input.role ?? null,
    uid_validity: row.num,
    uid_next: 1,
    highest_modseq: modseq,
    subscribed,
    sort_order: input.sortOrder ?? 0,
    total: 0,
    unseen: 0,
    size: 0,
  };
  byNum.set(row.num, created);
  return created;
}

export async function createDefaultMailboxes(w: WriteContext): Promise<void> {
  const byNum = new Map<number, MailboxRow>();
  for (const [i, m] of DEFAULT_MAILBOXES.entries()) {
    await insertMailbox(w, byNum, { name: m.name, role: m.role, subscribed: true, sortOrder: i });
  }
}

export async function createMailbox(ctx: StoreContext, accountId: Id, input: NewMailbox): Promise<Mailbox> {
  const out = await writeAccount(ctx, accountId, async (w) => {
    const byNum = await rowsOf(w.tx, w.account.num);
    const row = await insertMailbox(w, byNum, input);
    return { mailbox: toMailbox(accountId, row, byNum) };
  });
  return out.mailbox;
}

export async function updateMailbox(
  ctx: StoreContext,
  accountId: Id,
  mailboxId: Id,
  patch: MailboxPatch,
): Promise<Mailbox> {
  const out = await writeAccount(ctx, accountId, async (w) => {
    const byNum = await rowsOf(w.tx, w.account.num);
    const self = [...byNum.values()].find((m) => m.id === mailboxId);
    if (!self) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
    const parentNum = patch.parentId !== undefined ? parentNumOf(byNum, patch.parentId) : self.parent_num;
    const name = leafName(patch.name ?? self.name, parentNum);
    const moved = parentNum !== self.parent_num || name !== self.name;
    if (moved) {
      // RFC 9051 §6.3.6: renaming INBOX is special (moves its messages); the IMAP layer does that.
      if (self.parent_num === 0 && self.name === "INBOX")
        throw new StoreError("INVALID", "INBOX cannot be renamed");
      for (let p = parentNum, depth = 0; p !== 0 && depth < 1000; depth++) {
        if (p === self.num) throw new StoreError("INVALID", "a mailbox cannot move under itself");
        p = byNum.get(p)?.parent_num ?? 0;
      }
      checkSibling(byNum, parentNum, name, self.num);
    }
    if (patch.role !== undefined) checkRole(patch.role, byNum, self.num);
    const next: MailboxRow = {
      ...self,
      parent_num: parentNum,
      name,
      role: patch.role !== undefined ? patch.role : self.role,
      subscribed: patch.subscribed !== undefined ? (patch.subscribed ? 1 : 0) : self.subscribed,
      sort_order: patch.sortOrder ?? self.sort_order,
    };
    await w.tx.run(
      "UPDATE mailboxes SET parent_num = ?, name = ?, role = ?, subscribed = ?, sort_order = ? WHERE num = ?",
      [next.parent_num, next.name, next.role, next.subscribed, next.sort_order, self.num],
    );
    byNum.set(self.num, next);
    w.record("Mailbox", self.id, "updated");
    return { mailbox: toMailbox(accountId, next, byNum) };
  });
  return out.mailbox;
}

export async function deleteMailbox(ctx: StoreContext, accountId: Id, mailboxId: Id): Promise<void> {
  await writeAccount(ctx, accountId, async (w) => {
    const byNum = await rowsOf(w.tx, w.account.num);
    const self = [...byNum.values()].find((m) => m.id === mailboxId);
    if (!self) throw new StoreError("NOTFOUND", `no mailbox ${mailboxId}`);
    if (self.parent_num === 0 && self.name === "INBOX")
      throw new StoreError("INVALID", "INBOX cannot be deleted");
    if ([...byNum.values()].some((m) => m.parent_num === self.num)) {
      throw new StoreError("INVALID", "the mailbox has children");
    }
    const members = await allMembers(w, self.num);
    await removeMemberships(w, self, members, false);
    await settleEmails(
      ctx,
      w,
      members.map((m) => m.email_num),
    );
    await w.tx.run("DELETE FROM tombstones WHERE mailbox_num = ?", [self.num]);
    await w.tx.run("DELETE FROM mailboxes WHERE num = ?", [self.num]);
    // RFC 9051 §6.3.7: the subscription outlives the mailbox
    if (self.subscribed !== 0)
      await w.tx.run("INSERT INTO subscriptions (account_num, name) VALUES (?, ?) ON CONFLICT DO NOTHING", [
        w.account.num,
        pathOf(self, byNum),
      ]);
    w.record("Mailbox", self.id, "destroyed");
    return {};
  });
}
