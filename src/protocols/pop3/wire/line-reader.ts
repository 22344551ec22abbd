// Splits the client's byte stream into command lines (RFC 1939 §3: lines end with CRLF; a
// bare LF is accepted as well, as most servers do). A line longer than the limit is not
// buffered: its bytes are dropped up to the next LF and it is reported once as too long, so
// a client cannot make the server hold an unbounded line.

export type LineEvent = { type: "line"; line: Buffer } | { type: "too-long" };

export class LineReader {
  #parts: Buffer[] = [];
  #length = 0;
  #discarding = false;
  /** Longest line accepted, CRLF excluded. Settable: AUTH exchanges allow longer lines. */
  maxLength: number;

  constructor(maxLength: number) {
    this.maxLength = maxLength;
  }

  /** Feeds a chunk; returns the complete lines (and overflows) it finished, in order. */
  push(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        this.#keep(chunk.subarray(start));
        break;
      }
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#discarding) {
        // The end of a line that overflowed: report it once, in order with the other lines.
        this.#discarding = false;
        out.push({ type: "too-long" });
        continue;
      }
      let line: Buffer;
      if (this.#parts.length === 0) line = piece;
      else {
        this.#parts.push(piece);
        line = Buffer.concat(this.#parts);
        this.#parts = [];
        this.#length = 0;
      }
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLength) out.push({ type: "too-long" });
      else out.push({ type: "line", line });
    }
    return out;
  }

  /** Forgets buffered bytes (RFC 2595 §4: after STLS nothing read before counts). */
  reset(): void {
    this.#parts = [];
    this.#length = 0;
    this.#discarding = false;
  }

  /** Bytes held of an unfinished line. */
  get buffered(): number {
    return this.#length;
  }

  #keep(piece: Buffer): void {
    if (this.#discarding) return;
    // +1: the CR of a CRLF may still come in the next chunk.
    if (this.#length + piece.length > this.maxLength + 1) {
      this.#discarding = true;
      this.#parts = [];
      this.#length = 0;
      return;
    }
    // Copy: the chunk's memory may be reused by the socket.
    this.#parts.push(Buffer.from(piece));
    this.#length += piece.length;
  }
}
