// One SMTP, submission or LMTP session (RFC 5321 §3, §4; RFC 6409; RFC 2033): reads the socket
// through the wire layer's InputFramer, dispatches each command to its handler
// (commands/index.ts) after the state checks, batches replies for PIPELINING (RFC 2920 §3.2:
// replies are flushed when no more input is waiting), counts errors, applies the idle timeout
// (RFC 5321 §4.5.3.2), slows down a client over limits.commandsPerMinute, switches to TLS on
// STARTTLS (RFC 3207) and stops gracefully.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { AuthResult } from "../../../auth/types.ts";
import type { SaslMechanism } from "../../../auth/sasl/types.ts";
import type { LimitsConfig } from "../../../config/schema.ts";
import type { ServerContext } from "../../../core/context.ts";
import type { Logger } from "../../../core/logger.ts";
import { CommandThrottle } from "../../../net/command-throttle.ts";
import type { ConnectionInfo } from "../../../net/listener.ts";
import { upgradeToTls } from "../../../net/tls-upgrade.ts";
import { BdatReader } from "../wire/bdat.ts";
import type { Command, Verb } from "../wire/commands.ts";
import { parseCommand } from "../wire/commands.ts";
import type { FramerEvent } from "../wire/framer.ts";
import { InputFramer } from "../wire/framer.ts";
import type { Reply } from "../wire/replies.ts";
import { formatReply, formatReplyObject, reply } from "../wire/replies.ts";
import { allowedParams } from "./capabilities.ts";
import { authContinue } from "./commands/auth.ts";
import { bdatChunkDone } from "./commands/bdat.ts";
import { dataDone } from "./commands/data.ts";
import { COMMANDS } from "./commands/index.ts";
import type { SmtpHooks } from "./hooks.ts";
import { runHooks, verdictReply } from "./hooks.ts";
import type { HookSession } from "./hooks.ts";
import type { OutboundSink, SmtpMode, SmtpServiceOptions, Transaction } from "./types.ts";
import { DEFAULTS } from "./types.ts";

/** What a command needs before it may run (checked once, by the dispatcher). */
export type Requirement =
  | "hello" // after EHLO/HELO/LHLO (RFC 5321 §4.1.4)
  | "ehlo" // after EHLO/LHLO (extensions)
  | "no-transaction" // not between MAIL and the end of the message
  | "transaction"; // after MAIL

/** A command handler descriptor; see commands/index.ts for the registry. */
export interface CommandDescriptor {
  verbs: readonly Verb[];
  requires: readonly Requirement[];
  handle(s: SmtpSession, cmd: Command): Promise<void> | void;
}

/** An AUTH exchange waiting for the client's next line (RFC 4954 §4). */
export interface AuthExchange {
  mech: SaslMechanism;
  /** Set when the success came with additional data sent in a 334: the next line ends it. */
  success?: AuthResult;
}

/** The refusal of a BDAT chunk being read (RFC 3030 §2: the octets are read anyway). */
export interface PendingBdat {
  last: boolean;
  refused: Reply | null;
}

// Stop reading the socket while this much input waits behind a slow command.
const HIGH_WATER = 1 << 20;

export class SmtpSession implements HookSession {
  readonly ctx: ServerContext;
  readonly info: ConnectionInfo;
  readonly mode: SmtpMode;
  readonly hooks: readonly SmtpHooks[];
  readonly log: Logger;
  readonly framer = new InputFramer();
  readonly maxTransactions: number;
  readonly maxHoldSeconds: number;
  readonly outbound: OutboundSink | null;
  readonly #opts: SmtpServiceOptions;
  socket: Socket | TLSSocket;
  tls: boolean;
  /** TLS details for the Received header (RFC 8314 §4.3 style comment). */
  tlsInfo: { version: string; cipher: string } | null = null;
  helo: string | null = null;
  esmtp = false;
  auth: AuthResult | null = null;
  authFailures = 0;
  authExchange: AuthExchange | null = null;
  txn: Transaction | null = null;
  pendingBdat: PendingBdat | null = null;
  transactions = 0;
  errors = 0;
  readonly id: string;
  #out: string[] = [];
  #busy = false;
  #closed = false;
  #shuttingDown = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #throttle = new CommandThrottle(() => this.limits().commandsPerMinute);

  constructor(
    ctx: ServerContext,
    socket: Socket,
    info: ConnectionInfo,
    mode: SmtpMode,
    opts: SmtpServiceOptions,
  ) {
    this.ctx = ctx;
    this.socket = socket;
    this.info = info;
    this.mode = mode;
    this.#opts = opts;
    this.hooks = opts.hooks ?? [];
    this.outbound = opts.outbound ?? null;
    this.maxTransactions = opts.maxTransactions ?? DEFAULTS.maxTransactions;
    this.maxHoldSeconds = opts.maxHoldSeconds ?? DEFAULTS.maxHoldSeconds;
    this.tls = info.tls;
    this.id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`.toUpperCase();
    this.log = ctx.logger.child({ proto: mode, session: this.id, ip: info.remoteAddress });
    if (this.tls) this.#noteTls(socket as TLSSocket);
  }

  limits(): LimitsConfig {
    return this.ctx.config.current().limits;
  }

  get hostname(): string {
    return this.ctx.config.current().server.hostname;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Plaintext SASL mechanisms allowed without TLS on this listener (RFC 8314 §5.4). */
  plaintextAllowed(): boolean {
    return this.info.allowPlaintextAuth || this.ctx.config.current().auth.allowPlaintextWithoutTls;
  }

  /** AUTH may be used now: on TLS, or where plaintext is allowed. */
  authAllowed(): boolean {
    return this.tls || this.plaintextAllowed();
  }

  /** Starts the session: the connect hook, then the greeting (RFC 5321 §4.3.1). */
  async start(): Promise<void> {
    this.info.onShutdown(() => this.shutdown());
    this.#attach(this.socket);
    const v = await runHooks(this.hooks, "connect", this);
    const r = verdictReply(v);
    if (r !== null) {
      // RFC 5321 §3.1: a server refusing service answers 554 (or 421) and closes after QUIT.
      this.close(
        r.code >= 500 ? reply("SERVICE_REFUSED", typeof r.text === "string" ? r.text : undefined) : r,
      );
      return;
    }
    const proto = this.mode === "lmtp" ? "LMTP" : "ESMTP";
    this.write(formatReply(220, null, `${this.hostname} ${proto} Mailroom ready`));
    this.flush();
    void this.#pump();
  }

  #attach(sock: Socket): void {
    sock.on("data", this.#onData);
    sock.on("close", this.#onClose);
    sock.on("error", (e: Error) => this.log.debug({ err: e.message }, "socket error"));
    sock.setTimeout(this.#opts.timeoutMs ?? this.limits().smtpTimeoutSeconds * 1000);
    sock.on("timeout", this.#onTimeout);
  }

  #detach(sock: Socket): void {
    sock.off("data", this.#onData);
    sock.off("close", this.#onClose);
    sock.off("timeout", this.#onTimeout);
    sock.setTimeout(0);
  }

  #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    this.framer.push(chunk);
    if (this.#busy && this.framer.buffered > HIGH_WATER) this.socket.pause();
    void this.#pump();
  };

  #onClose = (): void => {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  };

  #onTimeout = (): void => {
    // RFC 5321 §4.5.3.2: the server closes an idle connection; never in the middle of a commit.
    if (this.#busy || this.#closed) return;
    this.log.info("idle timeout");
    this.close(reply("TIMEOUT"));
  };

  /** Queues output; sent by flush() (PIPELINING: several replies in one write). */
  write(s: string): void {
    if (!this.#closed) this.#out.push(s);
  }

  reply(r: Reply): void {
    this.write(formatReplyObject(r));
  }

  flush(): void {
    if (this.#out.length === 0 || this.#closed) return;
    const s = this.#out.join("");
    this.#out = [];
    this.socket.write(s);
  }

  /**
   * A syntax or sequence error: answered, and counted; past the limit the session ends with
   * 421 (a client looping on errors is cut off).
   */
  error(r: Reply): void {
    this.reply(r);
    this.errors++;
    if (this.errors >= (this.#opts.maxErrors ?? DEFAULTS.maxErrors)) {
      this.log.info({ errors: this.errors }, "too many errors");
      this.close(reply("TOO_MANY_ERRORS"));
    }
  }

  /** Sends a last reply (if any) and closes the connection. */
  close(last?: Reply): void {
    if (this.#closed) return;
    if (last) this.reply(last);
    this.flush();
    this.#closed = true;
    this.#detach(this.socket);
    this.socket.end();
    this.#timer = setTimeout(() => this.socket.destroy(), 5000);
    this.#timer.unref();
  }

  /** RFC 5321 §4.1.1.5 and §4.1.4: RSET, and EHLO, forget the transaction. */
  resetTransaction(): void {
    this.txn = null;
  }

  /** A transaction ended (delivered or refused after the data): count it for MAILMAX. */
  endTransaction(): void {
    this.txn = null;
    this.transactions++;
  }

  /** Graceful stop: end the transaction in flight, then 421 4.3.2 (RFC 5321 §3.8). */
  shutdown(): void {
    this.#shuttingDown = true;
    this.#maybeShutdown();
  }

  #maybeShutdown(): void {
    if (!this.#shuttingDown || this.#closed || this.#busy) return;
    if (this.txn !== null || this.framer.mode !== "line" || this.authExchange !== null) return;
    this.close(reply("SHUTDOWN"));
  }

  /**
   * STARTTLS (RFC 3207 §4.2): the 220 goes out in plaintext, everything buffered after the
   * command is discarded (command injection, CVE-2011-0411), the handshake runs, and the
   * session starts over: no HELO, no transaction, no authentication.
   */
  async startTls(): Promise<void> {
    this.flush();
    const plain = this.socket;
    this.#detach(plain);
    plain.pause();
    const dropped = this.framer.discardBuffered();
    if (dropped > 0) this.log.info({ dropped }, "discarded input pipelined after STARTTLS");
    try {
      const tlsSock = await upgradeToTls(plain, this.ctx, {
        reply: formatReplyObject(reply("STARTTLS_READY")),
        timeoutMs: 30_000,
      });
      this.socket = tlsSock;
      this.tls = true;
      this.#noteTls(tlsSock);
      this.helo = null;
      this.esmtp = false;
      this.auth = null;
      this.txn = null;
      this.#attach(tlsSock);
    } catch (e) {
      this.log.info({ err: (e as Error).message }, "STARTTLS handshake failed");
      this.#closed = true;
    }
  }

  #noteTls(sock: TLSSocket): void {
    const c = sock.getCipher() as { standardName?: string; name: string } | undefined;
    this.tlsInfo = { version: sock.getProtocol() ?? "TLS", cipher: c?.standardName ?? c?.name ?? "unknown" };
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      for (;;) {
        if (this.#closed) break;
        const e = this.framer.next();
        if (e === null) break;
        try {
          await this.#handle(e);
        } catch (err) {
          // Handlers throw only on server faults (DESIGN.md "Errors"): answer 451 and go on.
          this.log.error({ err: err instanceof Error ? err.stack : String(err) }, "command failed");
          if (this.txn !== null && this.framer.mode === "line") this.txn = null;
          this.reply(reply("LOCAL_ERROR"));
        }
        if (this.#shuttingDown && this.txn === null && this.framer.mode === "line") break;
      }
    } finally {
      this.#busy = false;
    }
    this.flush();
    if (!this.#closed && this.socket.isPaused()) this.socket.resume();
    this.#maybeShutdown();
  }

  /** A command over limits.commandsPerMinute waits its turn; the replies so far go out first. */
  async #slowDown(waitMs: number): Promise<void> {
    this.flush();
    await new Promise((r) => setTimeout(r, waitMs).unref());
  }

  async #handle(e: FramerEvent): Promise<void> {
    // The command rate counts command lines; AUTH exchange lines and message data are not
    // commands. No await unless the command has to wait (the common case costs no promise).
    if (e.type === "line-too-long" || (e.type === "line" && this.authExchange === null)) {
      const waitMs = this.#throttle.take();
      if (waitMs > 0) {
        await this.#slowDown(waitMs);
        if (this.#closed) return;
      }
    }
    switch (e.type) {
      case "line-too-long":
        // RFC 5321 §4.5.3.1.4: 500 Line too long.
        this.error(reply("LINE_TOO_LONG"));
        return;
      case "data":
        await dataDone(this, e.done);
        return;
      case "bdat":
        await bdatChunkDone(this, e.result);
        return;
      case "line":
        break;
    }
    if (this.authExchange !== null) {
      await authContinue(this, e.line);
      return;
    }
    const r = parseCommand(e.line, {
      lmtp: this.mode === "lmtp",
      smtputf8Allowed: true,
      utf8Transaction: this.txn?.params.smtputf8 === true,
      maxLineLength: this.limits().smtpMaxCommandLength,
      allowedParams: allowedParams(this),
    });
    if (!r.ok) {
      if (r.close === true) this.close(r.reply);
      else this.error(r.reply);
      return;
    }
    const cmd = r.command;
    const d = COMMANDS.get(cmd.verb);
    if (d === undefined) {
      this.error(reply("NOT_IMPLEMENTED"));
      return;
    }
    const refusal = this.#check(d.requires, cmd);
    if (refusal !== null) {
      // A refused BDAT still owns the octets that follow it (RFC 3030 §2).
      if (cmd.verb === "BDAT") {
        this.errors++;
        this.readRefusedChunk(cmd.size, cmd.last, refusal);
        return;
      }
      this.error(refusal);
      return;
    }
    await d.handle(this, cmd);
  }

  /** Reads and drops a BDAT chunk whose command was refused; the refusal answers it. */
  readRefusedChunk(size: number, last: boolean, refusal: Reply): void {
    const reader = this.txn?.bdat;
    if (reader !== undefined) {
      reader.begin(size, last, true);
      this.framer.startBdat(reader);
    } else {
      // Without a transaction, a throwaway reader skips the octets.
      const r = new BdatReader();
      r.begin(size, last, true);
      this.framer.startBdat(r);
    }
    this.pendingBdat = { last, refused: refusal };
  }

  #check(requires: readonly Requirement[], cmd: Command): Reply | null {
    for (const q of requires) {
      switch (q) {
        case "hello":
          if (this.helo === null)
            return reply(
              "BAD_SEQUENCE",
              this.mode === "lmtp" ? "Send LHLO first" : "Send EHLO or HELO first",
            );
          break;
        case "ehlo":
          if (this.helo === null || !this.esmtp) return reply("BAD_SEQUENCE", "Send EHLO first");
          break;
        case "no-transaction":
          if (this.txn !== null)
            return reply("BAD_SEQUENCE", `${cmd.verb} not allowed in a mail transaction`);
          break;
        case "transaction":
          if (this.txn === null) return reply("BAD_SEQUENCE", "Send MAIL first");
          break;
      }
    }
    return null;
  }
}
