// What every part of the store shares: the injected driver, blob store, bus, search index,
// clock and logger, and the write-transaction frame that keeps the change rules in one place
// (DESIGN.md "Changes are first class"): one modseq bump per transaction, change rows,
// mailbox counters and highest modseq, account usage, then commit, then broadcast.
import type { Clock } from "../core/clock.ts";
import { StoreError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { SearchIndex } from "./search-index.ts";
import type { ExternalChangeWatcher } from "./watch.ts";
import type { SqlDriver, SqlExecutor, SqlValue } from "./sql.ts";
import type { BlobStore, ChangeBus, ChangeEvent, ChangeOp, ChangeRecord, Id, ObjectType } from "./types.ts";

/** A BlobStore that can also write inside a store transaction (blobs kept in the database). */
export interface TxBlobStore extends BlobStore {
  putTx(tx: SqlExecutor, id: string, data: Buffer): Promise<void>;
}

export function isTxBlobStore(b: BlobStore): b is TxBlobStore {
  return typeof (b as Partial<TxBlobStore>).putTx === "function";
}

export interface StoreContext {
  driver: SqlDriver;
  blobs: BlobStore;
  bus: ChangeBus;
  search: SearchIndex;
  clock: Clock;
  logger: Logger | undefined;
  /** Set when changes of other processes are watched for (see watch.ts). */
  watcher?: ExternalChangeWatcher;
}

export interface AccountRow {
  num: number;
  id: string;
  modseq: number;
  quota_bytes: number | null;
  quota_messages: number | null;
  used_bytes: number;
  used_messages: number;
}

const ACCOUNT_LOCK_SQL = `SELECT num, id, modseq, quota_bytes, quota_messages, used_bytes, used_messages
  FROM accounts WHERE id = ?`;

/**
 * Reads the account row inside a write transaction, locking it on PostgreSQL (SELECT ... FOR
 * UPDATE serializes the account's writers; SQLite has one writer already).
 */
export async function lockAccount(tx: SqlExecutor, accountId: Id): Promise<AccountRow> {
  const sql = tx.dialect === "postgres" ? `${ACCOUNT_LOCK_SQL} FOR UPDATE` : ACCOUNT_LOCK_SQL;
  const row = await tx.get<AccountRow>(sql, [accountId]);
  if (!row) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  return row;
}

export async function accountNum(db: SqlExecutor, accountId: Id): Promise<number> {
  const row = await db.get<{ num: number }>("SELECT num FROM accounts WHERE id = ?", [accountId]);
  if (!row) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  return row.num;
}

interface Delta {
  id: string;
  total: number;
  unseen: number;
  size: number;
  /** Messages listed or flags changed: highest_modseq moves, IDLE hears of it. */
  messages: boolean;
  /** The next UID to give, once read in this transaction. */
  uidNext: number | null;
}

/** One write transaction on one account. */
export class WriteContext {
  readonly tx: SqlExecutor;
  readonly account: AccountRow;
  readonly now: number;
  #modseq: number | null = null;
  readonly #changes = new Map<string, ChangeRecord>();
  readonly #mailboxes = new Map<number, Delta>();
  usedBytes: number;
  usedMessages: number;

  constructor(tx: SqlExecutor, account: AccountRow, now: number) {
    this.tx = tx;
    this.account = account;
    this.now = now;
    this.usedBytes = account.used_bytes;
    this.usedMessages = account.used_messages;
  }

  /** The modseq of this transaction; the first call bumps the account's counter. */
  get modseq(): number {
    this.#modseq ??= this.account.modseq + 1;
    return this.#modseq;
  }

  get bumped(): boolean {
    return this.#modseq !== null;
  }

  /** Records a change; several on one object in a transaction collapse into one. */
  record(type: ObjectType, id: Id, op: ChangeOp): void {
    const key = `${type}:${id}`;
    const prev = this.#changes.get(key);
    let next: ChangeOp = op;
    if (prev) {
      if (op === "destroyed") next = "destroyed";
      else if (prev.op === "created" || prev.op === "destroyed") next = prev.op;
    }
    this.#changes.set(key, { modseq: this.modseq, type, id, op: next });
  }

  #delta(num: number, id: string): Delta {
    let m = this.#mailboxes.get(num);
    if (!m) {
      m = { id, total: 0, unseen: 0, size: 0, messages: false, uidNext: null };
      this.#mailboxes.set(num, m);
    }
    return m;
  }

  /** Gives the next UID of a mailbox (uid_next is read once, written back at the end). */
  async nextUid(num: number, id: string): Promise<number> {
    const m = this.#delta(num, id);
    if (m.uidNext === null) {
      const row = await this.tx.get<{ uid_next: number }>("SELECT uid_next FROM mailboxes WHERE num = ?", [
        num,
      ]);
      if (!row) throw new StoreError("NOTFOUND", `no mailbox ${id}`);
      m.uidNext = row.uid_next;
    }
    return m.uidNext++;
  }

  /** Tells the next UID of a mailbox read in this transaction (saves nextUid its read). */
  knownUidNext(num: number, id: string, uidNext: number): void {
    const m = this.#delta(num, id);
    m.uidNext ??= uidNext;
  }

  /** Adds to a mailbox's counters (and marks it changed). */
  mailbox(
    num: number,
    id: string,
    d: { total?: number; unseen?: number; size?: number; messages?: boolean },
  ): void {
    const m = this.#delta(num, id);
    m.total += d.total ?? 0;
    m.unseen += d.unseen ?? 0;
    m.size += d.size ?? 0;
    if (d.messages ?? true) m.messages = true;
    // JMAP Mailbox objects change when their counts do (RFC 8621 §2: totalEmails, ...).
    if (d.total || d.unseen || d.size) this.record("Mailbox", id, "updated");
  }

  /** Writes the account, mailbox and change rows; returns the event to publish, if any. */
  async finish(): Promise<ChangeEvent | null> {
    if (!this.bumped) return null;
    const modseq = this.modseq;
    const tx = this.tx;
    await tx.run("UPDATE accounts SET modseq = ?, used_bytes = ?, used_messages = ? WHERE num = ?", [
      modseq,
      this.usedBytes,
      this.usedMessages,
      this.account.num,
    ]);
    const mailboxIds: Id[] = [];
    for (const [num, d] of this.#mailboxes) {
      if (d.messages) mailboxIds.push(d.id);
      await tx.run(
        `UPDATE mailboxes SET total = total + ?, unseen = unseen + ?, size = size + ?,
           highest_modseq = CASE WHEN ? = 1 THEN ? ELSE highest_modseq END,
           uid_next = CASE WHEN ? > uid_next THEN ? ELSE uid_next END WHERE num = ?`,
        [d.total, d.unseen, d.size, d.messages ? 1 : 0, modseq, d.uidNext ?? 0, d.uidNext ?? 0, num],
      );
    }
    const changes = [...this.#changes.values()];
    await insertMany(
      tx,
      "INSERT INTO changes (account_num, modseq, type, object_id, op) VALUES ",
      "(?, ?, ?, ?, ?)",
      changes.map((c) => [this.account.num, modseq, c.type, c.id, c.op]),
    );
    return { accountId: this.account.id, modseq, changes, mailboxIds };
  }
}

/** Multi-row INSERT in chunks (VALUES (...), (...)); both dialects accept it. */
export async function insertMany(
  tx: SqlExecutor,
  head: string,
  tuple: string,
  rows: SqlValue[][],
  chunk = 100,
): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await tx.run(head + part.map(() => tuple).join(", "), part.flat());
  }
}

/** "?, ?, ?" for an IN list. */
export function marks(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/**
 * Splits a list for IN (...) queries. Such queries filter the account as `+account_num = ?`:
 * the unary plus (valid on both dialects) keeps SQLite's planner from choosing the
 * account index over the id lookups when the IN list is long (a scan of the whole account
 * per chunk, 20x slower on 10,000 ids).
 */
export function chunks<T>(list: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Runs one write on an account: lock, body, bookkeeping, COMMIT, then broadcast. The body
 * returns its result; nothing is published when it throws (the transaction rolled back).
 */
export async function writeAccount<T>(
  ctx: StoreContext,
  accountId: Id,
  fn: (w: WriteContext) => Promise<T>,
  opts?: { before?: (tx: SqlExecutor) => Promise<void>; committed?: () => void; waitDurable?: boolean },
): Promise<T & { modseq: number }> {
  const [out] = await writeAccounts(ctx, [{ accountId, fn }], opts);
  if (!out) throw new Error("writeAccounts returned no result");
  return out;
}

/** One account's part of a writeAccounts transaction. */
export interface AccountWrite<T> {
  accountId: Id;
  fn: (w: WriteContext) => Promise<T>;
}

/**
 * Runs the writes of several accounts in ONE transaction (one COMMIT, one WAL sync): each
 * account is locked, its body run and its bookkeeping written in turn, in ascending account
 * id order (PostgreSQL row locks taken in one global order cannot deadlock), so each account
 * still gets one modseq bump. After COMMIT (once durable) each account's ChangeEvent goes out,
 * in that same order. A body that throws rolls back the whole transaction; nothing is
 * published. `last` runs after every body, before COMMIT. Results in the order of `writes`;
 * an account may appear only once.
 */
export async function writeAccounts<T>(
  ctx: StoreContext,
  writes: readonly AccountWrite<T>[],
  opts?: {
    before?: (tx: SqlExecutor) => Promise<void>;
    last?: (tx: SqlExecutor) => Promise<void>;
    committed?: () => void;
    waitDurable?: boolean;
  },
): Promise<Array<T & { modseq: number }>> {
  const order = writes
    .map((_, i) => i)
    .sort((a, b) => compareIds(writes[a]!.accountId, writes[b]!.accountId));
  for (let i = 1; i < order.length; i++) {
    if (writes[order[i]!]!.accountId === writes[order[i - 1]!]!.accountId) {
      throw new Error(`account ${writes[order[i]!]!.accountId} written twice in one transaction`);
    }
  }
  let events: ChangeEvent[] = [];
  const afterCommit = (): void => {
    for (const e of events) publish(ctx, e);
    events = [];
  };
  const out = await ctx.driver.transaction(
    async (tx) => {
      events = [];
      if (opts?.before) await opts.before(tx);
      const results: Array<T & { modseq: number }> = [];
      for (const i of order) {
        const { accountId, fn } = writes[i]!;
        const account = await lockAccount(tx, accountId);
        const w = new WriteContext(tx, account, ctx.clock.now());
        const result = await fn(w);
        const event = await w.finish();
        if (event) events.push(event);
        results[i] = { ...result, modseq: w.bumped ? w.modseq : account.modseq };
      }
      if (opts?.last) await opts.last(tx);
      return results;
    },
    {
      afterCommit,
      ...(opts?.committed ? { committed: opts.committed } : {}),
      ...(opts?.waitDurable === false ? { waitDurable: false } : {}),
    },
  );
  // Without the wait the driver publishes when the commit is durable (in commit order).
  if (opts?.waitDurable !== false) afterCommit();
  return out;
}

/** Code-unit order, the same in every process and independent of locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function publish(ctx: StoreContext, event: ChangeEvent): void {
  if (ctx.watcher && !ctx.watcher.admit(event)) return;
  busPublish(ctx, event);
}

/** Hands an event to the bus; a failing bus is logged, never thrown into the writer. */
export function busPublish(ctx: StoreContext, event: ChangeEvent): void {
  try {
    ctx.bus.publish(event);
  } catch (e) {
    ctx.logger?.error({ err: e }, "change bus publish failed");
  }
}
