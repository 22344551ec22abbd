// The delivery agent: works off the outbound queue (queue-store.ts). It claims due messages
// under a lease, routes each recipient domain (routing.ts: MX, implicit MX, null MX, or a
// smart host), hands the message to the transport (the SMTP client) once per destination,
// records every recipient's outcome as soon as it is known, and then either removes the
// message (every recipient final) or schedules the next attempt with backoff. Failure, delay
// and success DSNs (dsn.ts) go back to the envelope sender as RFC 3461 §6 asks; never for
// the null sender. Deliveries run concurrently, bounded overall and per destination domain.
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { Resolver } from "../dns/resolver.ts";
import { buildDsn, type DsnRecipient } from "./dsn.ts";
import type { QueuedMessage, QueuedRecipient, QueueStore } from "./queue-store.ts";
import { deliverToDomain, type DomainOutcome } from "./destination.ts";
import type { TlsPolicyOptions } from "./tls-policy.ts";
import type { LocalDelivery, TlsReportSink, Transport } from "./transport.ts";

export { TransportError } from "./transport.ts";
export type {
  DeliveryTarget,
  TlsReportSink,
  TlsResult,
  Transport,
  TransportRecipientResult,
  TransportResult,
} from "./transport.ts";

export interface RetrySchedule {
  /** First retry after this long; each further one waits twice as long... */
  initialMs: number;
  /** ...up to this interval. */
  maxIntervalMs: number;
  /** Then give up: the remaining recipients fail with 4.4.7 (RFC 3463 delivery time expired). */
  maxAgeMs: number;
  /** A delay DSN once a message waits this long (RFC 3464 Action: delayed); 0 = never. */
  delayDsnAfterMs: number;
}

export const DEFAULT_RETRY: RetrySchedule = {
  initialMs: 5 * 60_000,
  maxIntervalMs: 4 * 3_600_000,
  maxAgeMs: 5 * 86_400_000,
  delayDsnAfterMs: 4 * 3_600_000,
};

export interface RunnerOptions {
  queue: QueueStore;
  resolver: Resolver;
  transport: Transport;
  clock: Clock;
  logger: Logger;
  /** Our host name: Reporting-MTA and MAILER-DAEMON's domain. */
  hostname: string;
  /** This node's name in queue leases (unique per process). */
  holder: string;
  /** The port MX hosts listen on (25; tests use another). */
  port?: number;
  /** Relay everything through this host instead of MX routing. */
  smartHost?: { host: string; port: number };
  retry?: Partial<RetrySchedule>;
  /** Messages delivered at once (default 20) and per recipient domain (default 5). */
  concurrency?: number;
  perDomain?: number;
  leaseMs?: number;
  pollMs?: number;
  /** DANE and MTA-STS lookups (none: opportunistic TLS everywhere). */
  tls?: TlsPolicyOptions;
  /** Mail for local domains goes into the mailboxes instead of over SMTP. */
  local?: LocalDelivery;
  /** Where TLS outcomes go for TLS-RPT. */
  tlsReports?: TlsReportSink;
  /** Delivers a DSN to `to` (a local mailbox through the ingest path, or the queue). */
  returnMail(to: string, dsn: Buffer): Promise<void>;
}

/** A counting semaphore per key. */
class Limits {
  readonly #used = new Map<string, number>();
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  async acquire(key: string): Promise<void> {
    const n = this.#used.get(key) ?? 0;
    if (n < this.max) {
      this.#used.set(key, n + 1);
      return;
    }
    await new Promise<void>((resolve) =>
      this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), resolve]),
    );
  }
  release(key: string): void {
    const next = this.#waiting.get(key)?.shift();
    if (next) return next();
    const n = (this.#used.get(key) ?? 1) - 1;
    if (n <= 0) this.#used.delete(key);
    else this.#used.set(key, n);
  }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

/** RFC 3461 §4.1: without NOTIFY we report failures and delays (an MTA's choice). */
function wants(r: QueuedRecipient, what: "SUCCESS" | "FAILURE" | "DELAY"): boolean {
  if (r.notify === undefined) return what !== "SUCCESS";
  return r.notify !== "NEVER" && r.notify.includes(what);
}

export class QueueRunner {
  readonly #o: RunnerOptions;
  readonly #retry: RetrySchedule;
  readonly #domains: Limits;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  /** wake() was called since the loop last claimed. */
  #queued = false;
  #stopped = false;
  /** Messages being delivered now (by id). */
  readonly #active = new Set<string>();

  constructor(opts: RunnerOptions) {
    this.#o = opts;
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#domains = new Limits(opts.perDomain ?? 5);
    this.#leaseMs = opts.leaseMs ?? 10 * 60_000;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** A message was queued: look now rather than at the next poll. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#queued = true;
      this.#signal();
    } else this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#signal();
    await this.#running;
    await this.#o.transport.close();
  }

  /** One pass (tests, tools): claims what is due and resolves when those deliveries are done. */
  async runOnce(): Promise<number> {
    const started = await this.#fill();
    await Promise.all(started);
    return started.length;
  }

  /** Claims due messages up to the free concurrency and starts delivering them. */
  async #fill(): Promise<Promise<void>[]> {
    const free = (this.#o.concurrency ?? 20) - this.#active.size;
    if (free <= 0) return [];
    const claimed = await this.#o.queue.claim(this.#o.holder, this.#leaseMs, free);
    return claimed.map((m) =>
      this.#deliverMessage(m).finally(() => {
        this.#signal();
      }),
    );
  }

  /** Wakes the loop waiting in #loop (a delivery ended, a message was queued, stop). */
  #signal(): void {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = undefined;
    wakeUp?.();
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#loop().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#o.pollMs ?? 5_000);
      });
    }, ms);
    this.#timer.unref?.();
  }

  /**
   * Keeps the delivery slots full: claims again whenever a delivery ends (or something is
   * queued), so a backlog drains continuously instead of pass by pass; returns when nothing
   * is due and nothing is in flight, and the poll timer takes over.
   */
  async #loop(): Promise<void> {
    const inflight = new Set<Promise<void>>();
    try {
      while (!this.#stopped) {
        this.#queued = false;
        const woken = new Promise<void>((resolve) => (this.#wakeUp = resolve));
        const started = await this.#fill();
        for (const p of started) {
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
        }
        if (inflight.size === 0) {
          // A message queued while we claimed may have committed after our SELECT.
          if (this.#queued) continue;
          break;
        }
        // Also look again at the poll interval: retries come due while deliveries run.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          woken,
          new Promise<void>((r) => (timer = setTimeout(r, this.#o.pollMs ?? 5_000))),
        ]);
        clearTimeout(timer);
      }
    } catch (e) {
      this.#o.logger.error({ err: e }, "queue run failed");
    } finally {
      this.#wakeUp = undefined;
      await Promise.allSettled([...inflight]);
    }
  }

  async #deliverMessage(m: QueuedMessage): Promise<void> {
    this.#active.add(m.id);
    const log = this.#o.logger.child({ queueId: m.id });
    try {
      const raw = await this.#o.queue.message(m);
      const pending = m.recipients.filter((r) => r.status === "pending");
      const results: DomainOutcome[] = [];
      if (!raw) {
        log.error("queued message blob missing; failing its recipients");
        for (const r of pending)
          results.push({
            index: r.index,
            status: "failed",
            error: "message lost",
            remoteMta: null,
            dsnStatus: "5.3.0",
          });
      } else {
        const deadlinePassed =
          m.deliverBy !== null && this.#o.clock.now() > m.deliverBy && m.params.deliverByMode === "R";
        if (deadlinePassed) {
          // RFC 2852 §4.1.4: BY ... R: not delivered in time, the message is returned.
          for (const r of pending)
            results.push({
              index: r.index,
              status: "failed",
              error: "delivery time expired (BY)",
              remoteMta: null,
              dsnStatus: "5.4.7",
            });
        } else {
          const byDomain = new Map<string, QueuedRecipient[]>();
          for (const r of pending) {
            const d = domainOf(r.address);
            byDomain.set(d, [...(byDomain.get(d) ?? []), r]);
          }
          const parts = await Promise.all(
            [...byDomain].map(([domain, rcpts]) => this.#deliverDomain(m, raw, domain, rcpts)),
          );
          results.push(...parts.flat());
        }
      }
      await this.#finish(m, raw, results, log);
    } catch (e) {
      log.error({ err: e }, "delivery attempt failed; the lease expires and it is tried again");
    } finally {
      this.#active.delete(m.id);
    }
  }

  /** One destination domain (destination.ts), within the per-domain limit. */
  async #deliverDomain(
    m: QueuedMessage,
    raw: Buffer,
    domain: string,
    rcpts: QueuedRecipient[],
  ): Promise<DomainOutcome[]> {
    await this.#domains.acquire(domain);
    try {
      return await deliverToDomain(this.#o, m, raw, domain, rcpts);
    } finally {
      this.#domains.release(domain);
    }
  }

  async #finish(m: QueuedMessage, raw: Buffer | null, results: DomainOutcome[], log: Logger): Promise<void> {
    const now = this.#o.clock.now();
    const age = now - m.createdAt;
    const byIndex = new Map(m.recipients.map((r) => [r.index, r]));
    // Past the maximum age the waiting recipients fail (RFC 3463 4.4.7, reported as failed).
    if (age >= this.#retry.maxAgeMs) {
      for (const r of results)
        if (r.status === "pending") {
          r.status = "failed";
          r.error = `gave up after ${Math.round(age / 3_600_000)} h: ${r.error ?? ""}`;
          r.dsnStatus = "4.4.7";
        }
    }
    const failed: DsnRecipient[] = [];
    const delivered: DsnRecipient[] = [];
    const delayed: DsnRecipient[] = [];
    // RFC 2852 §4: in N mode a deadline that passed is reported with a "delayed" DSN (once,
    // like the 4-hour one) while delivery goes on; the trace modifier asks for it even
    // without NOTIFY=DELAY, and for a "relayed" DSN where the next hop does not take BY.
    const trace = m.params.deliverByTrace === true;
    const traced = (q: QueuedRecipient): boolean => trace && q.notify !== "NEVER";
    const byExpired = m.deliverBy !== null && m.params.deliverByMode === "N" && now > m.deliverBy;
    const notifyDelay =
      !m.delayNotified &&
      (byExpired || (this.#retry.delayDsnAfterMs > 0 && age >= this.#retry.delayDsnAfterMs));
    const willRetryUntil = m.createdAt + this.#retry.maxAgeMs;
    for (const r of results) {
      const q = byIndex.get(r.index);
      if (!q) continue;
      const entry: DsnRecipient = {
        address: q.address,
        action: "failed",
        status: r.dsnStatus ?? "5.0.0",
        remoteMta: r.remoteMta,
        diagnostic: r.error,
        lastAttempt: now,
        ...(q.orcpt ? { orcpt: q.orcpt } : {}),
      };
      if (r.status === "failed" && wants(q, "FAILURE")) failed.push(entry);
      // RFC 3461 §5.2.2: a DSN-capable peer reports success itself; otherwise we say "relayed".
      if (
        r.status === "delivered" &&
        ((wants(q, "SUCCESS") && r.dsnSupported !== true) || (traced(q) && r.deliverBySupported !== true))
      )
        delivered.push({ ...entry, action: "relayed" });
      if (r.status === "pending" && notifyDelay && (wants(q, "DELAY") || (traced(q) && byExpired)))
        delayed.push({
          ...entry,
          action: "delayed",
          willRetryUntil,
          ...(byExpired
            ? { status: "4.4.7", diagnostic: `delivery time (BY) expired; ${r.error ?? ""}` }
            : {}),
        });
    }
    // RFC 3461 §6.2 / RFC 5321 §4.5.5: nothing goes back to the null sender.
    if (m.from !== "" && raw) {
      for (const group of [failed, delayed, delivered]) {
        if (group.length === 0) continue;
        const dsn = buildDsn({
          reportingMta: this.#o.hostname,
          to: m.from,
          arrivalDate: m.createdAt,
          recipients: group,
          original: raw,
          now,
          ...(m.params.envid !== undefined ? { envid: m.params.envid } : {}),
          ...(m.params.ret !== undefined ? { ret: m.params.ret } : {}),
          ...(m.params.smtputf8 === true ? { smtputf8: true } : {}),
        });
        try {
          await this.#o.returnMail(m.from, dsn);
        } catch (e) {
          log.error({ err: e, to: m.from }, "could not send a DSN");
        }
      }
    }
    const next = now + Math.min(this.#retry.initialMs * 2 ** m.attempts, this.#retry.maxIntervalMs);
    const ok = await this.#o.queue.finishAttempt(m.id, this.#o.holder, results, {
      nextAttemptAt: next,
      delayNotified: m.delayNotified || delayed.length > 0,
    });
    if (!ok) log.warn("lease lost during delivery: another node took the message over");
    const counts = { delivered: 0, failed: 0, pending: 0 };
    for (const r of results) counts[r.status]++;
    log.info(counts, "delivery attempt done");
  }
}
