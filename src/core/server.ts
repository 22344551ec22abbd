// Starting and stopping one server: build the ServerContext (logger, metrics, certificates,
// resolver around the given store and configuration), start a listener for every configured
// service whose protocol is registered, reload the configuration on SIGHUP, and stop
// gracefully. Nothing here is global: several servers run side by side in one process.
import { mkdir } from "node:fs/promises";
import type { Hono } from "hono";
import { dataPaths } from "../config/load.ts";
import { ConfigManager } from "../config/reload.ts";
import type { Config, Service } from "../config/schema.ts";
import { Authenticator } from "../auth/authenticator.ts";
import { MemoryRateLimiter, type LoginRateLimiter } from "../auth/rate-limit.ts";
import { Ingest } from "../delivery/ingest.ts";
import { registerMtaStsPolicy } from "../http/mta-sts.ts";
import { startOutbound } from "../server/outbound.ts";
import { startHistoryRetention } from "../server/history.ts";
import { startReports } from "../server/reports.ts";
import { WORKER_SERVICES, WorkerPool, type WorkerStoreOptions } from "../server/workers.ts";
import { RelayChangeBus } from "../store/bus/relay.ts";
import { storeCredentialSource, storeImpersonation } from "../directory/credentials.ts";
import { resolverFromConfig, type Resolver } from "../dns/resolver.ts";
import { createHttpApp } from "../http/app.ts";
import { httpProtocol } from "../http/protocol.ts";
import {
  ListenerManager,
  type BoundListener,
  type HandoffInfo,
  type ProtocolRegistration,
} from "../net/listener.ts";
import type { Socket } from "node:net";
import type { MailStore } from "../store/types.ts";
import { TlsProvider } from "../tls/provider.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { ServerContext } from "./context.ts";
import { createLogger, type Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";

/** Builds a protocol's connection handler once the context exists. */
export type ProtocolFactory = (ctx: ServerContext) => ProtocolRegistration;

export interface StartServerOptions {
  /** The configuration: a manager (reloadable from its file) or a validated Config. */
  config: ConfigManager | Config;
  /** The opened store. From now on the server owns it: stop() closes it, last. */
  store: MailStore;
  /** Default: a pino logger from config.logging, on standard output. */
  logger?: Logger;
  clock?: Clock;
  /** Default: from config.dns (MAILROOM_DNS applied when the config was loaded). */
  resolver?: Resolver;
  /** Default: TlsProvider.create from config.tls (self-signed under <dataDir>/tls if none). */
  tls?: TlsProvider;
  /** Default: a new Metrics with its own registry. */
  metrics?: Metrics;
  /** Collect process metrics in the registry (when `metrics` is not given). Default false. */
  processMetrics?: boolean;
  /**
   * Protocol handlers by service. Listeners of services without one are not started. http
   * and https are built in (healthz, metrics, plus `httpRoutes`) unless given here or
   * `http: false`.
   */
  protocols?: Partial<Record<Service, ProtocolFactory>>;
  /** Serve the built-in web app on the http/https listeners. Default true. */
  http?: boolean;
  /** Mount further routes on the web app before listening: (app) => app.route("/jmap", jmap). */
  httpRoutes?: (app: Hono, ctx: ServerContext) => void;
  /** Reload the configuration on SIGHUP. Default true. */
  reloadOnSighup?: boolean;
  /** Time allowed for an implicit-TLS handshake. Default 30 s. */
  handshakeTimeoutMs?: number;
  /**
   * Deliver the outbound queue (src/server/outbound.ts) when config.queue.enabled. Default
   * true; protocol tests that inspect the queue turn it off.
   */
  outbound?: boolean;
  /** Extra trust anchors of the outbound SMTP client (tests: the peer's test certificate). */
  outboundCa?: string | Buffer;
  /**
   * How session processes open the store (src/server/workers.ts). With it, and
   * server.workers > 0, and a store opened on a RelayChangeBus, IMAP connections are served
   * by that many child processes; without it every connection is served in this process.
   */
  workers?: { store: WorkerStoreOptions };
  /**
   * "worker": a session process (src/server/worker-main.ts): no listener is bound (the main
   * process hands connections in through adopt()), and the queue, reports and retention
   * tasks, SIGHUP and the web app are left to the main process. Default "main".
   */
  role?: "main" | "worker";
  /** Default: a MemoryRateLimiter from config.limits (a session process asks the main one's). */
  rateLimiter?: LoginRateLimiter;
}

export interface RunningServer {
  readonly ctx: ServerContext;
  /** The web app of the http/https listeners (routes must be mounted before start: httpRoutes). */
  readonly http: Hono;
  /** The started listeners by name, with the port actually bound. */
  ports(): Record<string, BoundListener>;
  /** Re-read the configuration file (as SIGHUP does). Rejects with ReloadError, keeping the old settings. */
  reload(): Promise<Config>;
  /** Serve a connection another process accepted on listener `name` (session processes). */
  adopt(name: string, socket: Socket, info: HandoffInfo): void;
  /** The session processes' pids (empty when connections are served in this process). */
  workerPids(): number[];
  /**
   * Graceful stop: no new connections; each connection finishes its command in flight and
   * says goodbye (protocol shutdown hooks); after `graceMs` (default 10 s) the rest is cut;
   * then the certificates watchers and, last, the store are closed. Idempotent.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const worker = opts.role === "worker";
  const config = opts.config instanceof ConfigManager ? opts.config : new ConfigManager(opts.config);
  const cfg = config.current();
  const logger =
    opts.logger ?? createLogger({ level: cfg.logging.level, unredacted: cfg.logging.unredacted });
  config.setLogger(logger);
  const metrics = opts.metrics ?? new Metrics({ processMetrics: opts.processMetrics ?? false });
  const paths = dataPaths(cfg);
  await mkdir(paths.dataDir, { recursive: true });
  const tls =
    opts.tls ??
    (await TlsProvider.create({
      settings: cfg.tls,
      hostname: cfg.server.hostname,
      tlsDir: paths.tlsDir,
      logger,
    }));
  const clock = opts.clock ?? systemClock;
  const rateLimiter =
    opts.rateLimiter ??
    new MemoryRateLimiter({
      clock,
      perIp: { max: cfg.limits.authFailuresPerIp, windowMs: cfg.limits.authFailureWindowSeconds * 1000 },
    });
  const ctx: ServerContext = {
    config,
    store: opts.store,
    resolver: opts.resolver ?? resolverFromConfig(cfg.dns),
    clock,
    logger,
    metrics,
    tls,
    ingest: new Ingest({
      store: opts.store,
      clock,
      logger,
      maxMessageSize: () => config.current().limits.maxMessageSize,
      onIngested: (source, size) => {
        metrics.messagesIngested.inc({ source });
        metrics.messageBytesIngested.inc({ source }, size);
      },
      // Mail to our report addresses is read as DMARC/TLS-RPT/ARF reports once committed.
      onCommitted: (req) => ctx.reports?.committed(req),
    }),
    auth: new Authenticator({
      source: storeCredentialSource(opts.store),
      logger,
      clock,
      hostname: cfg.server.hostname,
      allowCramMd5: cfg.auth.allowCramMd5,
      impersonate: storeImpersonation(opts.store, () => config.current().auth.allowAdminImpersonation),
      rateLimiter,
    }),
  };

  const app = createHttpApp({
    metrics,
    logger,
    maxBodySize: cfg.http.maxBodySize,
    // The store answers when it can list its domains (a cheap query).
    health: async () => {
      await ctx.store.listDomains();
    },
  });
  registerMtaStsPolicy(app, ctx.store, () => config.current());
  opts.httpRoutes?.(app, ctx);

  const protocols: Partial<Record<Service, ProtocolRegistration>> = {};
  if (opts.http !== false && !worker) {
    const web = httpProtocol(app, { logger });
    protocols.http = web;
    protocols.https = web;
  }
  for (const [service, factory] of Object.entries(opts.protocols ?? {}) as [
    Service,
    ProtocolFactory | undefined,
  ][]) {
    if (factory !== undefined) protocols[service] = factory(ctx);
  }

  const bus = opts.store.changes;
  const pool =
    !worker && cfg.server.workers > 0 && opts.workers !== undefined && bus instanceof RelayChangeBus
      ? new WorkerPool({
          count: cfg.server.workers,
          config: () => config.current(),
          store: opts.workers.store,
          bus,
          rateLimiter,
          logger,
        })
      : undefined;
  if (!worker && cfg.server.workers > 0 && pool === undefined)
    logger.warn("server.workers is set but this server was started without session processes");
  const listeners = new ListenerManager({
    listeners: cfg.listeners,
    portOffset: cfg.server.portOffset,
    protocols,
    tls,
    logger,
    metrics,
    handshakeTimeoutMs: opts.handshakeTimeoutMs,
    handoff: pool && { services: WORKER_SERVICES, hand: (s, i, c) => pool.hand(s, i, c) },
  });
  try {
    await pool?.start();
    if (!worker) await listeners.listen();
  } catch (e) {
    if (opts.tls === undefined) tls.close();
    throw e;
  }
  const onConfigChange = (_d: unknown, next: Config): void => pool?.configChanged(next);
  if (pool) {
    config.on("change", onConfigChange);
    metrics.setPeers(() => pool.metrics());
  }
  const outbound =
    opts.outbound === false || worker
      ? null
      : startOutbound(ctx, opts.outboundCa ? { ca: opts.outboundCa } : {});
  if (outbound) ctx.outbound = outbound;
  const reports = worker ? undefined : startReports(ctx);
  if (reports) ctx.reports = reports;
  // drops change history older than store.historyDays, every store.historyCompactMinutes
  const history = worker ? undefined : startHistoryRetention(ctx);

  const onSighup = (): void => {
    logger.info("SIGHUP: reloading the configuration and certificates");
    config.reload().catch(() => undefined); // the manager logs why it refused
    tls
      .reload()
      .then(() => pool?.tlsReloaded())
      .catch((e: unknown) =>
        logger.error({ err: (e as Error).message }, "certificate reload failed, keeping the current ones"),
      );
  };
  if (opts.reloadOnSighup !== false && !worker) process.on("SIGHUP", onSighup);

  let stopping: Promise<void> | undefined;
  const stop = async (stopOpts: { graceMs?: number } = {}): Promise<void> => {
    stopping ??= (async () => {
      process.off("SIGHUP", onSighup);
      logger.info("stopping");
      config.off("change", onConfigChange);
      if (pool) metrics.setPeers(undefined);
      // Handed-off connections end when their session process has closed them.
      await Promise.all([
        listeners.close({ graceMs: stopOpts.graceMs ?? 10_000 }),
        pool?.stop({ graceMs: stopOpts.graceMs ?? 10_000 }),
      ]);
      await reports?.stop();
      await history?.stop();
      await outbound?.stop();
      tls.close();
      await ctx.store.close();
      logger.info("stopped");
    })();
    return stopping;
  };

  return {
    ctx,
    http: app,
    ports: () => listeners.ports(),
    reload: () => config.reload(),
    adopt: (name, socket, info) => listeners.adopt(name, socket, info),
    workerPids: () => pool?.pids() ?? [],
    stop,
  };
}

/**
 * For the CLI: stop the server on SIGINT/SIGTERM (a second signal exits at once), then call
 * `exit` (default process.exit) with 0, or 1 when the stop failed. Returns a function that
 * removes the handlers.
 */
export function stopOnSignals(
  server: RunningServer,
  opts: { graceMs?: number; exit?: (code: number) => void } = {},
): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let signalled = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) {
      server.ctx.logger.warn({ signal }, "second signal, exiting now");
      exit(1);
      return;
    }
    signalled = true;
    server.ctx.logger.info({ signal }, "shutting down");
    server.stop({ graceMs: opts.graceMs }).then(
      () => exit(0),
      (e: unknown) => {
        server.ctx.logger.error({ err: e instanceof Error ? e.stack : String(e) }, "stop failed");
        exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
