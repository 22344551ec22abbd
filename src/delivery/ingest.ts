// The ONE ingest path (DESIGN.md "One ingest path"): every message that enters any mailbox
// passes here: SMTP and LMTP delivery, IMAP APPEND, JMAP Email/import, Sieve fileinto and
// the CLI import. Parsing, size limits, default mailbox choice and the durable commit happen
// here only; Sieve, spam verdicts and deduplication hook in here as their issues land.
//
// Group commit: requests for one account made in one turn of the event loop go to the store
// together, and the store (store/append.ts) puts the batches that arrive while one commits
// into its next transaction, which starts as soon as the previous one committed; on SQLite
// one WAL sync then serves the commits of every account made meanwhile. A request resolves
// only after its batch is durable (nothing is acknowledged before).
import type { Clock } from "../core/clock.ts";
import { StoreError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { parseMessage } from "../mail/parse.ts";
import type {
  AppendInput,
  AppendResult,
  Id,
  MailboxRole,
  MailStore,
  StoreErrorLike,
} from "../store/types.ts";
import { isAppendError } from "../store/types.ts";

export type IngestSource = "smtp" | "lmtp" | "imap-append" | "jmap-import" | "sieve" | "import" | "queue";

export interface IngestRequest {
  accountId: Id;
  raw: Buffer;
  source: IngestSource;
  /** Target mailboxes; the account's INBOX when omitted or empty. */
  mailboxIds?: Id[];
  /**
   * Without mailboxIds: the account's mailbox of this special-use role (RFC 6154, e.g.
   * "junk" for mail that failed DMARC under p=quarantine), INBOX when it has none.
   */
  role?: MailboxRole;
  keywords?: string[];
  /** INTERNALDATE / receivedAt; now when omitted. */
  receivedAt?: number;
  /** The zone of receivedAt, minutes east of UTC (an IMAP APPEND date-time's); 0 when omitted. */
  receivedTz?: number;
}

export interface IngestOptions {
  store: MailStore;
  clock: Clock;
  logger: Logger;
  /** Largest message accepted, in bytes (TOOBIG above); a function reads a reloadable limit. */
  maxMessageSize: number | (() => number);
  /** Most messages committed in one transaction. */
  maxBatch?: number;
  /** Called once per committed message (metrics). */
  onIngested?: (source: IngestSource, size: number) => void;
  /** Called once per committed message with the request (incoming reports); never awaited. */
  onCommitted?: (req: IngestRequest, result: AppendResult) => void;
}

interface Pending {
  input: AppendInput;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

interface AccountQueue {
  pending: Pending[];
  running: boolean;
}

export class Ingest {
  readonly #opts: IngestOptions;
  readonly #queues = new Map<Id, AccountQueue>();
  readonly #inboxCache = new Map<Id, Id>();
  readonly #maxBatch: number;
  /** Batches handed to the store and not yet resolved. */
  #inFlight = 0;

  constructor(opts: IngestOptions) {
    this.#opts = opts;
    this.#maxBatch = opts.maxBatch ?? 200;
  }

  /** Stores one message durably; resolves after commit, rejects with a StoreError. */
  async ingest(req: IngestRequest): Promise<AppendResult> {
    const max =
      typeof this.#opts.maxMessageSize === "function"
        ? this.#opts.maxMessageSize()
        : this.#opts.maxMessageSize;
    if (req.raw.length > max) {
      throw new StoreError("TOOBIG", `message of ${req.raw.length} bytes exceeds the limit of ${max}`);
    }
    const mailboxIds =
      req.mailboxIds && req.mailboxIds.length > 0
        ? req.mailboxIds
        : [await this.#inbox(req.accountId, req.role ?? "inbox")];
    const input: AppendInput = {
      raw: req.raw,
      parsed: parseMessage(req.raw),
      mailboxIds,
      keywords: normalizeKeywords(req.keywords ?? []),
      receivedAt: req.receivedAt ?? this.#opts.clock.now(),
      ...(req.receivedTz !== undefined ? { receivedTz: req.receivedTz } : {}),
    };
    const result = await new Promise<AppendResult>((resolve, reject) => {
      this.#enqueue(req.accountId, { input, resolve, reject });
    });
    this.#opts.onIngested?.(req.source, result.size);
    this.#opts.onCommitted?.(req, result);
    return result;
  }

  /** Resolves when every queued message has been committed or refused. */
  async drain(): Promise<void> {
    while (this.#inFlight > 0 || [...this.#queues.values()].some((q) => q.running || q.pending.length > 0)) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The account's mailbox of a role (INBOX by default, or when it has none of that role). */
  async #inbox(accountId: Id, role: MailboxRole = "inbox"): Promise<Id> {
    const key = role === "inbox" ? accountId : `${accountId}\0${role}`;
    const cached = this.#inboxCache.get(key);
    if (cached) return cached;
    const boxes = await this.#opts.store.listMailboxes(accountId);
    const box = role === "inbox" ? undefined : boxes.find((b) => b.role === role);
    if (box === undefined && role !== "inbox") return this.#inbox(accountId);
    const inbox =
      box ?? boxes.find((b) => b.role === "inbox") ?? boxes.find((b) => b.name.toUpperCase() === "INBOX");
    if (!inbox) throw new StoreError("NOTFOUND", "the account has no INBOX");
    this.#inboxCache.set(key, inbox.id);
    return inbox.id;
  }

  #enqueue(accountId: Id, p: Pending): void {
    let q = this.#queues.get(accountId);
    if (!q) {
      q = { pending: [], running: false };
      this.#queues.set(accountId, q);
    }
    q.pending.push(p);
    if (q.running) return;
    // Requests of this turn of the event loop go together; the store groups batches that
    // arrive while one commits, and starts the next as soon as the previous one committed.
    q.running = true;
    const queue = q;
    queueMicrotask(() => {
      queue.running = false;
      this.#queues.delete(accountId);
      while (queue.pending.length > 0) void this.#append(accountId, queue.pending.splice(0, this.#maxBatch));
    });
  }

  async #append(accountId: Id, batch: Pending[]): Promise<void> {
    this.#inFlight++;
    try {
      await this.#appendBatch(accountId, batch);
    } finally {
      this.#inFlight--;
    }
  }

  async #appendBatch(accountId: Id, batch: Pending[]): Promise<void> {
    let results: Array<AppendResult | StoreErrorLike>;
    try {
      results = await this.#opts.store.appendEmails(
        accountId,
        batch.map((b) => b.input),
      );
    } catch (e) {
      // The whole transaction failed: nothing of this batch was committed. One bad
      // request must not sink the others: retry them one by one.
      if (e instanceof StoreError && e.code === "NOTFOUND") this.#inboxCache.delete(accountId);
      if (batch.length === 1) {
        batch[0]?.reject(e);
        return;
      }
      results = [];
      for (const b of batch) {
        try {
          const [one] = await this.#opts.store.appendEmails(accountId, [b.input]);
          results.push(one ?? { error: { code: "TEMP", message: "no result" } });
        } catch (e1) {
          results.push({
            error: {
              code: e1 instanceof StoreError ? e1.code : "TEMP",
              message: e1 instanceof Error ? e1.message : String(e1),
            },
          });
        }
      }
    }
    batch.forEach((b, i) => {
      const r = results[i];
      if (!r) b.reject(new StoreError("TEMP", "no result for a batched message"));
      else if (isAppendError(r)) b.reject(toStoreError(r));
      else b.resolve(r);
    });
  }
}

function toStoreError(r: StoreErrorLike): StoreError {
  const code = r.error.code as ConstructorParameters<typeof StoreError>[0];
  return new StoreError(code, r.error.message);
}

/**
 * RFC 9051 §2.3.2: flags are atoms; system flags are case-insensitive and kept in their
 * canonical spelling; \Recent is never stored (it is a session property).
 */
export function normalizeKeywords(keywords: string[]): string[] {
  const system = new Map(
    ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"].map((f) => [f.toLowerCase(), f]),
  );
  const out = new Set<string>();
  for (const k of keywords) {
    if (!k || k.toLowerCase() === "\\recent") continue;
    out.add(system.get(k.toLowerCase()) ?? k);
  }
  return [...out].sort();
}
