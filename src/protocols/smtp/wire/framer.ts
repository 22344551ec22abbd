// Input framing of a server connection: command lines (RFC 5321 §2.3.8, §4.5.3.1.4), then,
// when the session says so, a DATA body or BDAT chunk octets, then lines again. With
// PIPELINING (RFC 2920) the bytes of several commands (and BDAT chunks, RFC 3030 §4) arrive
// together; the framer hands them out one unit at a time, so the session decides how to read
// what follows each command before it is read.

import type { BdatFeedResult, BdatReader } from "./bdat.ts";
import type { DataDone, DataReader } from "./data.ts";
import { AUTH_MAX_LINE_LENGTH } from "./commands.ts";

const LF = 10;

export type FramerEvent =
  /** A command line, its line end included (CRLF, or a bare LF that parseCommand refuses). */
  | { type: "line"; line: Buffer }
  /** A line over the limit ended; its bytes were dropped (RFC 5321 §4.5.3.1.4: 500). */
  | { type: "line-too-long" }
  /** The DATA body ended. */
  | { type: "data"; done: DataDone }
  /** A BDAT chunk was read (chunkDone); `result.done` is set after the LAST one. */
  | { type: "bdat"; result: BdatFeedResult };

type Mode = { kind: "line" } | { kind: "data"; reader: DataReader } | { kind: "bdat"; reader: BdatReader };

export class InputFramer {
  /**
   * Longest line kept, in octets with CRLF: a memory bound, by default the 12288 octets of an
   * AUTH response (RFC 4954 §4). parseCommand applies the protocol limit (512) to commands.
   */
  maxLineLength: number;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #mode: Mode = { kind: "line" };
  #skipping = false; // dropping an over-long line up to its LF
  #scanFrom = 0; // where the LF search resumes in line mode

  constructor(opts: { maxLineLength?: number } = {}) {
    this.maxLineLength = opts.maxLineLength ?? AUTH_MAX_LINE_LENGTH;
  }

  /** Appends received bytes. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk;
      this.#pos = 0;
      this.#scanFrom = 0;
    } else {
      const rest = this.#buf.subarray(this.#pos);
      this.#scanFrom -= this.#pos;
      this.#buf = Buffer.concat([rest, chunk]);
      this.#pos = 0;
    }
  }

  /** Octets received and not yet handed out. */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }

  /**
   * Drops everything buffered: after STARTTLS nothing sent before the handshake may be read as
   * a command (RFC 3207 §4, §6: command injection). Answers the count dropped.
   */
  discardBuffered(): number {
    const n = this.buffered;
    this.#buf = Buffer.alloc(0);
    this.#pos = 0;
    this.#scanFrom = 0;
    this.#skipping = false;
    return n;
  }

  /** Reads a DATA body next (after the 354 reply). */
  startData(reader: DataReader): void {
    this.#mode = { kind: "data", reader };
  }

  /** Reads BDAT chunk octets next; call reader.begin() first. */
  startBdat(reader: BdatReader): void {
    this.#mode = { kind: "bdat", reader };
  }

  /** The current mode. */
  get mode(): "line" | "data" | "bdat" {
    return this.#mode.kind;
  }

  /** The next complete unit of input, or null when more bytes are needed. Never throws. */
  next(): FramerEvent | null {
    const m = this.#mode;
    if (m.kind === "data") {
      if (this.#pos >= this.#buf.length) return null;
      const r = m.reader.feed(this.#pos === 0 ? this.#buf : this.#buf.subarray(this.#pos));
      this.#pos += r.consumed;
      this.#scanFrom = this.#pos;
      if (!r.done) return null;
      this.#mode = { kind: "line" };
      return { type: "data", done: r.done };
    }
    if (m.kind === "bdat") {
      const r = m.reader.feed(this.#buf.subarray(this.#pos));
      this.#pos += r.consumed;
      this.#scanFrom = this.#pos;
      if (!r.chunkDone) return null;
      this.#mode = { kind: "line" };
      return { type: "bdat", result: r };
    }
    const lf = this.#buf.indexOf(LF, Math.max(this.#pos, this.#scanFrom));
    if (lf === -1) {
      this.#scanFrom = this.#buf.length;
      if (this.#buf.length - this.#pos > this.maxLineLength) {
        // Over-long: stop storing, keep skipping to the LF, report when it comes.
        this.#skipping = true;
        this.#pos = this.#buf.length;
      }
      return null;
    }
    const line = this.#buf.subarray(this.#pos, lf + 1);
    this.#pos = lf + 1;
    this.#scanFrom = this.#pos;
    if (this.#skipping) {
      this.#skipping = false;
      return { type: "line-too-long" };
    }
    if (line.length > this.maxLineLength) return { type: "line-too-long" };
    return { type: "line", line };
  }
}
