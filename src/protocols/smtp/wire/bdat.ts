// CHUNKING framing (RFC 3030 §2): after "BDAT n [LAST]" exactly n octets are message body, any
// octets at all (NUL, bare CR and LF included: no dot-stuffing, no line structure), and what
// follows is the next command. The reader counts size across the chunks of one message.

export interface BdatDone {
  /** The whole message (every chunk joined); empty when `error` is set or onData was given. */
  message: Buffer;
  /** Octets of all chunks, counted even past the limit. */
  size: number;
  error?: "too-big";
}

export interface BdatFeedResult {
  /** Octets of the input used; the rest belongs to the next command. */
  consumed: number;
  /** The current chunk is complete (answer its BDAT command). */
  chunkDone: boolean;
  /** Set when the LAST chunk completed: the message. */
  done?: BdatDone;
}

export interface BdatReaderOptions {
  /** Largest message kept, in octets; past it the reader counts but stores nothing. */
  maxSize?: number;
  /** Receives the chunks' octets instead of storing them; stops past the limit. */
  onData?: (piece: Buffer) => void;
}

/**
 * Reads the octets of BDAT chunks for one message. Call begin() for each BDAT command, then
 * feed() (also with an empty buffer for "BDAT 0") until chunkDone. Stored pieces are views of
 * the fed buffers.
 */
export class BdatReader {
  #maxSize: number;
  #onData: ((piece: Buffer) => void) | undefined;
  #parts: Buffer[] = [];
  #size = 0;
  #stored = 0;
  #remaining = 0;
  #last = false;
  #discard = false;
  #open = false;

  constructor(opts: BdatReaderOptions = {}) {
    this.#maxSize = opts.maxSize ?? Number.POSITIVE_INFINITY;
    this.#onData = opts.onData;
  }

  /**
   * Starts a chunk of `size` octets. With `discard`, the octets are read and dropped without
   * counting: the BDAT command was refused (RFC 3030 §2: the server must still read the chunk).
   * A chunk that is still open is a caller bug: RangeError.
   */
  begin(size: number, last: boolean, discard = false): void {
    if (this.#open) throw new RangeError("BDAT chunk still open");
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError("bad BDAT size");
    this.#remaining = size;
    this.#last = last;
    this.#discard = discard;
    this.#open = true;
  }

  /** True while a chunk is being read. */
  get inChunk(): boolean {
    return this.#open;
  }

  /** Octets still expected in the current chunk. */
  get remaining(): number {
    return this.#remaining;
  }

  /** Octets of the message so far, all chunks counted. */
  get size(): number {
    return this.#size;
  }

  /** True when the message is over the limit already (the server may refuse the chunk early). */
  get tooBig(): boolean {
    return this.#size > this.#maxSize;
  }

  /** Forgets the message (RSET, or a transaction that ended). */
  reset(): void {
    this.#parts = [];
    this.#size = 0;
    this.#stored = 0;
    this.#remaining = 0;
    this.#open = false;
  }

  /** Feeds input; takes at most the octets the open chunk still needs. */
  feed(input: Buffer): BdatFeedResult {
    if (!this.#open) return { consumed: 0, chunkDone: false };
    const n = Math.min(this.#remaining, input.length);
    if (n > 0 && !this.#discard) {
      const piece = input.subarray(0, n);
      this.#size += n;
      if (this.#size > this.#maxSize) {
        this.#parts = [];
        this.#stored = 0;
      } else if (this.#onData) this.#onData(piece);
      else {
        this.#parts.push(piece);
        this.#stored += n;
      }
    }
    this.#remaining -= n;
    if (this.#remaining > 0) return { consumed: n, chunkDone: false };
    this.#open = false;
    if (!this.#last || this.#discard) return { consumed: n, chunkDone: true };
    const done: BdatDone = { message: Buffer.alloc(0), size: this.#size };
    if (this.#size > this.#maxSize) done.error = "too-big";
    else if (!this.#onData) done.message = Buffer.concat(this.#parts, this.#stored);
    this.reset();
    return { consumed: n, chunkDone: true, done };
  }
}

/** The bytes a client sends for one chunk: the command and the octets (RFC 3030 §2). */
export function encodeBdat(chunk: Buffer, last: boolean): Buffer {
  return Buffer.concat([Buffer.from(`BDAT ${chunk.length}${last ? " LAST" : ""}\r\n`), chunk]);
}
