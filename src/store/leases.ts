// Leases over the `leases` table: one holder per name until its lease expires (queue
// runners, periodic tasks, POP3 maildrop locks across processes or cluster nodes). An
// expired lease is taken over by the next acquire. One UPSERT statement decides, so two
// contenders cannot both win (the row is the arbiter on both backends).
import type { Clock } from "../core/clock.ts";
import type { SqlDriver } from "./sql.ts";
import type { LeaseStore } from "./types.ts";

export class SqlLeaseStore implements LeaseStore {
  readonly #db: SqlDriver;
  readonly #clock: Clock;

  constructor(db: SqlDriver, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now();
    const r = await this.#db.run(
      `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
      [name, holder, now + ttlMs, now],
    );
    return r.changes > 0;
  }

  async renew(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now();
    const r = await this.#db.run("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?", [
      now + ttlMs,
      name,
      holder,
    ]);
    return r.changes > 0;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.#db.run("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder]);
  }
}
