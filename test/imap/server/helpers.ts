// IMAP server test fixtures: a real server (startServer) with imap and imaps listeners on
// 127.0.0.1 port 0 over a store on a temporary SQLite file, an account with a password,
// delivery through the ingest path, a byte-exact raw client built on the wire layer's
// client-side reader, and an imapflow client.
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import type { RunningServer } from "../../../src/core/server.ts";
import { imapProtocol } from "../../../src/protocols/imap/index.ts";
import { CommandReader } from "../../../src/protocols/imap/wire/index.ts";
import type { Account } from "../../../src/store/types.ts";
import { startTestServer } from "../../helpers/server.ts";

export { message } from "../../helpers/server.ts";

export const PASSWORD = "s3cret pass";

/** The message files of a Maildir folder (cur/ and new/), as a sync client left them. */
export async function maildirFiles(dir: string): Promise<string[]> {
  return [
    ...(await readdir(join(dir, "cur"))).map((n) => join(dir, "cur", n)),
    ...(await readdir(join(dir, "new"))).map((n) => join(dir, "new", n)),
  ];
}

export interface ImapFixture {
  server: RunningServer;
  dir: string;
  port: number;
  tlsPort: number;
  account: Account;
  user: string;
  /** Delivers a message to INBOX (or the mailbox of that path) through ingest; returns the UID. */
  deliver(raw: string | Buffer, path?: string): Promise<number>;
  /** A logged-in raw client. */
  raw(opts?: { login?: boolean }): Promise<RawImap>;
  /** A connected, logged-in imapflow client. */
  flow(): Promise<ImapFlow>;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  allowPlaintext?: boolean;
  limits?: Record<string, unknown>;
  /** More settings of the plain-text imap listener. */
  imapListener?: Record<string, unknown>;
  /** Sessions served by this many processes (server.workers). */
  workers?: number;
  /** Further top-level configuration sections. */
  config?: Record<string, unknown>;
}

export async function startImap(opts: FixtureOptions = {}): Promise<ImapFixture> {
  const t = await startTestServer({
    prefix: "mailroom-imap-",
    listeners: { imap: { allowPlaintextAuth: opts.allowPlaintext ?? true, ...opts.imapListener }, imaps: {} },
    protocols: { imap: imapProtocol, imaps: imapProtocol },
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.config ? { config: opts.config } : {}),
  });
  const { server, store } = t;
  await store.createDomain("example.test");
  const account = await t.addAccount("alice@example.test", PASSWORD);
  const port = t.port("imap");
  const clients: Array<{ close(): void }> = [];
  return {
    server,
    dir: t.dir,
    port,
    tlsPort: t.port("imaps"),
    account,
    user: account.name,
    async deliver(raw, path = "INBOX") {
      const mb = await store.getMailboxByPath(account.id, path);
      const r = await server.ctx.ingest.ingest({
        accountId: account.id,
        raw: typeof raw === "string" ? Buffer.from(raw, "utf8") : raw,
        source: "import",
        mailboxIds: mb === null ? [] : [mb.id],
      });
      return r.uids[0]?.uid ?? 0;
    },
    async raw(o = {}) {
      const c = await RawImap.connect(port);
      clients.push(c);
      await c.greeting();
      if (o.login !== false) {
        const r = await c.cmd(`LOGIN "${account.name}" "${PASSWORD}"`);
        if (!/^\S+ OK/m.test(r)) throw new Error("login failed: " + r);
      }
      return c;
    },
    async flow() {
      const f = new ImapFlow({
        host: "127.0.0.1",
        port,
        secure: false,
        doSTARTTLS: false,
        auth: { user: account.name, pass: PASSWORD },
        logger: false,
      });
      await f.connect();
      clients.push({ close: () => f.close() });
      return f;
    },
    async stop() {
      for (const c of clients) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await t.stop();
    },
  };
}

/**
 * A byte-exact client: responses are split into units (a line with its literals) by the wire
 * layer's client-side CommandReader; cmd() returns the bytes up to and with the tagged reply.
 */
export class RawImap {
  readonly socket: Socket;
  readonly #reader = new CommandReader({ side: "client", maxLiteralSize: 256 * 1024 * 1024 });
  #text = "";
  #units: Array<{ tag: string | null; text: string }> = [];
  #waiters: Array<() => void> = [];
  #pushed = 0;
  #taken = 0;
  /** Input not yet handed out as units. */
  #rest: Buffer[] = [];
  #n = 0;
  ended = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => this.#feed(d));
    socket.on("close", () => {
      this.ended = true;
      this.#wake();
    });
    socket.on("error", () => undefined);
  }

  static async connect(port: number): Promise<RawImap> {
    const s = netConnect(port, "127.0.0.1");
    await once(s, "connect");
    return new RawImap(s);
  }

  #feed(d: Buffer): void {
    this.#rest.push(d);
    this.#pushed += d.length;
    this.#reader.push(d);
    for (;;) {
      const ev = this.#reader.next();
      if (ev === null) break;
      if (ev.type !== "command") continue;
      const consumed = this.#pushed - this.#reader.buffered;
      const all = this.#rest.length === 1 ? (this.#rest[0] ?? Buffer.alloc(0)) : Buffer.concat(this.#rest);
      const n = consumed - this.#taken;
      const text = all.subarray(0, n).toString("utf8");
      this.#rest = n < all.length ? [all.subarray(n)] : [];
      this.#taken = consumed;
      this.#units.push({ tag: ev.command.tag, text });
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #until(pred: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.ended) throw new Error("connection closed; got: " + this.#units.map((u) => u.text).join(""));
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timeout; got: " + this.#units.map((u) => u.text).join(""));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the first unit (the greeting) and returns it. */
  async greeting(): Promise<string> {
    await this.#until(() => this.#units.length > 0, 5000);
    return this.#take(1);
  }

  #take(n: number): string {
    return this.#units
      .splice(0, n)
      .map((u) => u.text)
      .join("");
  }

  /** Sends `A<n> text` CRLF and returns everything up to and with the tagged reply. */
  async cmd(text: string | Buffer, timeoutMs = 5000): Promise<string> {
    const tag = `A${++this.#n}`;
    this.write(
      typeof text === "string"
        ? `${tag} ${text}\r\n`
        : Buffer.concat([Buffer.from(`${tag} `), text, Buffer.from("\r\n")]),
    );
    return this.tagged(tag, timeoutMs);
  }

  /** The next tag cmd() would use. */
  nextTag(): string {
    return `A${this.#n + 1}`;
  }

  /** Skips a tag number (for commands written by hand with write()). */
  takeTag(): string {
    return `A${++this.#n}`;
  }

  /** Waits for the reply tagged `tag`; returns it and everything before it. */
  async tagged(tag: string, timeoutMs = 5000): Promise<string> {
    await this.#until(() => this.#units.some((u) => u.tag === tag), timeoutMs);
    const i = this.#units.findIndex((u) => u.tag === tag);
    return this.#take(i + 1);
  }

  /** Waits until an unread unit matches `re`; returns the units up to it. */
  async waitFor(re: RegExp, timeoutMs = 5000): Promise<string> {
    await this.#until(() => this.#units.some((u) => re.test(u.text)), timeoutMs);
    const i = this.#units.findIndex((u) => re.test(u.text));
    return this.#take(i + 1);
  }

  /** What arrived and was not read yet. */
  pending(): string {
    return this.#take(this.#units.length);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}
