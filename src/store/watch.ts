// Changes written by OTHER processes on the same database (the CLI importing mail while the
// server runs on the same SQLite file): they never reach this process's in-process bus, so
// IDLE/NOTIFY/push would miss them. The watcher polls the accounts' modseqs and publishes
// one ChangeEvent per account that moved beyond what this process has published, built from
// the change log (changes) and the mailboxes' HIGHESTMODSEQ (mailboxIds). A cluster uses the
// Redis bus instead and leaves this off.
import type { ChangeEvent, ChangeOp, ChangeRecord, Id, ObjectType } from "./types.ts";
import type { SqlExecutor } from "./sql.ts";

export class ExternalChangeWatcher {
  readonly #db: SqlExecutor;
  readonly #publish: (e: ChangeEvent) => void;
  readonly #onError: (e: unknown) => void;
  /** The highest modseq published (or seen) per account id. */
  readonly #seen = new Map<Id, number>();
  #timer: NodeJS.Timeout | null = null;
  #polling = false;

  constructor(db: SqlExecutor, publish: (e: ChangeEvent) => void, onError: (e: unknown) => void) {
    this.#db = db;
    this.#publish = publish;
    this.#onError = onError;
  }

  /** Called for every event this process publishes; false when the watcher published it already. */
  admit(event: ChangeEvent): boolean {
    const seen = this.#seen.get(event.accountId);
    if (seen !== undefined && event.modseq <= seen) return false;
    this.#seen.set(event.accountId, event.modseq);
    return true;
  }

  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const accounts = await this.#db.all<{ num: number; id: string; modseq: number }>(
        "SELECT num, id, modseq FROM accounts",
      );
      for (const a of accounts) {
        const seen = this.#seen.get(a.id);
        if (seen === undefined) {
          this.#seen.set(a.id, a.modseq);
          continue;
        }
        if (a.modseq <= seen) continue;
        const rows = await this.#db.all<{ modseq: number; type: string; object_id: string; op: string }>(
          `SELECT modseq, type, object_id, op FROM changes WHERE account_num = ? AND modseq > ? AND modseq <= ?
            ORDER BY modseq LIMIT 10000`,
          [a.num, seen, a.modseq],
        );
        const boxes = await this.#db.all<{ id: string }>(
          "SELECT id FROM mailboxes WHERE account_num = ? AND highest_modseq > ?",
          [a.num, seen],
        );
        const changes: ChangeRecord[] = rows.map((r) => ({
          modseq: r.modseq,
          type: r.type as ObjectType,
          id: r.object_id,
          op: r.op as ChangeOp,
        }));
        const mailboxIds = new Set(boxes.map((b) => b.id));
        for (const c of changes) if (c.type === "Mailbox" && c.op === "destroyed") mailboxIds.add(c.id);
        const event: ChangeEvent = {
          accountId: a.id,
          modseq: a.modseq,
          changes,
          mailboxIds: [...mailboxIds],
        };
        // Our own commit may have been published while we read.
        if (this.admit(event)) this.#publish(event);
      }
    } catch (e) {
      this.#onError(e);
    } finally {
      this.#polling = false;
    }
  }

  start(intervalMs: number): void {
    if (this.#timer) return;
    void this.poll();
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
