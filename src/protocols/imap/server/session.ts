// One IMAP connection (RFC 9051 §3 states, §5.5 command pipelining, §7 responses): the read
// loop over the wire layer's CommandReader, one dispatcher that checks the state and runs the
// command's descriptor from the registry (registry.ts), the one place failures become tagged
// replies (errors.ts), the pending mailbox updates flushed before each tagged reply
// (selected.ts), a commands-per-minute limit, the idle autologout (RFC 9051 §5.4) and the
// graceful stop with "* BYE" (RFC 9051 §7.1.5).
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { constants as zconst, createDeflateRaw, createInflateRaw } from "node:zlib";
import type { DeflateRaw } from "node:zlib";
import type { ServerContext } from "../../../core/context.ts";
import { userSessions } from "../../../core/user-sessions.ts";
import type { Logger } from "../../../core/logger.ts";
import type { AuthResult } from "../../../auth/types.ts";
import { tlsChannelBinding } from "../../../auth/sasl/channel-binding.ts";
import type { SaslConnection } from "../../../auth/sasl/types.ts";
import { CommandThrottle } from "../../../net/command-throttle.ts";
import type { ConnectionInfo } from "../../../net/listener.ts";
import { upgradeToTls } from "../../../net/tls-upgrade.ts";
import type { Chunk, RawCommand, ResponseCode, WriteOptions } from "../wire/index.ts";
import {
  COMMAND_PARSERS,
  CommandReader,
  numberCode,
  openCommand,
  runParser,
  tagged,
  untaggedStatus,
} from "../wire/index.ts";
import type { Mailbox } from "../../../store/types.ts";
import { capabilityList } from "./commands/capability.ts";
import { mapFailure } from "./errors.ts";
import { REGISTRY } from "./registry.ts";
import type { Completion, ImapState } from "./command.ts";
import type { ViewMode } from "./selected.ts";
import { SelectedMailbox } from "./selected.ts";
import type { MailboxChangeReader } from "./mailbox-changes.ts";
import type { EnvelopeCache } from "./envelope-cache.ts";

export interface ImapOptions {
  /** Product name in the greeting and ID. */
  implementation?: string;
}

/** State shared by the sessions of one server (not global: one per protocol factory call). */
export interface ImapShared {
  /** Mailbox deltas read once for all the sessions woken by one change. */
  changes: MailboxChangeReader;
  /** ENVELOPE wire text by email id. */
  envelopes: EnvelopeCache;
}

/** Bytes buffered in the reader before the socket is paused. */
const MAX_BUFFERED = 1024 * 1024;
/** Queued output written once it reaches this size, even mid-command. */
const OUTPUT_BATCH = 64 * 1024;

export class ImapSession {
  readonly ctx: ServerContext;
  readonly info: ConnectionInfo;
  readonly options: Required<ImapOptions>;
  readonly shared: ImapShared;
  log: Logger;
  readonly reader: CommandReader;
  state: ImapState = "notauth";
  identity: AuthResult | null = null;
  /** RFC 5161 ENABLE: "IMAP4REV2", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC". */
  readonly enabled = new Set<string>();
  /** RFC 7162 §3.1: CONDSTORE turned on by a CONDSTORE-using command (not by ENABLE only). */
  condstoreActive = false;
  selected: SelectedMailbox | null = null;

  #socket: Socket;
  /** RFC 4978 COMPRESS=DEFLATE: the compressor the output goes through, once active. */
  #deflate: DeflateRaw | null = null;
  #closed = false;
  #stopping = false;
  #waiter: (() => void) | null = null;
  #signalled = false;
  #waitingForCommand = false;
  #paused = false;
  #unsubscribe: (() => void) | null = null;
  /** Gives back this session's slot of limits.maxConnectionsPerUser (null before login). */
  #releaseSlot: (() => void) | null = null;
  /** Output queued during a command (send), written by flushOutput. */
  #out: Chunk[] = [];
  #outText = "";
  #outBytes = 0;
  /** > 0 while a command runs: send() queues instead of writing. */
  #corked = 0;
  /** limits.commandsPerMinute: a client over the rate is slowed down, never refused. */
  readonly #throttle = new CommandThrottle(() => this.ctx.config.current().limits.commandsPerMinute);
  readonly #onData = (d: Buffer): void => {
    this.reader.push(d);
    if (this.reader.buffered > MAX_BUFFERED && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#signal();
  };

  constructor(
    ctx: ServerContext,
    socket: Socket,
    info: ConnectionInfo,
    shared: ImapShared,
    options: ImapOptions = {},
  ) {
    this.ctx = ctx;
    this.info = info;
    this.shared = shared;
    this.options = { implementation: options.implementation ?? "Mailroom" };
    this.log = ctx.logger.child({ proto: "imap", ip: info.remoteAddress, port: info.remotePort });
    this.#socket = socket;
    const limits = ctx.config.current().limits;
    this.reader = new CommandReader({
      maxLineLength: limits.imapMaxCommandLength,
      maxLiteralSize: limits.imapMaxLiteralSize,
    });
    info.onShutdown(() => this.#shutdown());
  }

  /** Greets and serves until the connection ends. */
  start(): void {
    this.#attach(this.#socket);
    // RFC 9051 §7.1.1: the greeting, with the capabilities (saves a round trip)
    this.send(
      untaggedStatus("OK", `${this.options.implementation} IMAP server ready`, {
        code: "CAPABILITY",
        args: this.capabilities().join(" "),
      }),
    );
    this.#run().catch((e: unknown) => {
      this.log.error({ err: e instanceof Error ? e.stack : String(e) }, "IMAP session failed");
      this.#destroy();
    });
  }

  // --- modes ---

  get tls(): boolean {
    return this.#socket instanceof TLSSocket;
  }

  get rev2(): boolean {
    return this.enabled.has("IMAP4REV2");
  }

  /** RFC 6855 §3 / RFC 9051 §5.1: UTF-8 mailbox names and strings. */
  get utf8(): boolean {
    return this.rev2 || this.enabled.has("UTF8=ACCEPT");
  }

  get qresync(): boolean {
    return this.enabled.has("QRESYNC");
  }

  get condstore(): boolean {
    return this.condstoreActive || this.enabled.has("CONDSTORE") || this.qresync;
  }

  /**
   * A CONDSTORE-enabling command (RFC 7162 §3.1: FETCH or SEARCH with MODSEQ, CHANGEDSINCE,
   * UNCHANGEDSINCE). The first one while a mailbox is selected tells its HIGHESTMODSEQ
   * (§3.1.2.1), which a SELECT without CONDSTORE did not.
   */
  async enableCondstore(): Promise<void> {
    const view = this.selected;
    if (!this.condstore && view !== null) {
      this.condstoreActive = true;
      // read up to the store's highest first: this session's own changes were taken in
      // without moving lastModSeq (selected.ts absorb)
      await view.poll();
      this.send(untaggedStatus("OK", "Highest", numberCode("HIGHESTMODSEQ", view.lastModSeq)));
    }
    this.condstoreActive = true;
  }

  get writeOptions(): WriteOptions {
    return { utf8: this.utf8 };
  }

  get viewMode(): ViewMode {
    return { rev1: !this.rev2, condstore: this.condstore, qresync: this.qresync, write: this.writeOptions };
  }

  get accountId(): string {
    if (this.identity === null) throw new Error("not authenticated");
    return this.identity.accountId;
  }

  /** RFC 9051 §6.2.3 LOGINDISABLED: plaintext logins only over TLS unless configured. */
  plaintextAllowed(): boolean {
    return (
      this.tls || this.info.allowPlaintextAuth || this.ctx.config.current().auth.allowPlaintextWithoutTls
    );
  }

  /** RFC 4978: COMPRESS=DEFLATE is offered on this listener (listeners.<name>.compress). */
  compressAvailable(): boolean {
    return this.ctx.config.current().listeners[this.info.listenerName]?.compress ?? true;
  }

  starttlsAvailable(): boolean {
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

  /** RFC 7889 APPENDLIMIT: the largest message APPEND takes (literal limit and ingest limit). */
  appendLimit(): number {
    const limits = this.ctx.config.current().limits;
    return Math.min(limits.imapMaxLiteralSize, limits.maxMessageSize);
  }

  /** What CAPABILITY lists now (capability.ts). */
  capabilities(): string[] {
    return capabilityList(this);
  }

  // --- output ---

  /**
   * Queues responses. During a command they are written together (once per command, or per
   * OUTPUT_BATCH bytes): one socket write instead of one per response line. Outside a command
   * (greeting, literal continuation, errors) they go out at once.
   */
  send(data: string | readonly Chunk[]): void {
    if (this.#closed || this.#socket.destroyed) return;
    if (typeof data === "string") this.#queue(data);
    else for (const c of data) this.#queue(c);
    if (this.#corked === 0 || this.#outBytes >= OUTPUT_BATCH) this.flushOutput();
  }

  #queue(c: Chunk): void {
    if (typeof c === "string") {
      this.#outText += c;
      this.#outBytes += c.length;
      return;
    }
    if (c.length === 0) return;
    if (this.#outText.length > 0) {
      this.#out.push(this.#outText);
      this.#outText = "";
    }
    this.#out.push(c);
    this.#outBytes += c.length;
  }

  /** Writes what is queued (one write, or one corked batch of writes). */
  flushOutput(): void {
    if (this.#outText.length > 0) {
      this.#out.push(this.#outText);
      this.#outText = "";
    }
    const chunks = this.#out;
    if (chunks.length === 0) return;
    this.#out = [];
    this.#outBytes = 0;
    if (this.#closed || this.#socket.destroyed) return;
    const out = this.#deflate ?? this.#socket;
    if (chunks.length === 1) out.write(chunks[0] as Chunk);
    else {
      out.cork();
      for (const c of chunks) out.write(c);
      out.uncork();
    }
    // RFC 4978 §4: what is sent is flushed so the client can read it at once
    this.#deflate?.flush(zconst.Z_SYNC_FLUSH);
  }

  get compressed(): boolean {
    return this.#deflate !== null;
  }

  /**
   * RFC 4978 §3: after the tagged OK of COMPRESS DEFLATE, both directions are raw DEFLATE
   * (RFC 1951). Input the reader holds that was not consumed is already compressed.
   */
  startCompression(): void {
    const sock = this.#socket;
    sock.off("data", this.#onData);
    const leftover = this.reader.takeBuffered();
    const inflate = createInflateRaw();
    const deflate = createDeflateRaw();
    const fail = (e: Error): void => {
      this.log.debug({ err: e.message }, "IMAP compression failed");
      this.#destroy();
    };
    inflate.on("data", this.#onData);
    inflate.on("error", fail);
    deflate.on("error", fail);
    sock.on("data", (d: Buffer) => inflate.write(d));
    deflate.pipe(sock);
    this.#deflate = deflate;
    for (const b of leftover) inflate.write(b);
  }

  /** Waits until the socket has room again (big FETCH responses). */
  async drain(): Promise<void> {
    this.flushOutput();
    const s = this.#deflate ?? this.#socket;
    if (this.#closed || s.destroyed || !s.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        s.off("drain", done);
        s.off("close", done);
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  }

  /** Sends the pending mailbox updates (EXPUNGE only when `allowExpunge`). */
  async flushUpdates(allowExpunge: boolean): Promise<void> {
    const sel = this.selected;
    if (sel === null) return;
    if (sel.dirty) await sel.poll();
    const out = sel.flush(allowExpunge, this.viewMode);
    if (out.length > 0) this.send(out);
  }

  // --- after authentication ---

  /**
   * Enters the authenticated state and follows the account's changes on the bus. False, and
   * nothing changes, when the account has limits.maxConnectionsPerUser sessions open already
   * (core/user-sessions.ts).
   */
  authenticated(result: AuthResult): boolean {
    const limit = this.ctx.config.current().limits.maxConnectionsPerUser;
    const release = userSessions(this.ctx).open(result.accountId, limit);
    if (release === null) {
      this.log.info({ user: result.username, limit }, "IMAP login over maxConnectionsPerUser");
      return false;
    }
    this.#releaseSlot?.();
    this.#releaseSlot = release;
    this.identity = result;
    this.state = "auth";
    this.log = this.log.child({ user: result.username });
    this.#unsubscribe?.();
    this.#unsubscribe = this.ctx.store.changes.subscribe(result.accountId, (ev) => {
      const sel = this.selected;
      if (sel !== null && ev.mailboxIds.includes(sel.mailbox.id)) {
        this.shared.changes.noteEvent(sel.mailbox.id, ev);
        sel.changed(ev.modseq);
        this.#signal();
      }
    });
    return true;
  }

  /** RFC 8437 UNAUTHENTICATE: forget the identity, the bus subscription and ENABLEd extensions. */
  unauthenticated(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#releaseSlot?.();
    this.#releaseSlot = null;
    this.selected = null;
    this.identity = null;
    this.enabled.clear();
    this.condstoreActive = false;
    this.state = "notauth";
    this.log = this.ctx.logger.child({
      proto: "imap",
      ip: this.info.remoteAddress,
      port: this.info.remotePort,
    });
  }

  /** Opens a mailbox view (SELECT/EXAMINE). */
  async openView(
    mailbox: Mailbox,
    readOnly: boolean,
    previous: SelectedMailbox | null = null,
  ): Promise<SelectedMailbox> {
    return SelectedMailbox.open(this.ctx.store, this.accountId, mailbox, {
      readOnly,
      previous,
      rev1: !this.rev2,
      changes: this.shared.changes,
    });
  }

  // --- input during a command (AUTHENTICATE responses, IDLE's DONE) ---

  /**
   * The next raw line; null when the connection ends or the line was refused (too long).
   * With `onWake`, it is called whenever the session is signalled (a change on the bus) while
   * waiting: IDLE reports changes from there.
   */
  async readLine(onWake?: () => Promise<void>): Promise<Buffer | null> {
    this.reader.expectLine();
    for (;;) {
      const ev = this.reader.next();
      if (ev === null) {
        if (this.#closed) return null;
        if (this.#stopping) return null;
        // the client is to answer what was sent (a continuation, IDLE updates): send it now
        this.flushOutput();
        await this.#wait();
        if (onWake !== undefined && !this.#closed) await onWake();
        continue;
      }
      this.#resumeIfLow();
      if (ev.type === "line") return ev.line;
      if (ev.type === "error" || ev.type === "bye") return null;
    }
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** RFC 9051 §6.2.1 STARTTLS: after the tagged OK, drop what was pipelined, then the handshake. */
  async startTls(): Promise<void> {
    const plain = this.#socket;
    plain.off("data", this.#onData);
    plain.pause();
    // RFC 9051 §6.2.1 / CVE-2011-0411: bytes sent before the handshake are not commands
    this.reader.discardBuffered();
    let secure: TLSSocket;
    try {
      secure = await upgradeToTls(plain, this.ctx);
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, "STARTTLS handshake failed");
      this.#destroy();
      return;
    }
    plain.setTimeout(0);
    this.#socket = secure;
    this.#paused = false;
    this.#attach(secure);
  }

  /** Ends the session after what was written. */
  close(): void {
    if (this.#closed) return;
    this.flushOutput();
    this.#closed = true;
    this.state = "logout";
    // a compressor ends the socket when it ends (pipe)
    if (this.#deflate !== null) this.#deflate.end();
    else this.#socket.end();
    this.#cleanup();
    this.#signal();
  }

  // --- internals ---

  #attach(s: Socket): void {
    s.on("data", this.#onData);
    s.on("close", () => {
      this.#closed = true;
      this.#cleanup();
      this.#signal();
    });
    s.on("error", (e: Error) => this.log.debug({ err: e.message }, "IMAP socket error"));
    s.setTimeout(this.ctx.config.current().limits.imapIdleTimeoutSeconds * 1000);
    s.on("timeout", () => {
      if (this.#closed) return;
      // RFC 9051 §5.4: the autologout timer
      this.send(untaggedStatus("BYE", "Autologout: idle for too long"));
      this.close();
      setTimeout(() => this.#destroy(), 1000).unref();
    });
  }

  #signal(): void {
    const w = this.#waiter;
    this.#waiter = null;
    // no one waiting: remember it, so a wake-up between a check and the wait is not lost
    if (w === undefined || w === null) this.#signalled = true;
    else w();
  }

  #wait(): Promise<void> {
    if (this.#signalled) {
      this.#signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  #resumeIfLow(): void {
    if (this.#paused && this.reader.buffered < MAX_BUFFERED / 4) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#closed) break;
      const ev = this.reader.next();
      if (ev === null) {
        if (this.#stopping) {
          this.#goodbye();
          break;
        }
        this.#waitingForCommand = true;
        await this.#wait();
        this.#waitingForCommand = false;
        continue;
      }
      this.#resumeIfLow();
      switch (ev.type) {
        case "continue":
          this.send("+ Ready for literal data\r\n");
          break;
        case "command":
          {
            const waitMs = this.#throttle.take();
            if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs).unref());
          }
          this.#corked++;
          try {
            await this.#dispatch(ev.command);
          } finally {
            this.#corked--;
          }
          await this.drain();
          break;
        case "line":
          break;
        case "error":
          this.send(
            ev.tag === null
              ? untaggedStatus(
                  ev.status === "NO" ? "NO" : "BAD",
                  ev.text,
                  ev.code === null ? null : { code: ev.code },
                )
              : tagged(ev.tag, ev.status, ev.text, ev.code === null ? null : { code: ev.code }),
          );
          if (ev.fatal) {
            this.send(untaggedStatus("BYE", "Too much invalid input"));
            this.close();
          }
          break;
        case "bye":
          // RFC 9051 §2.2.1: not an IMAP client
          this.send(untaggedStatus("BYE", ev.text));
          this.close();
          break;
      }
      if (this.#stopping && !this.#closed && this.reader.buffered === 0) {
        this.#goodbye();
        break;
      }
    }
  }

  async #dispatch(raw: RawCommand): Promise<void> {
    const opened = openCommand(raw, { utf8: this.utf8 });
    if (!opened.ok) {
      const code: ResponseCode | null = opened.error.code === null ? null : { code: opened.error.code };
      this.send(
        opened.tag === null
          ? untaggedStatus("BAD", opened.error.message, code)
          : tagged(opened.tag, "BAD", opened.error.message, code),
      );
      return;
    }
    const { tag, name } = opened;
    const d = REGISTRY.get(name);
    if (d === undefined) {
      this.send(tagged(tag, "BAD", `Unknown command ${name}`, { code: "CLIENTBUG" }));
      return;
    }
    if (!d.states.includes(this.state)) {
      // RFC 9051 §6: a command in the wrong state is a protocol error
      this.send(
        tagged(tag, "BAD", `${name} is not allowed ${STATE_TEXT[this.state]}`, { code: "CLIENTBUG" }),
      );
      return;
    }
    const parser = d.parse ?? COMMAND_PARSERS.get(name);
    if (parser === undefined) {
      this.send(tagged(tag, "BAD", `Unknown command ${name}`));
      return;
    }
    const parsed = runParser(opened, parser);
    if (!parsed.ok) {
      this.send(
        tagged(
          tag,
          "BAD",
          parsed.error.message,
          parsed.error.code === null ? null : { code: parsed.error.code },
        ),
      );
      return;
    }
    let done: Completion | void;
    try {
      done = await d.handle(this, parsed.command.args, tag);
    } catch (e) {
      const f = mapFailure(e);
      const log = this.log.child({ tag, command: name });
      if (f.serverFault) log.error({ err: e instanceof Error ? e.stack : String(e) }, "IMAP command failed");
      else log.debug({ status: f.status, code: f.code, err: f.text }, "IMAP command refused");
      if (f.status === "NO") await this.#safeFlush(d.noExpunge !== true);
      this.send(tagged(tag, f.status, f.text, f.code === null ? null : { code: f.code }));
      if (this.state === "logout") {
        this.send(untaggedStatus("BYE", "Too many failures"));
        this.close();
      }
      return;
    }
    if (this.#closed) return;
    if (done?.skipUpdates !== true) await this.#safeFlush(d.noExpunge !== true);
    this.send(tagged(tag, "OK", done?.text ?? `${name} completed`, done?.code ?? null));
    if (done?.after !== undefined) {
      // STARTTLS, COMPRESS: the tagged OK goes out before the connection changes
      this.flushOutput();
      await done.after();
    }
    if (this.state === "logout") this.close();
  }

  async #safeFlush(allowExpunge: boolean): Promise<void> {
    try {
      await this.flushUpdates(allowExpunge);
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "could not read mailbox updates");
    }
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#stopping = true;
    // waiting for a command (or in IDLE): say goodbye now; busy: #run says it after the command
    if (this.#waitingForCommand) this.#goodbye();
    else this.#signal();
  }

  #goodbye(): void {
    if (this.#closed) return;
    this.send(untaggedStatus("BYE", "Server shutting down"));
    this.close();
  }

  #destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
    this.#cleanup();
    this.#signal();
  }

  #cleanup(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#releaseSlot?.();
    this.#releaseSlot = null;
    this.selected = null;
  }
}

const STATE_TEXT: Record<ImapState, string> = {
  notauth: "before authentication",
  auth: "without a selected mailbox",
  selected: "with a mailbox selected",
  logout: "after LOGOUT",
};
