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
        recipients: rcpts.map((x) => {
          const q: QueuedRecipient = {
            index: Number(x.idx),
            address: x.address,
            status: x.status as RecipientStatus,
            attempts: Number(x.attempts),
            lastError: x.last_error,
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
