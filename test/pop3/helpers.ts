// POP3 test fixtures: a real server (startServer) with pop3 and pop3s listeners on 127.0.0.1
// port 0 over a store on a temporary SQLite file, an account with a password, messages put in
// through the ingest path, and a byte-exact raw client.
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { RunningServer } from "../../src/core/server.ts";
import { pop3Protocol } from "../../src/protocols/pop3/server/protocol.ts";
import type { Pop3Options } from "../../src/protocols/pop3/server/session.ts";
import type { Account } from "../../src/store/types.ts";
import { startTestServer } from "../helpers/server.ts";

export { message } from "../helpers/server.ts";

export const PASSWORD = "s3cret pass";

export interface Pop3Fixture {
  server: RunningServer;
  dir: string;
  pop3Port: number;
  pop3sPort: number;
  account: Account;
  user: string;
  /** Delivers a message to the account's INBOX through the ingest path; returns its UID. */
  deliver(raw: string | Buffer, accountId?: string): Promise<number>;
  /** Adds another account with PASSWORD. */
  addAccount(name: string): Promise<Account>;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  /** The pop3 listener's allowPlaintextAuth (default true: most tests log in without STLS). */
  allowPlaintext?: boolean;
  pop3?: Pop3Options;
  limits?: Record<string, unknown>;
}

export async function startPop3(opts: FixtureOptions = {}): Promise<Pop3Fixture> {
  const factory = (ctx: Parameters<typeof pop3Protocol>[0]): ReturnType<typeof pop3Protocol> =>
    pop3Protocol(ctx, opts.pop3);
  const t = await startTestServer({
    prefix: "mailroom-pop3-",
    listeners: { pop3: { allowPlaintextAuth: opts.allowPlaintext ?? true }, pop3s: {} },
    protocols: { pop3: factory, pop3s: factory },
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  const { server } = t;
  await t.store.createDomain("example.test");
  const addAccount = (name: string): Promise<Account> => t.addAccount(name, PASSWORD);
  const account = await addAccount("alice@example.test");
  return {
    server,
    dir: t.dir,
    pop3Port: t.port("pop3"),
    pop3sPort: t.port("pop3s"),
    account,
    user: account.name,
    addAccount,
    async deliver(raw, accountId = account.id) {
      const r = await server.ctx.ingest.ingest({
        accountId,
        raw: typeof raw === "string" ? Buffer.from(raw, "utf8") : raw,
        source: "import",
      });
      return r.uids[0]?.uid ?? 0;
    },
    stop: () => t.stop(),
  };
}

/** A byte-exact POP3 client: status lines and multi-line bodies as Buffers. */
export class RawPop3 {
  socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #ended = false;

  constructor(socket: Socket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(s: Socket): void {
    s.on("data", (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      for (const w of this.#waiters.splice(0)) w();
    });
    s.on("close", () => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w();
    });
    s.on("error", () => undefined);
  }

  static async connect(port: number): Promise<RawPop3> {
    const s = netConnect(port, "127.0.0.1");
    await once(s, "connect");
    return new RawPop3(s);
  }

  static async connectTls(port: number): Promise<RawPop3> {
    const s = tlsConnect({ port, host: "127.0.0.1", servername: "localhost", rejectUnauthorized: false });
    await once(s, "secureConnect");
    return new RawPop3(s);
  }

  get ended(): boolean {
    return this.#ended;
  }

  async #wait(timeoutMs: number): Promise<void> {
    if (this.#ended) throw new Error("connection closed");
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("timeout waiting for the server")), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The next CRLF line (without CRLF), or null when the connection closed first. */
  async line(timeoutMs = 5000): Promise<string | null> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const l = this.#buf.subarray(0, i).toString("utf8");
        this.#buf = this.#buf.subarray(i + 2);
        return l;
      }
      if (this.#ended) return null;
      await this.#wait(timeoutMs);
    }
  }

  /** The raw octets of a multi-line body up to and including "\r\n.\r\n" (stuffing kept). */
  async body(timeoutMs = 5000): Promise<Buffer> {
    for (;;) {
      if (this.#buf.subarray(0, 3).equals(Buffer.from(".\r\n"))) {
        this.#buf = this.#buf.subarray(3);
        return Buffer.from(".\r\n");
      }
      const i = this.#buf.indexOf("\r\n.\r\n");
      if (i >= 0) {
        const b = this.#buf.subarray(0, i + 5);
        this.#buf = this.#buf.subarray(i + 5);
        return Buffer.from(b);
      }
      await this.#wait(timeoutMs);
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a command and returns the status line. */
  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    const l = await this.line();
    if (l === null) throw new Error(`connection closed after ${line}`);
    return l;
  }

  /** Sends a command answered by a multi-line response: status and raw body. */
  async multi(line: string): Promise<{ status: string; body: Buffer }> {
    const status = await this.cmd(line);
    if (!status.startsWith("+OK")) return { status, body: Buffer.alloc(0) };
    return { status, body: await this.body() };
  }

  async login(user: string, password = PASSWORD): Promise<string> {
    const u = await this.cmd(`USER ${user}`);
    if (!u.startsWith("+OK")) return u;
    return this.cmd(`PASS ${password}`);
  }

  /** Replaces the socket by a TLS one over it (after "+OK" to STLS). */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners("data");
    const s: TLSSocket = tlsConnect({ socket: plain, servername: "localhost", rejectUnauthorized: false });
    await once(s, "secureConnect");
    this.#buf = Buffer.alloc(0);
    this.socket = s;
    this.#listen(s);
  }

  async closed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (Date.now() >= deadline) throw new Error("connection not closed");
      await this.#wait(deadline - Date.now()).catch(() => undefined);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
