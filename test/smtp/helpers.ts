// Helpers for the SMTP session tests: a real server (startServer) on 127.0.0.1 port 0 with
// smtp, submission, submissions and lmtp listeners over a fresh SQLite store, a few accounts,
// and a raw SMTP client that reads replies with the wire layer's ReplyParser.
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { makeCredential } from "../../src/auth/password.ts";
import { ConfigManager } from "../../src/config/reload.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startServer, type RunningServer } from "../../src/core/server.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import type { OutboundEnvelope, OutboundSink, SmtpServiceOptions } from "../../src/protocols/smtp/index.ts";
import type { ParsedReply } from "../../src/protocols/smtp/wire/replies.ts";
import { ReplyParser } from "../../src/protocols/smtp/wire/replies.ts";
import { openStore } from "../../src/store/open.ts";
import type { Account, MailStore } from "../../src/store/types.ts";

export const PASSWORDS = { alice: "alice-secret", bob: "bob-secret" } as const;

/** An in-memory outbound sink, for tests that do not look at the real queue table. */
export class MemoryOutbound implements OutboundSink {
  readonly queued: OutboundEnvelope[] = [];
  async enqueue(e: OutboundEnvelope): Promise<string> {
    this.queued.push(e);
    return String(this.queued.length);
  }
}

export interface TestServer {
  server: RunningServer;
  store: MailStore;
  dir: string;
  port(name: "smtp" | "submission" | "submissions" | "lmtp"): number;
  accounts: { alice: Account; bob: Account; carol: Account };
  stop(): Promise<void>;
  /** Raw messages in an account's INBOX, oldest first. */
  inbox(account: Account): Promise<Buffer[]>;
}

export interface StartOptions {
  service?: SmtpServiceOptions;
  config?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  dir?: string;
  /** Adds an "lmtp-socket" listener: LMTP on this unix socket path. */
  lmtpSocket?: string;
  /** Fields added to a listener (e.g. { lmtp: { vrfy: "on" } }). */
  listeners?: Partial<Record<"smtp" | "submission" | "submissions" | "lmtp", Record<string, unknown>>>;
}

export async function startSmtp(opts: StartOptions = {}): Promise<TestServer> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "mailroom-smtp-")));
  const store = await openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "m.sqlite"),
    blobs: "fs",
    blobDir: join(dir, "blobs"),
    clock: systemClock,
    logger: silentLogger(),
    search: "scan",
  });
  if ((await store.getDomain("example.org")) === null) {
    await store.createDomain("example.org");
    await store.createDomain("catchall.example", { catchAll: "bob@example.org" });
    const alice = await store.createAccount({ name: "alice@example.org" });
    await store.setPassword(alice.id, await makeCredential(PASSWORDS.alice));
    const bob = await store.createAccount({ name: "bob@example.org" });
    await store.setPassword(bob.id, await makeCredential(PASSWORDS.bob));
    await store.createAccount({ name: "carol@example.org", quotaBytes: 2000 });
    await store.setAlias({ address: "sales@example.org", targets: ["alice@example.org", "bob@example.org"] });
    await store.setAlias({ address: "al@example.org", targets: ["alice@example.org"] });
  }
  const local = { bind: "127.0.0.1", port: 0 };
  const extra = opts.listeners ?? {};
  const config = ConfigManager.fromObject({
    server: { dataDir: dir, hostname: "mx.example.org" },
    listeners: {
      smtp: { ...local, ...extra.smtp },
      submission: { ...local, allowPlaintextAuth: false, ...extra.submission },
      submissions: { ...local, ...extra.submissions },
      lmtp: { ...local, ...extra.lmtp },
      ...(opts.lmtpSocket === undefined ? {} : { "lmtp-socket": { service: "lmtp", path: opts.lmtpSocket } }),
      http: { enabled: false },
      https: { enabled: false },
      imap: { enabled: false },
      imaps: { enabled: false },
      pop3: { enabled: false },
      pop3s: { enabled: false },
      managesieve: { enabled: false },
    },
    limits: { authFailureDelayMs: 0, ...opts.limits },
    ...opts.config,
  });
  const service = opts.service ?? {};
  const server = await startServer({
    config,
    store,
    logger: silentLogger(),
    resolver: new StaticResolver(),
    reloadOnSighup: false,
    outbound: false,
    http: false,
    protocols: {
      smtp: smtpProtocol("smtp", service),
      submission: smtpProtocol("submission", service),
      submissions: smtpProtocol("submissions", service),
      lmtp: smtpProtocol("lmtp", service),
    },
  });
  const get = async (name: string): Promise<Account> => {
    const a = await store.getAccountByName(name);
    if (a === null) throw new Error(`no account ${name}`);
    return a;
  };
  const accounts = {
    alice: await get("alice@example.org"),
    bob: await get("bob@example.org"),
    carol: await get("carol@example.org"),
  };
  return {
    server,
    store,
    dir,
    accounts,
    port(name) {
      const p = server.ports()[name];
      if (p === undefined) throw new Error(`listener ${name} not started`);
      return p.port;
    },
    async stop() {
      await server.stop({ graceMs: 500 });
      if (opts.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
    async inbox(account) {
      const boxes = await store.listMailboxes(account.id);
      const inbox = boxes.find((b) => b.role === "inbox");
      if (inbox === undefined) return [];
      const msgs = await store.listMessages(account.id, inbox.id);
      const out: Buffer[] = [];
      for (const m of msgs) {
        const raw = await store.getRaw(account.id, m.emailId);
        if (raw !== null) out.push(raw);
      }
      return out;
    },
  };
}

/** A raw SMTP client: byte-exact writes, replies parsed by the wire layer. */
export class RawClient {
  socket: Socket | TLSSocket;
  #parser = new ReplyParser();
  #replies: ParsedReply[] = [];
  #waiters: ((r: ParsedReply | null) => void)[] = [];
  #closed = false;
  received = "";

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(socket: Socket): void {
    socket.on("data", (d: Buffer) => {
      this.received += d.toString("latin1");
      for (const r of this.#parser.push(d)) {
        const w = this.#waiters.shift();
        if (w) w(r);
        else this.#replies.push(r);
      }
    });
    socket.on("close", () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w(null);
    });
    socket.on("error", () => undefined);
  }

  /** Connects to a unix socket listener. */
  static async connectPath(path: string): Promise<RawClient> {
    const s = netConnect({ path });
    await once(s, "connect");
    return new RawClient(s);
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<RawClient> {
    if (opts.tls === true) {
      const s = tlsConnect({ port, host: "127.0.0.1", servername: "localhost", rejectUnauthorized: false });
      await once(s, "secureConnect");
      return new RawClient(s);
    }
    const s = netConnect(port, "127.0.0.1");
    await once(s, "connect");
    return new RawClient(s);
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next reply; null once the connection closed. */
  async reply(timeoutMs = 5000): Promise<ParsedReply | null> {
    const r = this.#replies.shift();
    if (r !== undefined) return r;
    if (this.#closed) return null;
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no reply within ${timeoutMs} ms; got so far: ${this.received.slice(-500)}`)),
        timeoutMs,
      );
      this.#waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  /** Sends a command line (CRLF added) and answers the reply as "code enhanced text". */
  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return show(await this.reply());
  }

  /** Replies for `n` pipelined commands. */
  async replies(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(show(await this.reply()));
    return out;
  }

  /** STARTTLS already answered 220: wrap the socket in TLS. */
  async upgrade(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const s = tlsConnect({ socket: plain, servername: "localhost", rejectUnauthorized: false });
    await once(s, "secureConnect");
    this.socket = s;
    this.#parser = new ReplyParser();
    this.#listen(s);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.socket.destroy();
    await once(this.socket, "close").catch(() => undefined);
  }
}

/** A client past the greeting and "EHLO client.example". */
export async function ehloSession(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.reply();
  await c.cmd("EHLO client.example");
  return c;
}

/** "250 2.1.0 Sender OK" style summary of a reply ("closed" after the connection ended). */
export function show(r: ParsedReply | null): string {
  if (r === null) return "closed";
  return `${r.code} ${r.enhanced === null ? "" : `${r.enhanced} `}${r.lines.join(" | ")}`;
}

/** A short message. */
export function message(subject: string, body = "Hello.\r\n", extra = ""): string {
  return `From: alice@example.org\r\nTo: bob@example.org\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@test>\r\nDate: Sun, 22 Nov 2026 05:00:00 +0000\r\n${extra}\r\n${body}`;
}

export function plainAuth(user: string, pass: string): string {
  return Buffer.from(`\0${user}\0${pass}`).toString("base64");
}
