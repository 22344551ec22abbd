// Session processes: with server.workers = N > 0 the IMAP connections are served by N child
// processes (./worker-main.ts) beside this one, so a mail server on several cores uses them
// all, as Dovecot's process per connection does. This process keeps the listeners (and their
// connection limits, per listener and per IP), accepts every connection and hands the socket,
// unread, to the worker with the fewest connections; everything else (SMTP, LMTP, HTTP/JMAP,
// POP3, the queue, reports, retention) stays here.
//
// Each worker opens the same store (SQLite: the same WAL file, whose writer waits for another
// process's lock asynchronously; PostgreSQL: its own pool). Between the processes:
// - change events: every process publishes its commits on its RelayChangeBus; this process
//   relays a worker's events to its own listeners and to the other workers, and its own to
//   every worker, so IDLE in one process hears of an APPEND, a delivery or an expunge made
//   in another;
// - failed-login counts: the workers' authenticators ask this process's rate limiter, so the
//   limits per IP and per account hold over all processes;
// - configuration: a reload here (SIGHUP) is applied in every worker, and so is a
//   certificate reload;
// - metrics: GET /metrics here adds up the workers' counters (commands, ingested messages,
//   TLS failures) with this process's; connections are counted here, where they are accepted.
// A worker that dies is started again (its connections are lost, as with a crashed imap
// process); a graceful stop lets every worker finish its connections within the grace time.
import { fork, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import type { LoginAttemptKey, LoginRateLimiter } from "../auth/rate-limit.ts";
import type { Config, Service } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";
import type { MetricsJson } from "../core/metrics.ts";
import type { HandoffInfo } from "../net/listener.ts";
import type { RelayChangeBus } from "../store/bus/relay.ts";
import type { OpenStoreOptions } from "../store/open.ts";
import type { ChangeEvent } from "../store/types.ts";

/** How a worker opens the store: the primary's options without the process-bound parts. */
export type WorkerStoreOptions = Omit<
  OpenStoreOptions,
  "clock" | "logger" | "bus" | "watchExternalChangesMs"
>;

/** The services whose connections workers serve. */
export const WORKER_SERVICES: ReadonlySet<Service> = new Set<Service>(["imap", "imaps"]);

/** Messages from this process to a worker. */
export type ToWorker =
  | { t: "init"; index: number; config: Config; store: WorkerStoreOptions }
  | { t: "conn"; id: number; info: HandoffInfo }
  | { t: "change"; event: ChangeEvent }
  | { t: "rpc-r"; id: number; value?: number; error?: string }
  | { t: "config"; config: Config }
  | { t: "tls-reload" }
  | { t: "metrics"; id: number }
  | { t: "stop"; graceMs: number };

/** Messages from a worker to this process. */
export type FromWorker =
  | { t: "ready" }
  | { t: "failed"; error: string }
  | { t: "closed"; id: number }
  | { t: "change"; event: ChangeEvent }
  | { t: "metrics-r"; id: number; metrics: MetricsJson }
  | { t: "rpc"; id: number; method: "retryAfter" | "recordFailure"; key: LoginAttemptKey };

export interface WorkerPoolOptions {
  count: number;
  config: () => Config;
  store: WorkerStoreOptions;
  /** The store's bus in this process (opened with a RelayChangeBus). */
  bus: RelayChangeBus;
  rateLimiter: LoginRateLimiter;
  logger: Logger;
  /** Time a worker has to start. Default 60 s. */
  startTimeoutMs?: number;
}

interface Worker {
  index: number;
  child: ChildProcess;
  /** Connections handed to it, by id: their `closed` callbacks. */
  conns: Map<number, () => void>;
  ready: boolean;
  startedAt: number;
}

const WORKER_MAIN = new URL("./worker-main.ts", import.meta.url);

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #workers: (Worker | undefined)[] = [];
  readonly #restartDelay: number[] = [];
  #nextConn = 1;
  #nextAsk = 1;
  readonly #asked = new Map<number, (m: MetricsJson) => void>();
  #stopping = false;

  constructor(opts: WorkerPoolOptions) {
    this.#o = opts;
    // This process's own commits (deliveries, JMAP, the change watcher) reach every worker.
    opts.bus.setForward((event) => this.#broadcast({ t: "change", event }, -1));
  }

  /** Starts every worker; rejects (after stopping those started) if one cannot start. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.#o.count }, (_, i) => this.#spawn(i)));
    } catch (e) {
      await this.stop({ graceMs: 0 });
      throw e;
    }
  }

  /** Live workers (for logs and tests). */
  pids(): number[] {
    return this.#workers.flatMap((w) => (w?.ready ? [w.child.pid ?? 0] : []));
  }

  /** Hands an accepted, paused socket to the least busy worker; `closed` runs when it ends. */
  hand(socket: Socket, info: HandoffInfo, closed: () => void): void {
    let best: Worker | undefined;
    for (const w of this.#workers) {
      if (w?.ready !== true || !w.child.connected) continue;
      if (best === undefined || w.conns.size < best.conns.size) best = w;
    }
    if (best === undefined || this.#stopping) {
      // No worker up (one is restarting): the client gets a closed connection and retries.
      this.#o.logger.warn({ listener: info.listenerName }, "no session process available, connection closed");
      socket.destroy();
      closed();
      return;
    }
    const w = best;
    const id = this.#nextConn++;
    w.conns.set(id, closed);
    const msg: ToWorker = { t: "conn", id, info };
    w.child.send(msg, socket, { keepOpen: false }, (err) => {
      if (err === null || err === undefined) return;
      this.#o.logger.warn({ worker: w.index, err: err.message }, "connection hand-off failed");
      socket.destroy();
      this.#closed(w, id);
    });
  }

  /** Every live worker's metrics (one that does not answer within 2 s is left out). */
  async metrics(): Promise<MetricsJson[]> {
    const asks = this.#workers.flatMap((w) => {
      if (w?.ready !== true) return [];
      const id = this.#nextAsk++;
      return [
        new Promise<MetricsJson | null>((resolve) => {
          const t = setTimeout(() => {
            this.#asked.delete(id);
            resolve(null);
          }, 2000);
          this.#asked.set(id, (m) => {
            clearTimeout(t);
            resolve(m);
          });
          this.#send(w, { t: "metrics", id });
        }),
      ];
    });
    return (await Promise.all(asks)).filter((m): m is MetricsJson => m !== null);
  }

  /** Applies a reloaded configuration, or reloads the certificates, in every worker. */
  configChanged(config: Config): void {
    this.#broadcast({ t: "config", config }, -1);
  }
  tlsReloaded(): void {
    this.#broadcast({ t: "tls-reload" }, -1);
  }

  /**
   * Graceful stop: each worker says goodbye to its connections within `graceMs` and exits;
   * one still running a few seconds later is killed.
   */
  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    const graceMs = opts.graceMs ?? 10_000;
    this.#o.bus.setForward(undefined);
    await Promise.all(
      this.#workers.map(async (w) => {
        if (w === undefined) return;
        const exited = new Promise<void>((res) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) res();
          else w.child.once("exit", () => res());
        });
        if (w.child.connected) this.#send(w, { t: "stop", graceMs });
        else w.child.kill("SIGTERM");
        const killer = setTimeout(() => w.child.kill("SIGKILL"), graceMs + 5000);
        await exited;
        clearTimeout(killer);
        for (const id of [...w.conns.keys()]) this.#closed(w, id);
      }),
    );
  }

  #spawn(index: number): Promise<void> {
    const child = fork(WORKER_MAIN, [], {
      // the test runner's own flags are not for the worker
      execArgv: process.execArgv.filter((a) => !a.startsWith("--test")),
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const w: Worker = { index, child, conns: new Map(), ready: false, startedAt: Date.now() };
    this.#workers[index] = w;
    const log = this.#o.logger.child({ worker: index, pid: child.pid });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(
          new Error(`session process ${index} did not start within ${this.#o.startTimeoutMs ?? 60_000} ms`),
        );
      }, this.#o.startTimeoutMs ?? 60_000);
      child.on("message", (m: FromWorker) => {
        switch (m.t) {
          case "ready":
            clearTimeout(timer);
            w.ready = true;
            log.info("session process ready");
            resolve();
            break;
          case "failed":
            clearTimeout(timer);
            reject(new Error(`session process ${index} failed to start: ${m.error}`));
            break;
          case "closed":
            this.#closed(w, m.id);
            break;
          case "change":
            this.#o.bus.deliver(m.event);
            this.#broadcast(m, index);
            break;
          case "rpc":
            this.#rpc(w, m.id, m.method, m.key);
            break;
          case "metrics-r": {
            const done = this.#asked.get(m.id);
            this.#asked.delete(m.id);
            done?.(m.metrics);
            break;
          }
        }
      });
      child.on("error", (e) => log.error({ err: e.message }, "session process error"));
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        const wasReady = w.ready;
        w.ready = false;
        for (const id of [...w.conns.keys()]) this.#closed(w, id);
        if (this.#workers[index] === w && !this.#stopping) {
          log.error({ code, signal }, "session process exited; starting another");
          this.#restart(index, wasReady ? Date.now() - w.startedAt : 0);
        }
        if (!wasReady)
          reject(new Error(`session process ${index} exited (${signal ?? code}) before it was ready`));
      });
      this.#send(w, { t: "init", index, config: this.#o.config(), store: this.#o.store });
    });
  }

  /** Restart with backoff (1 s doubling to 30 s; back to 1 s after a minute of uptime). */
  #restart(index: number, upMs: number): void {
    const prev = upMs > 60_000 ? 0 : (this.#restartDelay[index] ?? 0);
    const delay = prev === 0 ? 1000 : Math.min(prev * 2, 30_000);
    this.#restartDelay[index] = delay;
    const t = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(index).catch((e: unknown) =>
        this.#o.logger.error({ worker: index, err: (e as Error).message }, "session process restart failed"),
      );
    }, delay);
    t.unref();
  }

  #rpc(w: Worker, id: number, method: "retryAfter" | "recordFailure", key: LoginAttemptKey): void {
    const limiter = this.#o.rateLimiter;
    const call = method === "retryAfter" ? limiter.retryAfter(key) : limiter.recordFailure(key).then(() => 0);
    call.then(
      (value) => this.#send(w, { t: "rpc-r", id, value }),
      (e: unknown) => this.#send(w, { t: "rpc-r", id, error: String(e) }),
    );
  }

  #closed(w: Worker, id: number): void {
    const cb = w.conns.get(id);
    if (cb === undefined) return;
    w.conns.delete(id);
    cb();
  }

  #broadcast(msg: ToWorker, except: number): void {
    for (const w of this.#workers) if (w !== undefined && w.index !== except && w.ready) this.#send(w, msg);
  }

  #send(w: Worker, msg: ToWorker): void {
    if (!w.child.connected) return;
    try {
      w.child.send(msg, (err) => {
        if (err)
          this.#o.logger.debug({ worker: w.index, err: err.message }, "message to session process lost");
      });
    } catch (e) {
      this.#o.logger.debug({ worker: w.index, err: (e as Error).message }, "message to session process lost");
    }
  }
}
