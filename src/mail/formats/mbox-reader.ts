// Streaming mbox reader (RFC 4155 describes the format and its variants). A file is a run of
// messages, each introduced by a "From <sender> <date>" line at the start of a line; the line
// ending just before a From line belongs to the separator, not to the message. Body lines
// that would look like a From line are quoted by the writer:
//  - mboxrd: every line matching ^>*From  gets one more ">"; the reader removes one ">" from
//    every line matching ^>+From  (exact round trip).
//  - mboxo: only ^From  lines are quoted; the reader removes the ">" of ^>From  lines.
// The reader keeps in memory only the message being read (plus one input chunk): a file of
// any size reads in memory bounded by its largest message.
// todo RFC 4155 (mboxcl/mboxcl2): Content-Length is kept but not used to find the next
// message; a body line "From x <date>" left unquoted by an mboxo or mboxcl2 writer splits the
// message there.
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { lfToCrlf } from "./eol.ts";
import { parseFromLine, type FromLine } from "./mbox-from-line.ts";
import {
  addFlagsFromField,
  BOOKKEEPING_HEADERS,
  FlagSet,
  headerEnd,
  headerSpans,
  removeSpans,
  spanValue,
} from "./mbox-status.ts";

export interface MboxMessage {
  /** The message bytes (unquoted, bookkeeping headers removed unless told otherwise). */
  raw: Buffer;
  /** The sender on the From line; null when absent or "-". */
  envelopeSender: string | null;
  /** The date on the From line, ms since the epoch; null when unreadable. */
  internalDate: number | null;
  /** IMAP flags from Status / X-Status / X-Keywords / X-Mozilla-* headers. */
  flags: string[];
  /** Byte offset of the message's From line in the file. */
  offset: number;
  /** Bytes the message takes in the file: From line, quoted message, separator line ending. */
  fileLength: number;
}

export interface MboxReadOptions {
  /**
   * Convert bare LF line endings to CRLF (RFC 5322 §2.1; IMAP serves CRLF). Default true: an
   * import stores what IMAP will serve. With false the bytes stay as the file has them
   * (LF in an LF file, CRLF in a CRLF file).
   */
  crlf?: boolean;
  /** Remove Status, X-Status, X-Keywords, X-Mozilla-Status(2), X-Mozilla-Keys, X-UID, X-IMAP(base) after reading their flags. Default true. Content-Length is kept. */
  stripStatusHeaders?: boolean;
  /** Quoting convention of the file. Default "mboxrd" (also reads mboxo files well, unless a body line really began with ">From "). */
  format?: "mboxrd" | "mboxo";
  /** Skip UW-IMAP/Pine's "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA" first message. Default true. */
  skipPseudoMessage?: boolean;
  /** Largest message accepted, in bytes of the file; a larger one throws MboxError. Default 512 MiB. */
  maxMessageSize?: number;
  /** Read chunk size when reading a path. Default 256 KiB. */
  chunkSize?: number;
}

/** The input is not an mbox file, or breaks a limit. `offset` is where in the file. */
export class MboxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "MboxError";
    this.offset = offset;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const FROM = Buffer.from("From ");
const NL_FROM = Buffer.from("\nFrom ");
const QUOTED_FROM = Buffer.from(">From ");
/** A From line longer than this is not a separator (real ones are under 200 bytes). */
const MAX_FROM_LINE = 4096;
const EMPTY: Buffer = Buffer.alloc(0);

/** mboxrd / mboxo unquoting: one ">" less on ^>+From  lines (mboxo: on ^>From  lines only). */
export function unquoteFromLines(buf: Buffer, format: "mboxrd" | "mboxo" = "mboxrd"): Buffer {
  let k = buf.indexOf(QUOTED_FROM);
  if (k === -1) return buf;
  const drop: number[] = [];
  while (k !== -1) {
    let j = k;
    while (j > 0 && buf[j - 1] === 0x3e) j--;
    if ((j === 0 || buf[j - 1] === LF) && (format === "mboxrd" || j === k)) drop.push(j);
    k = buf.indexOf(QUOTED_FROM, k + QUOTED_FROM.length);
  }
  if (drop.length === 0) return buf;
  const parts: Buffer[] = [];
  let from = 0;
  for (const d of drop) {
    parts.push(buf.subarray(from, d));
    from = d + 1;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

interface Resolved {
  crlf: boolean;
  strip: boolean;
  format: "mboxrd" | "mboxo";
  skipPseudo: boolean;
  max: number;
}

/** Reads the flags from the bookkeeping headers and (optionally) removes those headers. */
function finishMessage(bytes: Buffer, o: Resolved): { raw: Buffer; flags: string[]; pseudo: boolean } {
  let raw = unquoteFromLines(bytes, o.format);
  const spans = headerSpans(
    raw,
    headerEnd(raw),
    (name) => name === "subject" || BOOKKEEPING_HEADERS.has(name),
  );
  const flags = new FlagSet();
  const bookkeeping = spans.filter((s) => BOOKKEEPING_HEADERS.has(s.name));
  for (const s of bookkeeping) addFlagsFromField(flags, s.name, spanValue(raw, s));
  let pseudo = false;
  if (o.skipPseudo && bookkeeping.some((s) => s.name === "x-imap")) {
    const subject = spans.find((s) => s.name === "subject");
    pseudo = subject !== undefined && spanValue(raw, subject).includes("FOLDER INTERNAL DATA");
  }
  if (o.strip) raw = removeSpans(raw, bookkeeping);
  if (o.crlf) raw = lfToCrlf(raw);
  return { raw, flags: flags.list(), pseudo };
}

async function* chunksOf(
  source: string | Readable | AsyncIterable<Uint8Array | string>,
  chunkSize: number,
): AsyncGenerator<Buffer> {
  const input = typeof source === "string" ? createReadStream(source, { highWaterMark: chunkSize }) : source;
  for await (const c of input as AsyncIterable<Uint8Array | string>) {
    if (typeof c === "string") yield Buffer.from(c, "latin1");
    else yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  }
}

/**
 * Reads an mbox file message by message. `source` is a path or a byte stream. Memory stays
 * bounded by the largest message: stop iterating at any time, the file is closed.
 */
export async function* readMbox(
  source: string | Readable | AsyncIterable<Uint8Array | string>,
  opts: MboxReadOptions = {},
): AsyncGenerator<MboxMessage> {
  const o: Resolved = {
    crlf: opts.crlf ?? true,
    strip: opts.stripStatusHeaders ?? true,
    format: opts.format ?? "mboxrd",
    skipPseudo: opts.skipPseudoMessage ?? true,
    max: opts.maxMessageSize ?? 512 * 1024 * 1024,
  };
  let current: (FromLine & { offset: number }) | null = null; // null: no From line read yet
  let parts: Buffer[] = [];
  let partsLength = 0;
  let pending: Buffer = EMPTY; // unscanned bytes starting at a line start: a possible From line not complete yet
  let atLineStart = true; // whether the byte after everything consumed begins a line
  let consumed = 0; // file offset of data[0]
  let count = 0;
  const out: MboxMessage[] = [];

  const append = (data: Buffer, from: number, to: number): void => {
    if (to <= from) return;
    if (current === null) {
      // bytes before the first From line: only blank lines are allowed
      for (let i = from; i < to; i++) {
        const c = data[i];
        if (c !== LF && c !== CR && c !== 0x20 && c !== 0x09)
          throw new MboxError("not an mbox file: no From line at the start", consumed + i);
      }
      return;
    }
    partsLength += to - from;
    if (partsLength > o.max) throw new MboxError(`message larger than ${o.max} bytes`, current.offset);
    parts.push(data.subarray(from, to));
  };

  const complete = (endOffset: number): void => {
    if (current === null) return;
    let bytes = Buffer.concat(parts, partsLength); // copies: no chunk stays referenced
    parts = [];
    partsLength = 0;
    // the line ending before the next From line (or at the end of the file) is the separator's
    const n = bytes.length;
    if (n > 0 && bytes[n - 1] === LF)
      bytes = bytes.subarray(0, n >= 2 && bytes[n - 2] === CR ? n - 2 : n - 1);
    const { raw, flags, pseudo } = finishMessage(bytes, o);
    if (!(pseudo && count === 0)) {
      out.push({
        raw,
        envelopeSender: current.sender,
        internalDate: current.date,
        flags,
        offset: current.offset,
        fileLength: endOffset - current.offset,
      });
    }
    count++;
  };

  /** Scans data for From lines; returns the unscanned tail to keep (a From line not complete yet). */
  const scan = (data: Buffer, final: boolean): Buffer => {
    let msgFrom = 0;
    let pos = 0;
    let tail = -1;
    for (;;) {
      let s: number;
      if (pos === 0 && atLineStart && data.length >= 5 && data.compare(FROM, 0, 5, 0, 5) === 0) s = 0;
      else {
        const i = data.indexOf(NL_FROM, Math.max(pos - 1, 0));
        if (i === -1) break;
        s = i + 1;
      }
      const e = data.indexOf(LF, s);
      if (e === -1 && !final) {
        if (data.length - s <= MAX_FROM_LINE) tail = s;
        break;
      }
      const lineEnd = e === -1 ? data.length : e;
      const line =
        lineEnd - s <= MAX_FROM_LINE
          ? parseFromLine(data.toString("latin1", s, lineEnd), current === null)
          : null;
      if (line === null) {
        pos = s + 1;
        continue;
      }
      append(data, msgFrom, s);
      complete(consumed + s);
      current = { ...line, offset: consumed + s };
      msgFrom = pos = e === -1 ? data.length : e + 1;
    }
    if (tail === -1 && !final) {
      // an incomplete last line that could still become "From "
      const l = data.lastIndexOf(LF) + 1;
      const start = l === 0 && !atLineStart ? data.length : l;
      const n = data.length - start;
      if (n > 0 && n < 5 && data.compare(FROM, 0, n, start, data.length) === 0) tail = start;
    }
    const keepFrom = tail === -1 ? data.length : tail;
    append(data, msgFrom, keepFrom);
    return tail === -1 ? EMPTY : Buffer.from(data.subarray(tail));
  };

  for await (const chunk of chunksOf(source, opts.chunkSize ?? 256 * 1024)) {
    if (chunk.length === 0) continue;
    const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    if (pending.length > 0) atLineStart = true;
    pending = scan(data, false);
    atLineStart = pending.length > 0 || data[data.length - 1] === LF;
    consumed += data.length - pending.length;
    for (const m of out.splice(0)) yield m;
  }
  if (pending.length > 0) {
    atLineStart = true;
    scan(pending, true);
    consumed += pending.length;
  }
  complete(consumed);
  for (const m of out.splice(0)) yield m;
}
