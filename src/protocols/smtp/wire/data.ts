// The DATA body (RFC 5321 §4.1.1.4, §4.5.2): a push reader that removes dot-stuffing and stops
// at CRLF "." CRLF, with the SMTP smuggling defence; and the dot-stuffer for the client side.
//
// Smuggling defence (RFC 5321 §2.3.8, §4.1.1.4): only CRLF "." CRLF ends the data. "\n.\n",
// "\r.\r", "\n.\r\n" and "\r\n.\n" never do; a bare CR or LF anywhere marks the message refused,
// but reading goes on to the real end, so nothing that follows is ever taken as commands or as
// a second message.
//
// Text line limit (RFC 5321 §4.5.3.1.6): a line longer than maxLineLength octets (CRLF
// included, the transparency dot not counted) marks the message refused the same way: it is
// never split or folded, and what follows is still read as body up to the terminator.

const CR = 13;
const LF = 10;
const DOT = 46;
const CR_BUF = Buffer.from([CR]);

/** The errors found in the line structure (the first one seen is kept). */
type LineError = "bare-lf" | "bare-cr" | "line-too-long";

export type DataError = "bare-lf" | "bare-cr" | "line-too-long" | "too-big";

export interface DataDone {
  /** The message without dot-stuffing and without the final ".CRLF"; empty when `error` is set. */
  message: Buffer;
  /** Octets of the unstuffed message, counted to the end even past the limit. */
  size: number;
  /** Why the message must be refused: bare LF/CR or a long line (the first seen) before too-big. */
  error?: DataError;
}

export interface DataFeedResult {
  /** Octets of the chunk used; the rest (after the terminator) belongs to the next command. */
  consumed: number;
  /** Set when the terminator was read. */
  done?: DataDone;
}

export interface DataReaderOptions {
  /** Largest message kept, in octets (RFC 1870); past it the reader counts but stores nothing. */
  maxSize?: number;
  /** Longest text line, CRLF included, without the transparency dot (RFC 5321 §4.5.3.1.6). */
  maxLineLength?: number;
  /**
   * Receives the message piece by piece instead of storing it (then DataDone.message is empty).
   * Pieces stop once the message is over the limit or has an error.
   */
  onData?: (piece: Buffer) => void;
}

/**
 * Push reader of a DATA body. Start it right after the "354" reply; feed it bytes as they come.
 * Stored pieces are views of the fed buffers: do not reuse a buffer after feeding it.
 */
export class DataReader {
  #maxSize: number;
  #maxLine: number;
  #onData: ((piece: Buffer) => void) | undefined;
  #parts: Buffer[] = [];
  #size = 0;
  #stored = 0;
  #error: LineError | undefined;
  #done = false;
  // Line state, kept across chunks.
  #atLineStart = true; // the DATA command's CRLF starts the first line
  #prevCrlf = true; // the line before ended with CRLF (so a "." line may end the data)
  #pendingCr = false; // the last octet fed was a content CR whose LF is still to come
  #dot: 0 | 1 | 2 = 0; // 1: "." at line start dropped; 2: "." then CR (CR held back)
  #lineCarry = 0; // octets of the current line fed in earlier chunks

  constructor(opts: DataReaderOptions = {}) {
    this.#maxSize = opts.maxSize ?? Number.POSITIVE_INFINITY;
    this.#maxLine = opts.maxLineLength ?? Number.POSITIVE_INFINITY;
    this.#onData = opts.onData;
  }

  /** True once the terminator has been read. */
  get done(): boolean {
    return this.#done;
  }

  /** Octets of message so far. */
  get size(): number {
    return this.#size;
  }

  #out(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#size += piece.length;
    if (this.#error !== undefined) return;
    if (this.#size > this.#maxSize) {
      this.#parts = [];
      this.#stored = 0;
      return;
    }
    if (this.#onData) this.#onData(piece);
    else {
      this.#parts.push(piece);
      this.#stored += piece.length;
    }
  }

  #fail(e: LineError): void {
    if (this.#error === undefined) {
      this.#error = e;
      this.#parts = [];
      this.#stored = 0;
    }
  }

  #finish(consumed: number): DataFeedResult {
    this.#done = true;
    const done: DataDone = { message: Buffer.alloc(0), size: this.#size };
    if (this.#error !== undefined) done.error = this.#error;
    else if (this.#size > this.#maxSize) done.error = "too-big";
    else if (!this.#onData)
      done.message =
        this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#stored);
    this.#parts = [];
    return { consumed, done };
  }

  /** Feeds bytes. Once done, further calls consume nothing. Never throws on any input. */
  feed(b: Buffer): DataFeedResult {
    if (this.#done) return { consumed: 0 };
    const end = b.length;
    let p = 0;
    let run = 0; // start of the content not yet handed out
    let nextLf = -2; // cached indexOf results (-1: none left in this chunk)
    let nextCr = -2;
    let lineStart = -this.#lineCarry; // where the current line began (negative: an earlier chunk)
    const maxLine = this.#maxLine;
    while (p < end) {
      if (this.#dot === 1) {
        // A "." began the line and was dropped (stuffing or terminator, RFC 5321 §4.5.2).
        if (b[p] === CR) {
          this.#out(b.subarray(run, p));
          this.#dot = 2;
          p++;
          run = p;
          continue;
        }
        this.#dot = 0; // a stuffed line: read on as content
      } else if (this.#dot === 2) {
        // "." CR at line start, the CR held back.
        this.#dot = 0;
        if (b[p] === LF) {
          // RFC 5321 §4.1.1.4: CRLF "." CRLF, and only that, ends the data.
          if (this.#prevCrlf) return this.#finish(p + 1);
          // "\n.\r\n": a bare LF before the dot, so not an end; the line holds ".", unstuffed.
          this.#out(CR_BUF);
          run = p;
          p++;
          lineStart = p;
          this.#prevCrlf = true;
          this.#atLineStart = true;
          continue;
        }
        this.#out(CR_BUF);
        run = p;
        this.#fail("bare-cr");
      } else if (this.#pendingCr) {
        this.#pendingCr = false;
        if (b[p] === LF) {
          p++;
          if (p - lineStart > maxLine) this.#fail("line-too-long");
          lineStart = p;
          this.#prevCrlf = true;
          this.#atLineStart = true;
          continue;
        }
        this.#fail("bare-cr");
      } else if (this.#atLineStart) {
        this.#atLineStart = false;
        if (b[p] === DOT) {
          this.#out(b.subarray(run, p));
          p++;
          run = p;
          lineStart = p; // the transparency dot does not count (RFC 5321 §4.5.3.1.6)
          this.#dot = 1;
          continue;
        }
      }
      // Inside a line: find its end with native searches (no per-octet loop).
      if (nextLf !== -1 && nextLf < p) nextLf = b.indexOf(LF, p);
      if (nextCr !== -1 && nextCr < p) nextCr = b.indexOf(CR, p);
      if (nextLf === -1) {
        // The line runs past this chunk. A CR before the last octet is bare; a final CR waits.
        if (nextCr !== -1 && nextCr < end - 1) this.#fail("bare-cr");
        if (b[end - 1] === CR) this.#pendingCr = true;
        p = end;
        // Without its CRLF the line is too long already when it reaches the limit.
        if (end - lineStart > maxLine - 1) this.#fail("line-too-long");
        break;
      }
      const lf = nextLf;
      if (nextCr !== -1 && nextCr < lf - 1) this.#fail("bare-cr");
      if (lf > p && b[lf - 1] === CR) this.#prevCrlf = true;
      else {
        this.#prevCrlf = false;
        this.#fail("bare-lf");
      }
      this.#atLineStart = true;
      p = lf + 1;
      if (p - lineStart > maxLine) this.#fail("line-too-long");
      lineStart = p;
    }
    this.#lineCarry = end - lineStart;
    this.#out(b.subarray(run, end));
    return { consumed: end };
  }
}

// ---------------------------------------------------------------------------------------------
// Client side.

const TERMINATOR = Buffer.from(".\r\n");
const DOT_BUF = Buffer.from(".");
const LF_DOT = Buffer.from("\n.");
const CRLF_TERMINATOR = Buffer.from("\r\n.\r\n");

/**
 * Streaming dot-stuffer (RFC 5321 §4.5.2): doubles a "." that begins a line. Feed the message
 * with push(); end() gives the closing bytes (a CRLF if the message did not end with one, then
 * ".CRLF"). Lines begin after every LF, as the reader sees them.
 */
export class DotStuffer {
  #atLineStart = true;
  #last2 = -1; // last two octets written, packed; -1 when nothing written yet
  #any = false;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const parts: Buffer[] = [];
    let from = 0;
    if (this.#atLineStart && chunk[0] === DOT) parts.push(DOT_BUF);
    // Native search for LF "." pairs: no per-line JS work for lines that need no stuffing.
    for (let i = chunk.indexOf(LF_DOT); i !== -1; i = chunk.indexOf(LF_DOT, i + 1)) {
      parts.push(chunk.subarray(from, i + 1), DOT_BUF);
      from = i + 1;
    }
    parts.push(chunk.subarray(from));
    this.#atLineStart = chunk[chunk.length - 1] === LF;
    const a = chunk.length >= 2 ? (chunk[chunk.length - 2] ?? 0) : this.#last2 & 0xff;
    this.#last2 = (a << 8) | (chunk[chunk.length - 1] ?? 0);
    this.#any = true;
    return parts.length === 1 ? chunk : Buffer.concat(parts);
  }

  /** The closing bytes: CRLF "." CRLF, or just ".CRLF" after an empty message or a final CRLF. */
  end(): Buffer {
    if (!this.#any || this.#last2 === ((CR << 8) | LF)) return TERMINATOR;
    return CRLF_TERMINATOR;
  }
}

/** Dot-stuffs a whole message (RFC 5321 §4.5.2), without the terminator. */
export function dotStuff(message: Buffer): Buffer {
  return new DotStuffer().push(message);
}

/** The bytes a client sends after "354": the stuffed message and the terminator. */
export function encodeData(message: Buffer): Buffer {
  const s = new DotStuffer();
  const body = s.push(message);
  return Buffer.concat([body, s.end()]);
}

/** Rewrites bare CR and bare LF as CRLF (a client's fix-up before sending, RFC 5321 §2.3.8). */
export function normalizeLineEnds(message: Buffer): Buffer {
  if (message.indexOf(CR) === -1 && message.indexOf(LF) === -1) return message;
  return Buffer.from(message.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n"), "latin1");
}
