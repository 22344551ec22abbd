// The client's byte pipe: replies read with the wire layer's ReplyParser under bounds (line
// length, lines per reply, replies nobody asked for) and a time limit per read; writes with a
// time limit per block (RFC 5321 §4.5.3.2.5). Any broken reply, timeout or close fails the
// connection for good: every later read rejects with the same SmtpClientError.
import type { Socket } from "node:net";
import type { ParsedReply } from "../wire/replies.ts";
import { ReplyParser } from "../wire/replies.ts";
import type { ClientPhase, ReplyInfo } from "./types.ts";
import { SmtpClientError } from "./types.ts";

/**
 * RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets; servers overshoot with long EHLO
 * greetings, so 2048 is taken, and at most 200 lines per reply (EHLO lists are the longest).
 */
export const MAX_REPLY_LINE = 2048;
export const MAX_REPLY_LINES = 200;
/** Replies the server may send beyond those asked for (pipelined) before it is cut off. */
const SPARE_REPLIES = 8;
/** Writes of the message go out in blocks of this size, each with its own time limit. */
export const WRITE_BLOCK = 64 * 1024;

export function replyInfo(r: ParsedReply): ReplyInfo {
  return { code: r.code, enhanced: r.enhanced, text: r.lines.join("\n") };
}

interface Waiter {
  resolve(r: ParsedReply): void;
  reject(e: SmtpClientError): void;
}

export interface ReadOptions {
  phase: ClientPhase;
  timeoutMs: number;
}

/** One socket (plain, then maybe TLS) and the replies read from it. */
export class Connection {
  #socket: Socket;
  #parser = new ReplyParser({ maxLineLength: MAX_REPLY_LINE, maxLines: MAX_REPLY_LINES });
  #queue: ParsedReply[] = [];
  #waiter: Waiter | null = null;
  #failure: SmtpClientError | null = null;
  /** Replies asked for (commands written) and not read yet. */
  #expected = 0;
  /** Set by holdAfterNextReply: stop reading once that reply is in (STARTTLS, RFC 3207 §4.2). */
  #hold = false;
  #holdArmed = false;
  #extraAfterHold = false;
  #onData = (d: Buffer): void => this.#data(d);
  #onClose = (): void => this.fail(new SmtpClientError("closed", "connection closed by the server"));
  #onError = (e: Error): void =>
    this.fail(new SmtpClientError("closed", `connection error: ${e.message}`, { cause: e }));

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach(socket);
  }

  get socket(): Socket {
    return this.#socket;
  }

  get failure(): SmtpClientError | null {
    return this.#failure;
  }

  #attach(socket: Socket): void {
    socket.on("data", this.#onData);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
    socket.setNoDelay(true);
  }

  #detach(socket: Socket): void {
    socket.off("data", this.#onData);
    socket.off("close", this.#onClose);
    socket.off("error", this.#onError);
  }

  #data(d: Buffer): void {
    if (this.#failure !== null) return;
    if (this.#hold) {
      // Anything after the awaited reply was sent in clear before the handshake: it is kept
      // as a mark (the client refuses the server) and never read (RFC 3207 §6, STARTTLS response injection).
      this.#extraAfterHold = true;
      return;
    }
    const replies = this.#parser.push(d);
    for (let i = 0; i < replies.length; i++) {
      const r = replies[i] as ParsedReply;
      if (r.error !== undefined) {
        this.fail(new SmtpClientError("closed", `malformed reply from the server (${r.error})`));
        return;
      }
      if (this.#holdArmed) {
        this.#holdArmed = false;
        // Only a 220 starts TLS; any other reply lets the clear-text session go on.
        if (r.code !== 220) {
          this.#deliver(r);
          continue;
        }
        this.#hold = true;
        this.#socket.pause();
        if (i < replies.length - 1 || this.#parser.pending) this.#extraAfterHold = true;
        this.#deliver(r);
        return;
      }
      this.#deliver(r);
    }
  }

  #deliver(r: ParsedReply): void {
    this.#expected--;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve(r);
      return;
    }
    this.#queue.push(r);
    // Bound what an unruly server can make us hold: the replies we asked for, plus a few.
    if (this.#expected < -SPARE_REPLIES)
      this.fail(new SmtpClientError("closed", "the server sent replies nobody asked for"));
  }

  /** Records that `n` replies are due (commands written, or the greeting). */
  expect(n: number): void {
    this.#expected += n;
  }

  /** The next reply; rejects on timeout, close or a broken reply. */
  read(opts: ReadOptions): Promise<ParsedReply> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#waiter !== null) return Promise.reject(new SmtpClientError(opts.phase, "concurrent read"));
    return new Promise<ParsedReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new SmtpClientError("timeout", `no reply within ${opts.timeoutMs} ms (${opts.phase})`));
      }, opts.timeoutMs);
      this.#waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** A reply already received and not read, if any (a server that answered early). */
  takeQueued(): ParsedReply | undefined {
    return this.#queue.shift();
  }

  /** Writes bytes; resolves when handed to the kernel, rejects on error or after `timeoutMs`. */
  write(data: string | Buffer, opts: ReadOptions): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const e = new SmtpClientError(
          "timeout",
          `write not done within ${opts.timeoutMs} ms (${opts.phase})`,
        );
        this.fail(e);
        reject(this.#failure ?? e);
      }, opts.timeoutMs);
      this.#socket.write(data, (err) => {
        clearTimeout(timer);
        if (err !== undefined && err !== null) {
          const e =
            this.#failure ?? new SmtpClientError("closed", `write failed: ${err.message}`, { cause: err });
          this.fail(e);
          reject(e);
        } else if (this.#failure !== null) reject(this.#failure);
        else resolve();
      });
    });
  }

  /** Writes a large buffer block by block, each with the data block time limit. */
  async writeBlocks(data: Buffer, opts: ReadOptions): Promise<void> {
    for (let i = 0; i < data.length; i += WRITE_BLOCK)
      await this.write(data.subarray(i, i + WRITE_BLOCK), opts);
  }

  /**
   * Arms the STARTTLS stop: when the next reply is a 220, reading stops and the socket pauses
   * so that no byte sent in clear after it is ever taken as part of the TLS session.
   */
  holdAfterNextReply(): void {
    this.#holdArmed = true;
  }

  /** True when the server sent anything after the held reply (RFC 3207 §6, STARTTLS response injection). */
  get extraAfterHold(): boolean {
    return this.#extraAfterHold || this.#queue.length > 0 || this.#socket.readableLength > 0;
  }

  /**
   * Moves to the TLS socket wrapping the old one: a fresh parser, nothing carried over from
   * the clear-text part of the session (RFC 3207 §4.2).
   */
  replaceSocket(socket: Socket): void {
    this.#detach(this.#socket);
    // The clear-text socket lives on under TLS; an error it still emits must not go unheard.
    this.#socket.on("error", () => undefined);
    this.#socket = socket;
    this.#parser = new ReplyParser({ maxLineLength: MAX_REPLY_LINE, maxLines: MAX_REPLY_LINES });
    this.#queue = [];
    this.#expected = 0;
    this.#hold = false;
    this.#extraAfterHold = false;
    this.#attach(socket);
  }

  /** Stops listening to the socket (before handing it to TLS); errors are still absorbed. */
  release(): Socket {
    this.#socket.off("data", this.#onData);
    this.#socket.off("close", this.#onClose);
    return this.#socket;
  }

  /** Fails the connection: pending and later reads reject with `e`; the socket is destroyed. */
  fail(e: SmtpClientError): void {
    if (this.#failure !== null) return;
    this.#failure = e;
    const w = this.#waiter;
    this.#waiter = null;
    this.#queue = [];
    this.#socket.destroy();
    if (w !== null) w.reject(e);
  }

  /** Closes without a reason being an error (after QUIT, or close()). */
  destroy(): void {
    this.fail(new SmtpClientError("closed", "connection closed by the client"));
  }

  get closed(): boolean {
    return this.#failure !== null;
  }
}
