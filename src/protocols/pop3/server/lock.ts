// The exclusive maildrop lock (RFC 1939 §4: "the POP3 server then acquires an exclusive-access
// lock on the maildrop, as necessary to prevent messages from being modified or removed
// before the session enters the UPDATE state"; RFC 2449 §8.1.2 [IN-USE] when it cannot).
//
// A store lease, so it holds across processes and cluster nodes: taken with a TTL and renewed
// while the session lives. A crashed process's lease expires after the TTL; a session whose
// renewal fails (store unreachable, lease taken over) is told through `onLost`.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../../../core/logger.ts";
import type { Id, LeaseStore } from "../../../store/types.ts";

export interface MaildropLockOptions {
  /** Lease lifetime; renewed at a third of it. */
  ttlMs: number;
  logger: Logger;
  onLost?: () => void;
}

const HOST = hostname();

export function maildropLeaseName(accountId: Id): string {
  return `pop3-maildrop:${accountId}`;
}

export class MaildropLock {
  readonly #leases: LeaseStore;
  readonly #name: string;
  readonly #holder: string;
  readonly #opts: MaildropLockOptions;
  #timer: NodeJS.Timeout | undefined;
  #held = false;

  private constructor(leases: LeaseStore, accountId: Id, opts: MaildropLockOptions) {
    this.#leases = leases;
    this.#name = maildropLeaseName(accountId);
    this.#holder = `${HOST}:${process.pid}:${randomBytes(8).toString("hex")}`;
    this.#opts = opts;
  }

  /** The lock, or null when another session holds it. */
  static async acquire(
    leases: LeaseStore,
    accountId: Id,
    opts: MaildropLockOptions,
  ): Promise<MaildropLock | null> {
    const lock = new MaildropLock(leases, accountId, opts);
    if (!(await leases.acquire(lock.#name, lock.#holder, opts.ttlMs))) return null;
    lock.#held = true;
    lock.#timer = setInterval(() => lock.#renew(), Math.max(50, Math.floor(opts.ttlMs / 3)));
    lock.#timer.unref();
    return lock;
  }

  get held(): boolean {
    return this.#held;
  }

  #renew(): void {
    if (!this.#held) return;
    this.#leases.renew(this.#name, this.#holder, this.#opts.ttlMs).then(
      (ok) => {
        if (ok || !this.#held) return;
        this.#opts.logger.warn({ lease: this.#name }, "POP3 maildrop lock lost");
        this.#stop();
        this.#opts.onLost?.();
      },
      (e: unknown) =>
        this.#opts.logger.warn({ lease: this.#name, err: (e as Error).message }, "POP3 lock renewal failed"),
    );
  }

  #stop(): void {
    this.#held = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#stop();
    try {
      await this.#leases.release(this.#name, this.#holder);
    } catch (e) {
      this.#opts.logger.warn(
        { lease: this.#name, err: (e as Error).message },
        "POP3 lock release failed (it expires)",
      );
    }
  }
}
