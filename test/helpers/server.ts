// One way for protocol tests to start a real server: startServer with the given protocols on
// 127.0.0.1 port-0 listeners, over a store on a temporary SQLite file (or one in a given data
// folder, or on PostgreSQL), a test certificate and a static resolver. Each protocol's fixtures
// (test/<protocol>/helpers.ts) add their clients and accounts on top.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCredential } from "../../src/auth/password.ts";
import { ConfigManager } from "../../src/config/reload.ts";
import type { Service } from "../../src/config/schema.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startServer, type ProtocolFactory, type RunningServer } from "../../src/core/server.ts";
import { StaticResolver, type Resolver } from "../../src/dns/resolver.ts";
import type { WorkerStoreOptions } from "../../src/server/workers.ts";
import { RelayChangeBus } from "../../src/store/bus/relay.ts";
import { openStore } from "../../src/store/open.ts";
import type { Account, MailStore } from "../../src/store/types.ts";
import type { TlsProvider } from "../../src/tls/provider.ts";
import { testTls } from "../net/helpers.ts";

export interface TestServerOptions {
  /** Temporary folder name prefix, e.g. "mailroom-imap-". */
  prefix: string;
  /** Listener settings by service; bind 127.0.0.1 and port 0 are filled in. */
  listeners: Partial<Record<Service, Record<string, unknown>>>;
  protocols: Partial<Record<Service, ProtocolFactory>>;
  /** Limits over the test defaults (no delay after a failed login, a high per-IP limit). */
  limits?: Record<string, unknown>;
  /** Further top-level configuration sections. */
  config?: Record<string, unknown>;
  /** Blob store of the test store; default "fs". */
  blobs?: "auto" | "fs" | "db";
  /** Run the outbound delivery agent (default off: tests inspect the queue as the server left it). */
  outbound?: boolean;
  /** DNS for the server (default: an empty static resolver). */
  resolver?: Resolver;
  /** Trust anchors of the outbound SMTP client. */
  outboundCa?: string;
  /** The server's certificates (default: self-signed for localhost). */
  tls?: TlsProvider;
  /** This data folder, kept on stop, instead of a fresh one: a restart on the same data. */
  dataDir?: string;
  /** The store on this PostgreSQL database and schema (blobs in it) instead of a SQLite file. */
  postgres?: { url: string; schema: string };
  /**
   * IMAP sessions in this many processes (server.workers); the certificate is then generated
   * in the data folder (the processes load it from there) instead of the test one.
   */
  workers?: number;
}

export interface TestServer {
  server: RunningServer;
  store: MailStore;
  dir: string;
  /** The port a listener bound (0 when it did not start). */
  port(service: Service): number;
  /** Creates an account with `password` (SCRAM with the minimum iterations, for speed). */
  addAccount(name: string, password: string): Promise<Account>;
  stop(): Promise<void>;
}

export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const dir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), opts.prefix)));
  const removeDir = async (): Promise<void> => {
    if (opts.dataDir === undefined) await rm(dir, { recursive: true, force: true });
  };
  const logger = silentLogger();
  const pg = opts.postgres;
  const storeOptions: WorkerStoreOptions =
    pg !== undefined
      ? { backend: "postgres", postgresUrl: pg.url, postgresSchema: pg.schema, blobs: "db" }
      : {
          backend: "sqlite",
          sqlitePath: join(dir, "mail.db"),
          blobs: opts.blobs ?? "fs",
          blobDir: join(dir, "blobs"),
        };
  const workers = opts.workers ?? 0;
  const store = await openStore({
    ...storeOptions,
    clock: systemClock,
    logger,
    ...(workers > 0 ? { bus: new RelayChangeBus() } : {}),
  });
  const listeners = Object.fromEntries(
    Object.entries(opts.listeners).map(([svc, l]) => [svc, { bind: "127.0.0.1", port: 0, ...l }]),
  );
  let server: RunningServer;
  try {
    const config = ConfigManager.fromObject({
      // session processes log from this configuration (this process's logger is silent)
      ...(workers > 0 ? { logging: { level: "silent" } } : {}),
      ...opts.config,
      server: { dataDir: dir, hostname: "localhost", workers },
      listeners,
      limits: { authFailureDelayMs: 0, authFailuresPerIp: 1000, ...opts.limits },
    });
    server = await startServer({
      config,
      store,
      logger,
      resolver: opts.resolver ?? new StaticResolver(),
      outbound: opts.outbound ?? false,
      ...(opts.outboundCa !== undefined ? { outboundCa: opts.outboundCa } : {}),
      ...(workers > 0 ? { workers: { store: storeOptions } } : { tls: opts.tls ?? (await testTls()) }),
      http: false,
      reloadOnSighup: false,
      protocols: opts.protocols,
    });
  } catch (e) {
    await store.close();
    await removeDir();
    throw e;
  }
  const ports = server.ports();
  return {
    server,
    store,
    dir,
    port: (service) => Object.values(ports).find((p) => p.service === service)?.port ?? 0,
    async addAccount(name, password) {
      const a = await store.createAccount({ name });
      await store.setPassword(a.id, await makeCredential(password, { scramIterations: 4096 }));
      return a;
    },
    async stop() {
      await server.stop({ graceMs: 500 });
      await removeDir();
    },
  };
}

/** A simple RFC 5322 message with CRLF lines. */
export function message(subject: string, body: string[] = ["Hello."], extra: string[] = []): string {
  return [
    "From: Bob <bob@example.test>",
    "To: alice@example.test",
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, "")}.${Math.random().toString(36).slice(2)}@example.test>`,
    "Date: Mon, 1 Jan 2024 10:00:00 +0000",
    ...extra,
    "",
    ...body,
    "",
  ].join("\r\n");
}
