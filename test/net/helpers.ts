// Helpers for the socket tests: a TLS provider with a fresh self-signed certificate, a line
// reader over a client socket, and a listener manager on 127.0.0.1 port 0.
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { silentLogger } from "../../src/core/logger.ts";
import { Metrics } from "../../src/core/metrics.ts";
import type { ListenerConfig, Service, TlsMode } from "../../src/config/schema.ts";
import { ListenerManager, type ProtocolRegistration } from "../../src/net/listener.ts";
import { TlsProvider } from "../../src/tls/provider.ts";
import { generateSelfSigned } from "../../src/tls/self-signed.ts";

export async function testTls(hostname = "localhost"): Promise<TlsProvider> {
  return TlsProvider.fromPem(await generateSelfSigned(hostname));
}

export function listener(
  service: Service,
  tls: TlsMode,
  extra: Partial<ListenerConfig> = {},
): ListenerConfig {
  return {
    service,
    enabled: true,
    bind: "127.0.0.1",
    port: 0,
    path: "",
    socketMode: 0o660,
    tls,
    maxConnections: 100,
    maxConnectionsPerIp: 100,
    allowPlaintextAuth: false,
    vrfy: "off",
    compress: true,
    ...extra,
  };
}

export async function startManager(
  listeners: Record<string, ListenerConfig>,
  protocols: Partial<Record<Service, ProtocolRegistration>>,
  tls?: TlsProvider,
): Promise<{ manager: ListenerManager; port: (name: string) => number; metrics: Metrics }> {
  const metrics = new Metrics();
  const manager = new ListenerManager({
    listeners,
    protocols,
    tls: tls ?? (await testTls()),
    logger: silentLogger(),
    metrics,
    handshakeTimeoutMs: 2000,
  });
  const ports = await manager.listen();
  return {
    manager,
    metrics,
    port: (name) => {
      const p = ports[name];
      if (p === undefined) throw new Error(`listener ${name} not started`);
      return p.port;
    },
  };
}

/** Reads CRLF lines from a socket. */
export class LineReader {
  #buf = "";
  #waiters: ((line: string | null) => void)[] = [];
  #lines: string[] = [];
  #ended = false;
  constructor(socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.#buf += d;
      let i: number;
      while ((i = this.#buf.indexOf("\r\n")) >= 0) {
        this.#push(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 2);
      }
    });
    socket.on("close", () => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w(null);
    });
    socket.on("error", () => undefined);
  }
  #push(line: string): void {
    const w = this.#waiters.shift();
    if (w) w(line);
    else this.#lines.push(line);
  }
  /** The next line, or null when the connection closed. */
  async line(timeoutMs = 3000): Promise<string | null> {
    const l = this.#lines.shift();
    if (l !== undefined) return l;
    if (this.#ended) return null;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no line within timeout")), timeoutMs);
      this.#waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
}

export async function connectPlain(port: number): Promise<Socket> {
  const s = netConnect(port, "127.0.0.1");
  await once(s, "connect");
  return s;
}

export async function connectTls(
  port: number,
  servername = "localhost",
  opts: { maxVersion?: "TLSv1.2" | "TLSv1.3" } = {},
): Promise<TLSSocket> {
  const s = tlsConnect({ port, host: "127.0.0.1", servername, rejectUnauthorized: false, ...opts });
  await once(s, "secureConnect");
  return s;
}

export async function closed(s: Socket): Promise<void> {
  if (s.closed) return;
  await once(s, "close");
}
