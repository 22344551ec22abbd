// One POP3 connection: reads command lines, runs them one at a time in order (RFC 2449 §6.6
// PIPELINING: the client may send many commands at once; answers keep their order), keeps
// the state (RFC 1939 §3: AUTHORIZATION, TRANSACTION, UPDATE), the limits and timers, STLS,
// and the graceful stop. Limits: limits.maxConnectionsPerUser (core/user-sessions.ts, -ERR
// [IN-USE] at login) and limits.commandsPerMinute: the shared token bucket
// (src/net/command-throttle.ts) slows a client over the rate down, as SMTP and IMAP do; POP3
// needs one command per message (RETR n, DELE n), so a login adds MAILDROP_CREDIT commands
// per message that pass first, and a client downloading and deleting a large maildrop is
// not slowed. A command that would have to wait more than MAX_THROTTLE_WAIT_MS (a client
// pipelining far past the rate) is refused with -ERR [SYS/TEMP] (RFC 3206 §4: temporary,
// try again later) and counted as an error. QUIT is never held back. Commands live in ./commands/, one file per command or family, and
// are looked up in the registry (./registry.ts); the dispatcher checks the state once.
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { isStoreError } from "../../../core/errors.ts";
import type { Logger } from "../../../core/logger.ts";
import type { ServerContext } from "../../../core/context.ts";
import type { ConnectionInfo } from "../../../net/listener.ts";
import { upgradeToTls } from "../../../net/tls-upgrade.ts";
import type { AuthResult } from "../../../auth/types.ts";
import { tlsChannelBinding } from "../../../auth/sasl/channel-binding.ts";
import type { SaslConnection } from "../../../auth/sasl/types.ts";
import { MAX_COMMAND_LINE, parseCommand, type Pop3Command } from "../wire/command.ts";
import { LineReader, type LineEvent } from "../wire/line-reader.ts";
import { err, ok, type ResponseCode } from "../wire/reply.ts";
import { MaildropLock } from "./lock.ts";
import { Maildrop } from "./maildrop.ts";
import type { ReadAhead } from "./read-ahead.ts";
import { COMMANDS } from "./registry.ts";
import { CommandThrottle } from "../../../net/command-throttle.ts";
import { userSessions } from "../../../core/user-sessions.ts";
import { DEFAULT_LANGUAGE } from "./commands/lang.ts";

export type Pop3State = "authorization" | "transaction" | "update";

export interface Pop3Options {
  /** RFC 1939 §3: an inactivity autologout timer of at least 10 minutes. Default 10 min. */
  idleTimeoutMs?: number;
  /** Failed or unknown commands before the connection is closed. Default 20. */
  maxErrors?: number;
  /** Maildrop lease lifetime (renewed at a third). Default 60 s. */
  lockTtlMs?: number;
  /** Product name in the greeting and CAPA IMPLEMENTATION. */
  implementation?: string;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
const DEFAULT_MAX_ERRORS = 20;
const DEFAULT_LOCK_TTL_MS = 60_000;
/** Commands per maildrop message that pass before the rate limit (TOP or RETR, DELE, LIST). */
export const MAILDROP_CREDIT = 3;
/** A command over limits.commandsPerMinute that would wait longer than this is refused. */
export const MAX_THROTTLE_WAIT_MS = 5000;
/** Lines read ahead of the command being run before the socket is paused. */
const MAX_QUEUED_LINES = 256;
/** A response goes out in writes of about this size; between them the socket may drain. */
const SLICE = 256 * 1024;

export class Pop3Session {
  readonly ctx: ServerContext;
  readonly info: ConnectionInfo;
  readonly options: Required<Pop3Options>;
  readonly log: Logger;
  state: Pop3State = "authorization";
  /** RFC 6856 §2: the client issued UTF8. */
  utf8 = false;
  /** RFC 6856 §3: the language of response texts (LANG). */
  language = DEFAULT_LANGUAGE;
  /** RFC 1939 §7 USER: the name given, waiting for PASS. */
  pendingUser: string | null = null;
  identity: AuthResult | null = null;
  maildrop: Maildrop | null = null;
  lock: MaildropLock | null = null;
  /** Loads the next messages while the client reads one (RETR). */
  readAhead: ReadAhead | null = null;

  #socket: Socket;
  readonly #reader = new LineReader(MAX_COMMAND_LINE - 2);
  #queue: LineEvent[] = [];
  #waiter: ((ev: LineEvent | null) => void) | null = null;
  #closed = false;
  #stopping = false;
  #paused = false;
  #errors = 0;
  #authFailures = 0;
  readonly #throttle: CommandThrottle;
  /** Commands granted at login (MAILDROP_CREDIT per message), used before the bucket. */
  #credit = 0;
  /** Gives back this session's slot of limits.maxConnectionsPerUser. */
  #releaseSlot: (() => void) | null = null;
  readonly #onData = (d: Buffer): void => this.#feed(d);

  constructor(ctx: ServerContext, socket: Socket, info: ConnectionInfo, options: Pop3Options = {}) {
    this.ctx = ctx;
    this.info = info;
    this.options = {
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      maxErrors: options.maxErrors ?? DEFAULT_MAX_ERRORS,
      lockTtlMs: options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS,
      implementation: options.implementation ?? "Mailroom",
    };
    this.log = ctx.logger.child({ proto: "pop3", ip: info.remoteAddress, port: info.remotePort });
    this.#socket = socket;
    this.#throttle = new CommandThrottle(() => ctx.config.current().limits.commandsPerMinute);
    info.onShutdown(() => this.#shutdown());
  }

  /** Greets and serves until the connection ends. */
  start(): void {
    this.#attach(this.#socket);
    // RFC 1939 §4: the greeting; no APOP timestamp (APOP is off, RFC 1939 §7).
    this.send(ok(`${this.options.implementation} POP3 server ready`));
    this.#run().catch((e: unknown) => {
      this.log.error({ err: e instanceof Error ? e.stack : String(e) }, "POP3 session failed");
      this.#destroy();
    });
  }

  /** True when the connection is encrypted (pop3s, or after STLS). */
  get tls(): boolean {
    return this.#socket instanceof TLSSocket;
  }

  /** RFC 2595 §2 / RFC 8314 §5.4: plaintext passwords only over TLS unless configured. */
  plaintextAllowed(): boolean {
    return (
      this.tls || this.info.allowPlaintextAuth || this.ctx.config.current().auth.allowPlaintextWithoutTls
    );
  }

  /** RFC 2595 §4: STLS is offered on STARTTLS listeners until TLS is on. */
  stlsAvailable(): boolean {
    return this.info.tlsMode === "starttls" && !this.tls;
  }

  saslConnection(): SaslConnection {
    const c: SaslConnection = {
      tls: this.tls,
      ip: this.info.remoteAddress,
      plaintextAllowed: this.plaintextAllowed(),
    };
    if (this.#socket instanceof TLSSocket) c.channelBinding = tlsChannelBinding(this.#socket);
    return c;
  }

  send(text: string | Buffer): void {
    if (this.#closed || this.#socket.destroyed) return;
    this.#socket.write(text);
  }

  /**
   * Writes a status line and the parts of a message (slices of the stored bytes, see
   * stuffMessage): corked, so each SLICE of the response leaves in one writev, without a
   * copy; between slices of a large message it waits for the socket to drain.
   */
  async sendMessage(status: string, parts: readonly Buffer[]): Promise<void> {
    const s = this.#socket;
    if (this.#closed || s.destroyed) return;
    s.cork();
    s.write(status);
    let size = 0;
    for (const p of parts) {
      s.write(p);
      size += p.length;
      if (size < SLICE) continue;
      s.uncork();
      size = 0;
      if (s.writableNeedDrain) await this.#drained(s);
      if (this.#closed || s.destroyed) return;
      s.cork();
    }
    s.uncork();
  }

  #drained(s: Socket): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        s.off("drain", done);
        s.off("close", done);
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  }

  /** The next client line during a command (AUTH exchanges); null when the connection ends. */
  async readLine(maxLength: number): Promise<LineEvent | null> {
    this.#reader.maxLength = maxLength;
    try {
      return await this.#next();
    } finally {
      this.#reader.maxLength = MAX_COMMAND_LINE - 2;
    }
  }

  /** Counts an error reply; past the limit the connection is closed. Returns true if closed. */
  countError(): boolean {
    this.#errors++;
    if (this.#errors < this.options.maxErrors) return false;
    this.send(err("too many errors, closing the connection"));
    this.close();
    return true;
  }

  /**
   * A failed authentication: the configured delay, then the reply; after
   * limits.authFailuresBeforeDisconnect failures the connection is closed.
   */
  async authFailed(reply: string): Promise<void> {
    this.#authFailures++;
    const limits = this.ctx.config.current().limits;
    if (limits.authFailureDelayMs > 0)
      await new Promise((r) => setTimeout(r, limits.authFailureDelayMs).unref());
    this.send(reply);
    if (this.#authFailures >= limits.authFailuresBeforeDisconnect) {
      this.send(err("too many failed authentications, closing the connection", "AUTH"));
      this.close();
    }
  }

  /**
   * RFC 1939 §4/§7 PASS, RFC 5034 §4 AUTH: after a successful authentication, lock and open
   * the maildrop and enter TRANSACTION. On failure the session stays in AUTHORIZATION.
   */
  async login(result: AuthResult): Promise<void> {
    const store = this.ctx.store;
    const limit = this.ctx.config.current().limits.maxConnectionsPerUser;
    const releaseSlot = userSessions(this.ctx).open(result.accountId, limit);
    if (releaseSlot === null) {
      this.log.info({ user: result.username, limit }, "POP3 login over maxConnectionsPerUser");
      this.send(err(`too many sessions for this account (at most ${limit})`, "IN-USE"));
      return;
    }
    let lock: MaildropLock | null;
    try {
      lock = await MaildropLock.acquire(store.leases, result.accountId, {
        ttlMs: this.options.lockTtlMs,
        logger: this.log,
        onLost: () => {
          if (this.state === "transaction") this.log.warn("maildrop lock lost during the session");
        },
      });
    } catch (e) {
      releaseSlot();
      throw e;
    }
    if (lock === null) {
      releaseSlot();
      this.log.info({ user: result.username }, "POP3 maildrop in use");
      this.send(err("maildrop already locked by another session", "IN-USE"));
      return;
    }
    let drop: Maildrop;
    try {
      drop = await Maildrop.load(store, result.accountId);
    } catch (e) {
      releaseSlot();
      await lock.release();
      throw e;
    }
    if (this.#closed) {
      releaseSlot();
      await lock.release();
      return;
    }
    this.#releaseSlot = releaseSlot;
    this.#credit = MAILDROP_CREDIT * drop.messages.length;
    this.lock = lock;
    this.maildrop = drop;
    this.identity = result;
    this.state = "transaction";
    const { count, octets } = drop.stat();
    this.log.info({ user: result.username, mechanism: result.mechanism, messages: count }, "POP3 login");
    this.send(ok(`maildrop has ${count} messages (${octets} octets)`));
  }

  /**
   * RFC 2595 §4 STLS: answer, drop everything the client sent after the command, and run the
   * handshake; the session goes on over TLS with nothing remembered from before it.
   */
  async startTls(): Promise<void> {
    const plain = this.#socket;
    plain.off("data", this.#onData);
    plain.pause();
    this.#queue = [];
    this.#reader.reset();
    this.#paused = false;
    let secure: TLSSocket;
    try {
      secure = await upgradeToTls(plain, this.ctx, { reply: ok("Begin TLS negotiation") });
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, "STLS handshake failed");
      this.#destroy();
      return;
    }
    plain.setTimeout(0);
    this.#socket = secure;
    // RFC 2595 §4: discard knowledge obtained from the client before TLS.
    this.utf8 = false;
    this.pendingUser = null;
    this.#attach(secure);
  }

  /** Ends the session after what was written (QUIT, fatal errors). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end();
    this.#wake(null);
    void this.#cleanup();
  }

  // --- internals ---

  #attach(s: Socket): void {
    s.on("data", this.#onData);
    s.on("close", () => {
      this.#closed = true;
      this.#wake(null);
      void this.#cleanup();
    });
    s.on("error", (e: Error) => this.log.debug({ err: e.message }, "POP3 socket error"));
    s.setTimeout(this.options.idleTimeoutMs);
    s.on("timeout", () => {
      if (this.#closed) return;
      // RFC 1939 §3: the autologout timer ends the session without entering UPDATE.
      this.log.info("POP3 idle timeout");
      this.send(err("autologout: idle for too long"));
      this.close();
      setTimeout(() => this.#destroy(), 1000).unref();
    });
  }

  #feed(d: Buffer): void {
    for (const ev of this.#reader.push(d)) {
      if (this.#waiter !== null) {
        const w = this.#waiter;
        this.#waiter = null;
        w(ev);
      } else this.#queue.push(ev);
    }
    if (this.#queue.length > MAX_QUEUED_LINES && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #wake(ev: LineEvent | null): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.(ev);
  }

  #next(): Promise<LineEvent | null> {
    const ev = this.#queue.shift();
    if (this.#paused && this.#queue.length < MAX_QUEUED_LINES / 4) {
      this.#paused = false;
      this.#socket.resume();
    }
    if (ev !== undefined) return Promise.resolve(ev);
    if (this.#closed || this.#stopping) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  async #run(): Promise<void> {
    for (;;) {
      const ev = await this.#next();
      if (ev === null || this.#closed) break;
      if (ev.type === "too-long") {
        this.send(err("command line too long"));
        if (this.countError()) break;
        continue;
      }
      await this.#dispatch(ev.line);
      if (this.#stopping && !this.#closed) {
        this.#goodbye();
        break;
      }
    }
  }

  /** limits.commandsPerMinute: waits when the client is over it; false (refusal sent) when far over. */
  async #allowed(): Promise<boolean> {
    if (this.#credit > 0) {
      this.#credit--;
      return true;
    }
    const waitMs = this.#throttle.take();
    if (waitMs === 0) return true;
    if (waitMs > MAX_THROTTLE_WAIT_MS) {
      const perMinute = this.ctx.config.current().limits.commandsPerMinute;
      this.send(err(`too many commands (at most ${perMinute} a minute), slow down`, "SYS/TEMP"));
      this.countError();
      return false;
    }
    await new Promise((r) => setTimeout(r, waitMs).unref());
    return !this.#closed;
  }

  async #dispatch(line: Buffer): Promise<void> {
    const parsed = parseCommand(line);
    if (!(parsed.ok && parsed.command.name === "QUIT") && !(await this.#allowed())) return;
    if (!parsed.ok) {
      this.send(err(parsed.error, parsed.code));
      this.countError();
      return;
    }
    const cmd: Pop3Command = parsed.command;
    const handler = COMMANDS[cmd.name];
    if (this.state === "update" || !(handler.states as readonly string[]).includes(this.state)) {
      this.send(err(`${cmd.name} is not valid in the ${this.state.toUpperCase()} state`));
      this.countError();
      return;
    }
    try {
      await (handler.handle as (s: Pop3Session, c: Pop3Command) => Promise<void>)(this, cmd);
    } catch (e) {
      this.send(this.#failure(cmd.name, e));
    }
  }

  /** DESIGN.md "Errors": a StoreError maps once to a response code. */
  #failure(name: string, e: unknown): string {
    if (isStoreError(e)) {
      const code: ResponseCode = e.code === "TEMP" || e.code === "INUSE" ? "SYS/TEMP" : "SYS/PERM";
      this.log.warn({ command: name, code: e.code, err: e.message }, "POP3 command failed");
      return err(`${name} failed: ${e.message}`, code);
    }
    this.log.error({ command: name, err: e instanceof Error ? e.stack : String(e) }, "POP3 command failed");
    return err(`${name} failed, try again later`, "SYS/TEMP");
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#stopping = true;
    // Waiting for the client: say goodbye now. Busy: #run says it after the command.
    if (this.#waiter !== null) this.#goodbye();
  }

  #goodbye(): void {
    // RFC 1939 §6: no UPDATE state without QUIT: marked messages stay.
    this.send(err("server shutting down, try again later", "SYS/TEMP"));
    this.close();
  }

  #destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
    this.#wake(null);
    void this.#cleanup();
  }

  #cleaned = false;
  async #cleanup(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    this.#releaseSlot?.();
    this.#releaseSlot = null;
    const lock = this.lock;
    this.lock = null;
    if (lock !== null) await lock.release();
  }
}
