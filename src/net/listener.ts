// The listener manager: one TCP (or unix domain socket) server per configured listener,
// handing every accepted connection to the protocol registered for its service. It enforces
// the connection limits (per listener, per client IP), does the TLS handshake of implicit-TLS
// listeners (RFC 8314), tracks live connections for metrics and for a graceful stop.
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";
import type { ListenerConfig, Service, TlsMode } from "../config/schema.ts";
import type { TlsProvider } from "../tls/provider.ts";
import { upgradeToTls } from "./tls-upgrade.ts";
import { bindUnixSocket, removeUnixSocket, UNIX_PEER, type UnixSocketFile } from "./unix-socket.ts";

/** What a protocol knows about a connection it is handed. */
export interface ConnectionInfo {
  service: Service;
  listenerName: string;
  /** The client's IP address; "unix" on a unix socket listener (see socketPath). */
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The socket's path when the listener is a unix domain socket (no IP, no port). */
  socketPath?: string;
  /** True when the socket is already TLS (implicit-TLS listener). */
  tls: boolean;
  /** The listener's TLS mode: "starttls" means the protocol should offer STARTTLS/STLS. */
  tlsMode: TlsMode;
  /** The listener's allowPlaintextAuth setting. */
  allowPlaintextAuth: boolean;
  /**
   * Register what to do when the server stops: typically finish the command in flight, send
   * the protocol's goodbye (SMTP "421 4.3.2 ...", IMAP "* BYE ...") and end the socket. What
   * is still open when the grace time ends is destroyed.
   */
  onShutdown(hook: () => void | Promise<void>): void;
}

/** Serves one accepted connection. Errors thrown synchronously close the connection. */
export type ConnectionHandler = (socket: Socket, info: ConnectionInfo) => void;

export interface ProtocolHandler {
  handle: ConnectionHandler;
  /**
   * The line written to a connection refused over a limit, before it is closed: e.g. SMTP
   * "421 4.7.0 Too many connections, try later" (RFC 5321 §3.8), IMAP "* BYE Too many
   * connections". CRLF is added when missing. Without it the connection is just closed.
   */
  tooManyConnections?: string | ((info: Omit<ConnectionInfo, "onShutdown">) => string);
}

/** A protocol as registered: a handler object, or just the connection function. */
export type ProtocolRegistration = ProtocolHandler | ConnectionHandler;

export interface BoundListener {
  service: Service;
  /** The bound address; the socket path for a unix socket listener. */
  host: string;
  /** The bound port; 0 for a unix socket listener. */
  port: number;
  /** Set for a unix socket listener. */
  path?: string;
}

/**
 * Connections of some services served by other processes (src/server/workers.ts): the
 * listener keeps the limits and counts, the socket (still paused, nothing read) goes to
 * `hand`, which calls `closed` once the connection has ended wherever it was served.
 */
export interface Handoff {
  services: ReadonlySet<Service>;
  hand(socket: Socket, info: HandoffInfo, closed: () => void): void;
}

/** What travels with a handed-off connection. */
export type HandoffInfo = Omit<ConnectionInfo, "onShutdown">;

export interface ListenerManagerOptions {
  /** The configured listeners by name (config.listeners). */
  listeners: Record<string, ListenerConfig>;
  /** server.portOffset, added to every non-zero port. */
  portOffset?: number;
  protocols: Partial<Record<Service, ProtocolRegistration>>;
  tls: TlsProvider;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Time allowed for an implicit-TLS handshake. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** Serve these services' TCP connections in other processes (see Handoff). */
  handoff?: Handoff | undefined;
}

interface Live {
  ip: string;
  hooks: (() => void | Promise<void>)[];
  /** Whether the connection has ended. */
  ended(): boolean;
  /** Resolves when it has. */
  readonly ends: Promise<void>;
  /** Cut it now (a handed-off connection is cut by the process serving it). */
  destroy(): void;
}

interface Running {
  name: string;
  config: ListenerConfig;
  protocol: ProtocolHandler;
  server: Server;
  live: Set<Live>;
  perIp: Map<string, number>;
  bound?: BoundListener;
  /** The socket file of a unix socket listener, removed at close. */
  socketFile?: UnixSocketFile;
  /** Its connections are handed to other processes (paused on accept). */
  handedOff: boolean;
}

/** "::ffff:192.0.2.1" -> "192.0.2.1", so one client counts once whatever the socket family. */
export function normalizeIp(addr: string | undefined): string {
  if (addr === undefined) return "unknown";
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m?.[1] ?? addr;
}

function asHandler(p: ProtocolRegistration): ProtocolHandler {
  return typeof p === "function" ? { handle: p } : p;
}

export class ListenerManager {
  readonly #opts: ListenerManagerOptions;
  readonly #running: Running[] = [];
  #closing = false;

  constructor(opts: ListenerManagerOptions) {
    this.#opts = opts;
  }

  /** The names of the enabled listeners that have a protocol registered (the ones listen() starts). */
  startable(): string[] {
    return Object.entries(this.#opts.listeners)
      .filter(([, l]) => l.enabled && this.#opts.protocols[l.service] !== undefined)
      .map(([n]) => n);
  }

  /**
   * Bind every startable listener. Resolves with the bound address of each (the real port
   * when 0 was asked). If one cannot bind, the others are closed and the error names it.
   */
  async listen(): Promise<Record<string, BoundListener>> {
    const offset = this.#opts.portOffset ?? 0;
    try {
      for (const name of this.startable()) {
        const config = this.#opts.listeners[name];
        const reg = config === undefined ? undefined : this.#opts.protocols[config.service];
        if (config === undefined || reg === undefined) continue;
        const port = config.port === 0 || config.path !== "" ? 0 : config.port + offset;
        if (port > 65535)
          throw new Error(`listener ${name}: port ${config.port} + portOffset ${offset} is above 65535`);
        const handedOff = config.path === "" && (this.#opts.handoff?.services.has(config.service) ?? false);
        const r: Running = {
          name,
          config,
          protocol: asHandler(reg),
          // A handed-off socket must not be read here: its bytes belong to the other process.
          server: createServer({ noDelay: true, pauseOnConnect: handedOff }),
          live: new Set(),
          perIp: new Map(),
          handedOff,
        };
        r.server.on("connection", (socket: Socket) => this.#accept(r, socket));
        r.server.on("error", (e) =>
          this.#opts.logger.error({ listener: name, err: e.message }, "listener error"),
        );
        this.#running.push(r);
        if (config.path !== "") {
          r.socketFile = await bindUnixSocket(r.server, config.path, config.socketMode).catch(
            (e: unknown) => {
              throw new Error(
                `listener ${name} (${config.service}) cannot listen on ${config.path}: ${(e as Error).message}`,
                { cause: e },
              );
            },
          );
          r.bound = { service: config.service, host: config.path, port: 0, path: config.path };
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const onError = (e: Error): void =>
            reject(
              new Error(
                `listener ${name} (${config.service}) cannot bind ${config.bind}:${port}: ${e.message}`,
                { cause: e },
              ),
            );
          r.server.once("error", onError);
          r.server.listen({ host: config.bind, port, backlog: 511 }, () => {
            r.server.off("error", onError);
            resolve();
          });
        });
        const addr = r.server.address();
        const actual = typeof addr === "object" && addr !== null ? addr.port : port;
        r.bound = { service: config.service, host: config.bind, port: actual };
      }
    } catch (e) {
      await this.close({ graceMs: 0 });
      throw e;
    }
    return this.ports();
  }

  /** The bound listeners by name. */
  ports(): Record<string, BoundListener> {
    const out: Record<string, BoundListener> = {};
    for (const r of this.#running) if (r.bound !== undefined) out[r.name] = { ...r.bound };
    return out;
  }

  /** Live connections, over all listeners. */
  connectionCount(): number {
    return this.#running.reduce((n, r) => n + r.live.size, 0);
  }

  #accept(r: Running, socket: Socket): void {
    const { logger, metrics } = this.#opts;
    const service = r.config.service;
    socket.on("error", (e) => logger.debug({ listener: r.name, err: e.message }, "socket error"));
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const unix = r.config.path !== "";
    const ip = unix ? UNIX_PEER : normalizeIp(socket.remoteAddress);
    const base: HandoffInfo = {
      service,
      listenerName: r.name,
      remoteAddress: ip,
      remotePort: socket.remotePort ?? 0,
      localAddress: unix ? r.config.path : normalizeIp(socket.localAddress),
      localPort: socket.localPort ?? 0,
      ...(unix ? { socketPath: r.config.path } : {}),
      tls: r.config.tls === "implicit",
      tlsMode: r.config.tls,
      allowPlaintextAuth: r.config.allowPlaintextAuth,
    };
    const ipCount = r.perIp.get(ip) ?? 0;
    // Every client of a unix socket is local: only the listener's limit counts there.
    const over =
      r.live.size >= r.config.maxConnections
        ? "listener_limit"
        : !unix && ipCount >= r.config.maxConnectionsPerIp
          ? "ip_limit"
          : undefined;
    if (over !== undefined) {
      metrics?.connectionsRefused.inc({ service, reason: over });
      logger.info({ listener: r.name, ip, reason: over }, "connection refused over limit");
      if (r.handedOff) socket.resume();
      this.#refuse(r, socket, base);
      return;
    }
    const handoff = this.#opts.handoff;
    if (!r.handedOff || handoff === undefined) {
      this.#serve(r, socket, base);
      return;
    }
    let ended = false;
    let end!: () => void;
    const live: Live = {
      ip,
      hooks: [],
      ended: () => ended,
      ends: new Promise<void>((res) => (end = res)),
      destroy: () => undefined,
    };
    this.#track(r, live);
    try {
      handoff.hand(socket, base, () => {
        ended = true;
        end();
      });
    } catch (e) {
      logger.error({ listener: r.name, err: (e as Error).message }, "connection hand-off failed");
      socket.destroy();
      ended = true;
      end();
    }
  }

  /**
   * Serves a connection accepted by another process (src/server/workers.ts), which checked
   * the limits: the protocol of listener `name` takes it here, after the TLS handshake of an
   * implicit-TLS listener. Counted for the graceful stop like one accepted here.
   */
  adopt(name: string, socket: Socket, info: HandoffInfo): void {
    const { logger } = this.#opts;
    socket.on("error", (e) => logger.debug({ listener: name, err: e.message }, "socket error"));
    if (this.#closing) {
      socket.destroy();
      return;
    }
    let r = this.#running.find((x) => x.name === name);
    if (r === undefined) {
      const config = this.#opts.listeners[name];
      const reg = config === undefined ? undefined : this.#opts.protocols[config.service];
      if (config === undefined || reg === undefined) {
        logger.error({ listener: name }, "connection for a listener without a protocol here");
        socket.destroy();
        return;
      }
      r = {
        name,
        config,
        protocol: asHandler(reg),
        server: createServer(),
        live: new Set(),
        perIp: new Map(),
        handedOff: false,
      };
      this.#running.push(r);
    }
    // counted by the process that accepted it (connections_total, connections_active)
    this.#serve(r, socket, info, false);
  }

  #track(r: Running, live: Live, counted = true): void {
    const metrics = counted ? this.#opts.metrics : undefined;
    const service = r.config.service;
    r.live.add(live);
    r.perIp.set(live.ip, (r.perIp.get(live.ip) ?? 0) + 1);
    metrics?.connectionsTotal.inc({ service });
    metrics?.connectionsActive.inc({ service });
    void live.ends.then(() => {
      r.live.delete(live);
      const n = (r.perIp.get(live.ip) ?? 1) - 1;
      if (n <= 0) r.perIp.delete(live.ip);
      else r.perIp.set(live.ip, n);
      metrics?.connectionsActive.dec({ service });
    });
  }

  #serve(r: Running, socket: Socket, base: HandoffInfo, counted = true): void {
    const { logger, metrics } = this.#opts;
    const service = r.config.service;
    const live: Live = {
      ip: base.remoteAddress,
      hooks: [],
      ended: () => socket.closed,
      ends: socket.closed ? Promise.resolve() : new Promise<void>((res) => socket.once("close", () => res())),
      destroy: () => socket.destroy(),
    };
    this.#track(r, live, counted);
    const info: ConnectionInfo = { ...base, onShutdown: (hook) => live.hooks.push(hook) };
    const start = (s: Socket): void => {
      try {
        r.protocol.handle(s, info);
      } catch (e) {
        logger.error(
          { listener: r.name, err: e instanceof Error ? e.stack : String(e) },
          "connection handler failed",
        );
        s.destroy();
      }
    };
    if (r.config.tls !== "implicit") {
      start(socket);
      return;
    }
    upgradeToTls(socket, this.#opts, { timeoutMs: this.#opts.handshakeTimeoutMs ?? 30_000 }).then(
      start,
      (e: unknown) => {
        metrics?.tlsHandshakeFailures.inc({ service });
        logger.debug(
          { listener: r.name, ip: base.remoteAddress, err: (e as Error).message },
          "TLS handshake failed",
        );
      },
    );
  }

  #refuse(r: Running, socket: Socket, info: Omit<ConnectionInfo, "onShutdown">): void {
    const t = r.protocol.tooManyConnections;
    const line = t === undefined ? undefined : typeof t === "string" ? t : t(info);
    const killer = setTimeout(() => socket.destroy(), 5000);
    killer.unref();
    socket.once("close", () => clearTimeout(killer));
    if (line === undefined) {
      socket.destroy();
      return;
    }
    const text = line.endsWith("\r\n") ? line : `${line}\r\n`;
    if (r.config.tls !== "implicit") {
      socket.end(text);
      return;
    }
    // Implicit TLS: the line can only be read after a handshake; keep it short.
    upgradeToTls(socket, this.#opts, { timeoutMs: 5000 }).then(
      (s) => {
        s.end(text);
      },
      () => undefined,
    );
  }

  /**
   * Stop: no new connections, each live connection's shutdown hooks run (the protocol ends
   * its session when the command in flight is done), and after `graceMs` whatever is still
   * open is destroyed. Resolves once every socket and server is closed.
   */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? 10_000;
    this.#closing = true;
    const serversClosed = this.#running.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (!r.server.listening) {
            resolve();
            return;
          }
          r.server.close(() => resolve());
        }),
    );
    const all = this.#running.flatMap((r) => [...r.live]);
    for (const c of all) {
      for (const hook of c.hooks) {
        try {
          Promise.resolve(hook()).catch((e: unknown) =>
            this.#opts.logger.warn({ err: (e as Error).message }, "connection shutdown hook failed"),
          );
        } catch (e) {
          this.#opts.logger.warn({ err: (e as Error).message }, "connection shutdown hook failed");
        }
      }
    }
    const allClosed = Promise.all(all.map((c) => c.ends));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((res) => {
      timer = setTimeout(() => res("timeout"), graceMs);
    });
    const outcome = await Promise.race([allClosed.then(() => "closed" as const), graceOver]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      const left = all.filter((c) => !c.ended());
      if (left.length > 0)
        this.#opts.logger.info({ connections: left.length }, "grace time over, closing connections");
      for (const c of left) c.destroy();
      await allClosed;
    }
    await Promise.all(serversClosed);
    for (const r of this.#running) {
      delete r.bound;
      if (r.socketFile !== undefined) {
        await removeUnixSocket(r.socketFile).catch((e: unknown) =>
          this.#opts.logger.warn(
            { listener: r.name, err: (e as Error).message },
            "cannot remove the socket file",
          ),
        );
        delete r.socketFile;
      }
    }
  }
}
