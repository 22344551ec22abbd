// The durable outbound queue (tables of store migration 4): what the SMTP server accepted for
// remote recipients (relayed submission, alias forwarding) waits here for the delivery
// agent. enqueue() writes the message blob, then the message row and its recipient rows in
// ONE transaction, so a message is queued whole or not at all; the SMTP 250 is sent after it
// resolves. Works on SQLite and PostgreSQL through the SqlDriver seam (portable SQL only).
//
// Queued blobs are referenced from outbound_queue.blob_id, not from emails; the store's
// collectGarbage keeps them (test/store/sqlite.test.ts checks it).
import type { Clock } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { SqlDriver, SqlExecutor } from "../store/sql.ts";
import type { BlobStore, MailStore } from "../store/types.ts";

export type NotifyCondition = "SUCCESS" | "FAILURE" | "DELAY";

/** RFC 3461 §4.1 NOTIFY and §4.2 ORCPT of one recipient. */
export interface QueueRecipientInput {
  address: string;
  notify?: "NEVER" | NotifyCondition[];
  orcpt?: { addrType: string; address: string };
}

/** Envelope parameters the delivery agent needs later. */
export interface QueueParams {
  /** RFC 3461 §4.3 RET and §4.4 ENVID. */
  ret?: "FULL" | "HDRS";
  envid?: string;
  /** RFC 6152 / RFC 3030 BODY; RFC 6531 SMTPUTF8. */
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  smtputf8?: boolean;
  /** RFC 8689: the message must only travel over verified TLS. */
  requireTls?: boolean;
  /** RFC 4954 §5 AUTH= to pass on; null for <>. */
  auth?: string | null;
  /** RFC 2852: N (notify) or R (return) when the deadline passes; T: trace. */
  deliverByMode?: "R" | "N";
  deliverByTrace?: boolean;
}

export interface EnqueueInput {
  /** The reverse path, "" for `<>`. */
  from: string;
  message: Buffer;
  recipients: QueueRecipientInput[];
  params?: QueueParams;
  /** The account that submitted it. */
  accountId?: string | null;
  /** RFC 4865: not before this time (ms). */
  holdUntil?: number | null;
  /** RFC 6710: -9..9, higher first. */
  priority?: number;
  /** RFC 2852: deadline (ms). */
  deliverBy?: number | null;
}

export type QueueStatus = "queued" | "held" | "sending" | "done" | "failed";
export type RecipientStatus = "pending" | "delivered" | "failed" | "delayed";

export interface QueuedRecipient extends QueueRecipientInput {
  index: number;
  status: RecipientStatus;
  attempts: number;
  lastError: string | null;
  /** The host that gave the last answer (DSN Remote-MTA). */
  remoteMta: string | null;
  /** The last RFC 3463 status code for this recipient (DSN Status). */
  dsnStatus: string | null;
}

/** The outcome of one delivery attempt for one recipient. */
export interface RecipientAttempt {
  index: number;
  /** pending: try again later (a temporary failure); delivered/failed: final. */
  status: "pending" | "delivered" | "failed";
  error: string | null;
  remoteMta: string | null;
  dsnStatus: string | null;
}

export interface QueuedMessage {
  id: string;
  blobId: string;
  size: number;
  from: string;
  params: QueueParams;
  accountId: string | null;
  createdAt: number;
  nextAttemptAt: number;
  holdUntil: number | null;
  priority: number;
  deliverBy: number | null;
  attempts: number;
  status: QueueStatus;
  /** The delay DSN was sent. */
  delayNotified: boolean;
  recipients: QueuedRecipient[];
}

interface QueueRow {
  id: string;
  blob_id: string;
  size: number;
  mail_from: string;
  params: string;
  account_id: string | null;
  created_at: number;
  next_attempt_at: number;
  hold_until: number | null;
  priority: number;
  deliver_by: number | null;
  attempts: number;
  status: string;
  delay_notified: number;
}

interface RecipientRow {
  queue_id: string;
  idx: number;
  address: string;
  notify: string | null;
  orcpt: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
  remote_mta: string | null;
  dsn_status: string | null;
}

/**
 * A message a node may claim (two `now` parameters): queued; held by FUTURERELEASE until a
 * time that has come (a hold by `mailroom queue hold` has no time and waits for release);
 * or being sent under a lease that expired (its node died).
 */
const CLAIMABLE = `(status = 'queued'
  OR (status = 'held' AND hold_until IS NOT NULL AND hold_until <= ?)
  OR (status = 'sending' AND (lease_until IS NULL OR lease_until < ?)))`;

async function ownsLease(tx: SqlExecutor, id: string, holder: string): Promise<boolean> {
  const own = await tx.get<{ n: number }>(
    "SELECT 1 AS n FROM outbound_queue WHERE id = ? AND lease_holder = ? AND status = 'sending'",
    [id, holder],
  );
  return own !== undefined;
}

/** One recipient's outcome; rows already final (recorded earlier) are left alone. */
async function updateRecipient(tx: SqlExecutor, id: string, r: RecipientAttempt, now: number): Promise<void> {
  await tx.run(
    `UPDATE outbound_recipients SET status = ?, attempts = attempts + 1, last_error = ?, remote_mta = ?,
       dsn_status = ?, updated_at = ? WHERE queue_id = ? AND idx = ? AND status = 'pending'`,
    [r.status, r.error, r.remoteMta, r.dsnStatus, now, id, r.index],
  );
}

export class QueueStore {
  readonly #db: SqlDriver;
  readonly #blobs: BlobStore;
  readonly #clock: Clock;

  constructor(opts: { driver: SqlDriver; blobs: BlobStore; clock: Clock }) {
    this.#db = opts.driver;
    this.#blobs = opts.blobs;
    this.#clock = opts.clock;
  }

  /** The queue of a SQL-backed store (the MailStore of openStore), or null for another kind. */
  static fromStore(store: MailStore, clock: Clock): QueueStore | null {
    const driver = (store as Partial<{ driver: SqlDriver }>).driver;
    if (driver === undefined) return null;
    return new QueueStore({ driver, blobs: store.blobs, clock });
  }

  /** Queues one message for its recipients; resolves with its id once committed. */
  async enqueue(input: EnqueueInput): Promise<string> {
    if (input.recipients.length === 0) throw new RangeError("enqueue: no recipients");
    const now = this.#clock.now();
    const blobId = await this.#blobs.put(input.message);
    const id = newId("Q");
    const hold =
      input.holdUntil !== undefined && input.holdUntil !== null && input.holdUntil > now
        ? input.holdUntil
        : null;
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO outbound_queue (id, blob_id, size, mail_from, params, account_id, created_at,
           next_attempt_at, hold_until, priority, deliver_by, attempts, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
        [
          id,
          blobId,
          input.message.length,
          input.from,
          JSON.stringify(input.params ?? {}),
          input.accountId ?? null,
          now,
          hold ?? now,
          hold,
          input.priority ?? 0,
          input.deliverBy ?? null,
          hold !== null ? "held" : "queued",
        ],
      );
      let idx = 0;
      for (const r of input.recipients) {
        await tx.run(
          `INSERT INTO outbound_recipients (queue_id, idx, address, notify, orcpt, status, attempts, last_error, updated_at)
           VALUES (?, ?, ?, ?, ?, 'pending', 0, NULL, ?)`,
          [
            id,
            idx++,
            r.address,
            r.notify === undefined ? null : JSON.stringify(r.notify),
            r.orcpt === undefined ? null : JSON.stringify(r.orcpt),
            now,
          ],
        );
      }
    });
    return id;
  }

  /**
   * Queued messages, most urgent first (priority, then next attempt). `due`: only those
   * whose next attempt (and hold) time has come at `now`.
   */
  async list(opts: { status?: QueueStatus[]; due?: boolean; limit?: number } = {}): Promise<QueuedMessage[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (opts.status !== undefined && opts.status.length > 0) {
      where.push(`status IN (${opts.status.map(() => "?").join(", ")})`);
      params.push(...opts.status);
    }
    if (opts.due === true) {
      where.push("next_attempt_at <= ?");
      params.push(this.#clock.now());
    }
    const sql = `SELECT * FROM outbound_queue${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
      ORDER BY priority DESC, next_attempt_at, num LIMIT ?`;
    params.push(opts.limit ?? 1000);
    const rows = await this.#db.all<QueueRow>(sql, params);
    return this.#withRecipients(this.#db, rows);
  }

  async get(id: string): Promise<QueuedMessage | null> {
    const rows = await this.#db.all<QueueRow>("SELECT * FROM outbound_queue WHERE id = ?", [id]);
    return (await this.#withRecipients(this.#db, rows))[0] ?? null;
  }

  /** The message bytes of a queued message. */
  async message(q: Pick<QueuedMessage, "blobId">): Promise<Buffer | null> {
    return this.#blobs.get(q.blobId);
  }

  /**
   * Claims up to `limit` messages that are due (next attempt reached, FUTURERELEASE hold
   * over) and not leased by a live holder, most urgent first (MT-PRIORITY, then age). Each
   * claim is one conditional UPDATE, so of several nodes on one database exactly one wins.
   */
  async claim(holder: string, leaseMs: number, limit: number): Promise<QueuedMessage[]> {
    const now = this.#clock.now();
    // One transaction for the whole claim (one commit, not one per message); each UPDATE
    // re-checks CLAIMABLE, so a message another node claimed meanwhile is skipped.
    return this.#db.transaction(async (tx) => {
      const candidates = await tx.all<{ id: string }>(
        `SELECT id FROM outbound_queue
         WHERE next_attempt_at <= ? AND ${CLAIMABLE} ORDER BY priority DESC, next_attempt_at, num LIMIT ?`,
        [now, now, now, limit],
      );
      const claimed: QueueRow[] = [];
      for (const { id } of candidates) {
        const r = await tx.run(
          `UPDATE outbound_queue SET status = 'sending', lease_holder = ?, lease_until = ?
           WHERE id = ? AND next_attempt_at <= ? AND ${CLAIMABLE}`,
          [holder, now + leaseMs, id, now, now, now],
        );
        if (r.changes !== 1) continue;
        const row = await tx.get<QueueRow>("SELECT * FROM outbound_queue WHERE id = ?", [id]);
        if (row) claimed.push(row);
      }
      return this.#withRecipients(tx, claimed);
    });
  }

  /** Extends a lease this holder has; false when it was lost (expired and taken). */
  async renew(id: string, holder: string, leaseMs: number): Promise<boolean> {
    const r = await this.#db.run(
      "UPDATE outbound_queue SET lease_until = ? WHERE id = ? AND lease_holder = ? AND status = 'sending'",
      [this.#clock.now() + leaseMs, id, holder],
    );
    return r.changes === 1;
  }

  /**
   * Records the final outcomes (delivered, failed) of some recipients as soon as a peer gave
   * them, so a crash before the attempt ends does not send those again. Pending outcomes
   * wait for finishAttempt. False when the lease was lost.
   */
  async record(id: string, holder: string, results: readonly RecipientAttempt[]): Promise<boolean> {
    const final = results.filter((r) => r.status !== "pending");
    if (final.length === 0) return true;
    const now = this.#clock.now();
    return this.#db.transaction(async (tx) => {
      if (!(await ownsLease(tx, id, holder))) return false;
      for (const r of final) await updateRecipient(tx, id, r, now);
      return true;
    });
  }

  /**
   * Records one delivery attempt, in one transaction, and gives up the lease: each
   * recipient's outcome; then the message is removed when no recipient is pending (its DSNs
   * were made by the caller before), or queued again for `nextAttemptAt`. Returns false (and
   * writes nothing) when the lease was lost meanwhile.
   */
  async finishAttempt(
    id: string,
    holder: string,
    results: readonly RecipientAttempt[],
    next: { nextAttemptAt: number; delayNotified?: boolean },
  ): Promise<boolean> {
    const now = this.#clock.now();
    return this.#db.transaction(async (tx) => {
      if (!(await ownsLease(tx, id, holder))) return false;
      for (const r of results) await updateRecipient(tx, id, r, now);
      const pending = await tx.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM outbound_recipients WHERE queue_id = ? AND status = 'pending'",
        [id],
      );
      if (Number(pending?.n ?? 0) === 0) {
        await tx.run("DELETE FROM outbound_recipients WHERE queue_id = ?", [id]);
        await tx.run("DELETE FROM outbound_queue WHERE id = ?", [id]);
        return true;
      }
      await tx.run(
        `UPDATE outbound_queue SET status = 'queued', lease_holder = NULL, lease_until = NULL,
           attempts = attempts + 1, next_attempt_at = ?, delay_notified = ? WHERE id = ?`,
        [next.nextAttemptAt, next.delayNotified === true ? 1 : 0, id],
      );
      return true;
    });
  }

  /** `mailroom queue hold`: never tried until released. False when there is no such message. */
  async hold(id: string): Promise<boolean> {
    const r = await this.#db.run(
      "UPDATE outbound_queue SET status = 'held', hold_until = NULL WHERE id = ? AND status <> 'sending'",
      [id],
    );
    return r.changes === 1;
  }

  /** `mailroom queue release`: a held message (by hold or FUTURERELEASE) is due now. */
  async release(id: string): Promise<boolean> {
    const r = await this.#db.run(
      "UPDATE outbound_queue SET status = 'queued', hold_until = NULL, next_attempt_at = ? WHERE id = ? AND status = 'held'",
      [this.#clock.now(), id],
    );
    return r.changes === 1;
  }

  /** `mailroom queue retry`: a waiting message is due now (held ones stay held). */
  async retry(id: string): Promise<boolean> {
    const r = await this.#db.run(
      "UPDATE outbound_queue SET next_attempt_at = ? WHERE id = ? AND status = 'queued'",
      [this.#clock.now(), id],
    );
    return r.changes === 1;
  }

  /** `mailroom queue cancel`: drops the message without a DSN (as Postfix's postsuper -d). */
  async cancel(id: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const r = await tx.run("DELETE FROM outbound_queue WHERE id = ? AND status <> 'sending'", [id]);
      if (r.changes === 0) return false;
      await tx.run("DELETE FROM outbound_recipients WHERE queue_id = ?", [id]);
      return true;
    });
  }

  async #withRecipients(db: SqlExecutor, rows: QueueRow[]): Promise<QueuedMessage[]> {
    const out: QueuedMessage[] = [];
    for (const r of rows) {
      const rcpts = await db.all<RecipientRow>(
        "SELECT * FROM outbound_recipients WHERE queue_id = ? ORDER BY idx",
        [r.id],
      );
      out.push({
        id: r.id,
        blobId: r.blob_id,
        size: Number(r.size),
        from: r.mail_from,
        params: JSON.parse(r.params) as QueueParams,
        accountId: r.account_id,
        createdAt: Number(r.created_at),
        nextAttemptAt: Number(r.next_attempt_at),
        holdUntil: r.hold_until === null ? null : Number(r.hold_until),
        priority: Number(r.priority),
        deliverBy: r.deliver_by === null ? null : Number(r.deliver_by),
        attempts: Number(r.attempts),
        status: r.status as QueueStatus,
        delayNotified: Number(r.delay_notified) === 1,
        recipients: rcpts.map((x) => {
          const q: QueuedRecipient = {
            index: Number(x.idx),
            address: x.address,
            status: x.status as RecipientStatus,
            attempts: Number(x.attempts),
            lastError: x.last_error,
            remoteMta: x.remote_mta,
            dsnStatus: x.dsn_status,
          };
          if (x.notify !== null) q.notify = JSON.parse(x.notify) as QueuedRecipient["notify"];
          if (x.orcpt !== null) q.orcpt = JSON.parse(x.orcpt) as { addrType: string; address: string };
          return q;
        }),
      });
    }
    return out;
  }
}
