// A session process (see ./workers.ts): started by the main process with fork(), told over
// the IPC channel how to open the store and which configuration to run, then handed accepted
// IMAP connections to serve. It binds no listener and runs no background task; it leaves
// when told to stop, or when the main process goes away.
import type { Socket } from "node:net";
import type { LoginAttemptKey, LoginRateLimiter } from "../auth/rate-limit.ts";
import { ConfigManager } from "../config/reload.ts";
import { systemClock } from "../core/clock.ts";
import { createLogger } from "../core/logger.ts";
import { startServer, type RunningServer } from "../core/server.ts";
import { imapProtocol } from "../protocols/imap/index.ts";
import { RelayChangeBus } from "../store/bus/relay.ts";
import { openStore } from "../store/open.ts";
import type { FromWorker, ToWorker } from "./workers.ts";

function send(msg: FromWorker): void {
  if (process.connected) process.send?.(msg);
}

/** The main process's failed-login counts, asked over the channel. */
class MainRateLimiter implements LoginRateLimiter {
  readonly #pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  #next = 1;

  #call(method: "retryAfter" | "recordFailure", key: LoginAttemptKey): Promise<number> {
    const id = this.#next++;
    return new Promise<number>((resolve, reject) => {
      if (!process.connected) {
        reject(new Error("main process gone"));
        return;
      }
      this.#pending.set(id, { resolve, reject });
      send({ t: "rpc", id, method, key: { ip: key.ip, account: key.account } });
    });
  }

  answered(id: number, value: number | undefined, error: string | undefined): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (error !== undefined) p.reject(new Error(error));
    else p.resolve(value ?? 0);
  }

  retryAfter(key: LoginAttemptKey): Promise<number> {
    return this.#call("retryAfter", key);
  }
  async recordFailure(key: LoginAttemptKey): Promise<void> {
    await this.#call("recordFailure", key);
  }
}

const limiter = new MainRateLimiter();
let server: RunningServer | undefined;
let config: ConfigManager | undefined;
let bus: RelayChangeBus | undefined;
let stopping: Promise<void> | undefined;
/** Connections handed in before the server was up (none in practice: the main waits for ready). */
const early: { socket: Socket; msg: Extract<ToWorker, { t: "conn" }> }[] = [];

function adopt(msg: Extract<ToWorker, { t: "conn" }>, socket: Socket): void {
  socket.once("close", () => send({ t: "closed", id: msg.id }));
  if (server === undefined) {
    early.push({ socket, msg });
    return;
  }
  // The socket arrives reading (net.Socket starts a received handle): served from here on.
  server.adopt(msg.info.listenerName, socket, msg.info);
}

async function init(msg: Extract<ToWorker, { t: "init" }>): Promise<void> {
  config = new ConfigManager(msg.config);
  const cfg = config.current();
  const logger = createLogger({ level: cfg.logging.level, unredacted: cfg.logging.unredacted }).child({
    worker: msg.index,
  });
  bus = new RelayChangeBus({
    onError: (e) => logger.error({ err: e }, "change listener failed"),
    forward: (event) => send({ t: "change", event }),
  });
  const store = await openStore({ ...msg.store, clock: systemClock, logger, bus });
  try {
    server = await startServer({
      config,
      store,
      logger,
      role: "worker",
      rateLimiter: limiter,
      http: false,
      protocols: { imap: imapProtocol, imaps: imapProtocol },
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  for (const { socket, msg: m } of early.splice(0)) adopt(m, socket);
  send({ t: "ready" });
}

async function stop(graceMs: number): Promise<void> {
  stopping ??= (async () => {
    await server?.stop({ graceMs });
    process.exit(0);
  })();
  return stopping;
}

process.on("message", (msg: ToWorker, handle: unknown) => {
  switch (msg.t) {
    case "init":
      init(msg).catch((e: unknown) => {
        send({ t: "failed", error: e instanceof Error ? e.message : String(e) });
        process.exit(1);
      });
      break;
    case "conn":
      adopt(msg, handle as Socket);
      break;
    case "change":
      bus?.deliver(msg.event);
      break;
    case "rpc-r":
      limiter.answered(msg.id, msg.value, msg.error);
      break;
    case "config":
      try {
        config?.apply(msg.config);
      } catch {
        // refused (a static setting changed): the main process refused it too and logged why
      }
      break;
    case "metrics":
      void server?.ctx.metrics.registry
        .getMetricsAsJSON()
        .then((metrics) => send({ t: "metrics-r", id: msg.id, metrics }))
        .catch(() => undefined);
      break;
    case "tls-reload":
      void server?.ctx.tls.reload().catch(() => undefined);
      break;
    case "stop":
      void stop(msg.graceMs);
      break;
  }
});
// The main process went away (crashed or killed): finish quickly and leave.
process.on("disconnect", () => void stop(1000));
// Signals are for the main process, which stops the workers itself.
process.on("SIGINT", () => undefined);
process.on("SIGHUP", () => undefined);
