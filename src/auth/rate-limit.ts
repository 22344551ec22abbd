// Failed-login rate limiting, per client address and per account. Only failures count; while a
// key is over its limit, logins are answered "temporary" without checking the secret, so a
// guesser learns nothing and spends nothing of ours.
//
// The interface is async so a shared (Redis) implementation can replace the in-memory one in a
// cluster (DESIGN.md: Redis for rate counters between nodes).
import { isIP } from "node:net";
import type { Clock } from "../core/clock.ts";

export interface LoginAttemptKey {
  /** Client address; IPv6 addresses are grouped by /64. */
  ip?: string | undefined;
  /** Prepared login name (even for unknown accounts, so guessing names is limited as well). */
  account?: string | undefined;
}

export interface LoginRateLimiter {
  /** 0 when an attempt may proceed; otherwise milliseconds until it may. */
  retryAfter(key: LoginAttemptKey): Promise<number>;
  /** Counts one failed login against the address and the account. */
  recordFailure(key: LoginAttemptKey): Promise<void>;
}

export interface RateLimitRule {
  /** Failures allowed within the window; the next attempt is refused. */
  max: number;
  windowMs: number;
}

export interface MemoryRateLimiterOptions {
  clock: Clock;
  /** Default 10 failures per 5 minutes. */
  perIp?: RateLimitRule;
  /** Default 5 failures per 5 minutes. */
  perAccount?: RateLimitRule;
  /** Keys tracked per table at most; the least recently failed are forgotten first. Default 100000. */
  maxKeys?: number;
}

export const DEFAULT_IP_RULE: RateLimitRule = { max: 10, windowMs: 5 * 60_000 };
export const DEFAULT_ACCOUNT_RULE: RateLimitRule = { max: 5, windowMs: 5 * 60_000 };

/** A sliding-window log per key: the times of the last `max` failures. Map order is recency. */
class WindowTable {
  readonly #rule: RateLimitRule;
  readonly #maxKeys: number;
  readonly #entries = new Map<string, number[]>();

  constructor(rule: RateLimitRule, maxKeys: number) {
    this.#rule = rule;
    this.#maxKeys = maxKeys;
  }

  #live(key: string, now: number): number[] | undefined {
    const times = this.#entries.get(key);
    if (!times) return undefined;
    const from = now - this.#rule.windowMs;
    while (times.length > 0 && (times[0] ?? 0) <= from) times.shift();
    if (times.length === 0) {
      this.#entries.delete(key);
      return undefined;
    }
    return times;
  }

  retryAfter(key: string, now: number): number {
    const times = this.#live(key, now);
    if (!times || times.length < this.#rule.max) return 0;
    // The oldest of the last `max` failures leaves the window first.
    return Math.max(1, (times[times.length - this.#rule.max] ?? now) + this.#rule.windowMs - now);
  }

  record(key: string, now: number): void {
    const times = this.#live(key, now) ?? [];
    times.push(now);
    while (times.length > this.#rule.max) times.shift();
    this.#entries.delete(key); // re-insert: most recent last
    this.#entries.set(key, times);
    while (this.#entries.size > this.#maxKeys) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** The address as a rate-limit key: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function ipKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const noZone = ip.split("%")[0] ?? ip;
  const [head = "", tail] = noZone.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return (
    groups
      .slice(0, 4)
      .map((g) => parseInt(g, 16).toString(16))
      .join(":") + "::/64"
  );
}

export class MemoryRateLimiter implements LoginRateLimiter {
  readonly #clock: Clock;
  readonly #ip: WindowTable;
  readonly #account: WindowTable;

  constructor(opts: MemoryRateLimiterOptions) {
    this.#clock = opts.clock;
    const maxKeys = opts.maxKeys ?? 100_000;
    this.#ip = new WindowTable(opts.perIp ?? DEFAULT_IP_RULE, maxKeys);
    this.#account = new WindowTable(opts.perAccount ?? DEFAULT_ACCOUNT_RULE, maxKeys);
  }

  async retryAfter(key: LoginAttemptKey): Promise<number> {
    const now = this.#clock.now();
    const a = key.ip ? this.#ip.retryAfter(ipKey(key.ip), now) : 0;
    const b = key.account ? this.#account.retryAfter(key.account, now) : 0;
    return Math.max(a, b);
  }

  async recordFailure(key: LoginAttemptKey): Promise<void> {
    const now = this.#clock.now();
    if (key.ip) this.#ip.record(ipKey(key.ip), now);
    if (key.account) this.#account.record(key.account, now);
  }

  /** Number of keys tracked (address table, account table); for tests and metrics. */
  get trackedKeys(): { ip: number; account: number } {
    return { ip: this.#ip.size, account: this.#account.size };
  }
}

/** A limiter that never limits (tests, or a deployment that limits elsewhere). */
export const noRateLimit: LoginRateLimiter = {
  retryAfter: async () => 0,
  recordFailure: async () => {},
};
