// Streaming mbox writer, mboxrd form (RFC 4155 §"Description" and the mboxrd convention):
// each message is "From <sender> <asctime date>", the message with ^>*From  lines quoted by
// one more ">", and one line ending. The line ending written after each message makes the
// format lossless: a message that ends with a line ending is followed by an empty line (the
// usual look of an mbox file), one that does not is followed directly by the next From line,
// and readMbox removes exactly that one line ending again.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { crlfToLf, lfToCrlf } from "./eol.ts";
import { formatFromLine } from "./mbox-from-line.ts";
import {
  BOOKKEEPING_HEADERS,
  headerEnd,
  headerSpans,
  removeSpans,
  statusHeaderLines,
} from "./mbox-status.ts";

export interface MboxWriteInput {
  raw: Buffer | Uint8Array;
  /** Envelope sender for the From line; null/absent writes MAILER-DAEMON. */
  envelopeSender?: string | null;
  /** Internal date for the From line (ms since the epoch; whole seconds are kept); null/absent writes the current time. */
  internalDate?: number | null;
  /** IMAP flags, written as Status / X-Status / X-Keywords headers. */
  flags?: readonly string[];
}

export interface MboxWriterOptions {
  /** Line ending of the file: "lf" (default, the mbox convention: CRLF in messages becomes LF) or "crlf" (bare LF becomes CRLF). */
  eol?: "lf" | "crlf";
  /** Quoting: "mboxrd" (default; lossless) or "mboxo" (only ^From  lines quoted). */
  format?: "mboxrd" | "mboxo";
  /** Write Status / X-Status / X-Keywords headers for the flags. Default true. */
  flagHeaders?: boolean;
  /** Open a path for appending instead of truncating it. Default false. */
  append?: boolean;
  /** File mode when creating a path. Default 0o600 (mail is private). */
  mode?: number;
  /** Current time for messages without an internal date (tests inject it). */
  now?: () => number;
}

const LF = 0x0a;

/** mboxrd quoting: one more ">" on every line matching ^>*From  (mboxo: on ^From  lines only). */
export function quoteFromLines(buf: Buffer, format: "mboxrd" | "mboxo" = "mboxrd"): Buffer {
  const needle = Buffer.from("From ");
  const insert: number[] = [];
  for (let k = buf.indexOf(needle); k !== -1; k = buf.indexOf(needle, k + 5)) {
    let j = k;
    if (format === "mboxrd") while (j > 0 && buf[j - 1] === 0x3e) j--;
    if (j === 0 || buf[j - 1] === LF) insert.push(j);
  }
  if (insert.length === 0) return buf;
  const parts: Buffer[] = [];
  const gt = Buffer.from(">");
  let from = 0;
  for (const at of insert) {
    parts.push(buf.subarray(from, at), gt);
    from = at;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/**
 * One message as it appears in the file: From line, message with its bookkeeping headers
 * replaced by ones for `flags` (added at the end of the header block), quoted, then one line
 * ending. Pure; MboxWriter streams these.
 */
export function formatMboxEntry(msg: MboxWriteInput, opts: MboxWriterOptions = {}): Buffer {
  const eol = opts.eol === "crlf" ? "\r\n" : "\n";
  const input = Buffer.isBuffer(msg.raw)
    ? msg.raw
    : Buffer.from(msg.raw.buffer, msg.raw.byteOffset, msg.raw.byteLength);
  let raw = opts.eol === "crlf" ? lfToCrlf(input) : crlfToLf(input);
  if (opts.flagHeaders ?? true) {
    const end = headerEnd(raw);
    raw = removeSpans(
      raw,
      headerSpans(raw, end, (name) => BOOKKEEPING_HEADERS.has(name)),
    );
    const lines = Buffer.from(statusHeaderLines(msg.flags ?? [], eol), "latin1");
    const at = headerEnd(raw);
    if (at < raw.length || (raw.length > 0 && raw[raw.length - 1] === LF) || raw.length === 0) {
      // before the empty line that ends the header block (or at the end of an all-header message that ends its last line)
      raw = Buffer.concat([raw.subarray(0, at), lines, raw.subarray(at)]);
    } else if (raw[0] !== 0x20 && raw[0] !== 0x09) {
      // an all-header message whose last line has no line ending: in front, where it cannot merge with that line
      raw = Buffer.concat([lines, raw]);
    }
    // else: a headerless fragment starting with white space would fold into our lines; its flags are not written
  }
  const from = formatFromLine(msg.envelopeSender, msg.internalDate, (opts.now ?? Date.now)()) + eol;
  return Buffer.concat([Buffer.from(from, "latin1"), quoteFromLines(raw, opts.format), Buffer.from(eol)]);
}

/** Writes messages to an mbox file or stream, waiting for the stream to drain (backpressure). */
export class MboxWriter {
  readonly #out: Writable;
  readonly #opts: MboxWriterOptions;
  #error: Error | null = null;
  #closed = false;
  #messages = 0;
  #bytes = 0;

  /** `dest` is a path (created with mode 0o600, truncated unless `append`) or a writable stream. */
  constructor(dest: string | Writable, opts: MboxWriterOptions = {}) {
    this.#opts = opts;
    this.#out =
      typeof dest === "string"
        ? createWriteStream(dest, { flags: opts.append ? "a" : "w", mode: opts.mode ?? 0o600 })
        : dest;
    this.#out.on("error", (e: Error) => {
      this.#error ??= e;
    });
  }

  /** Messages written so far. */
  get messages(): number {
    return this.#messages;
  }

  /** Bytes written so far (the file size when the writer started on an empty file). */
  get bytes(): number {
    return this.#bytes;
  }

  #check(): void {
    const e = this.#error;
    if (e !== null) throw e;
  }

  async write(msg: MboxWriteInput): Promise<void> {
    this.#check();
    if (this.#closed) throw new Error("MboxWriter: write after close");
    const entry = formatMboxEntry(msg, this.#opts);
    this.#messages++;
    this.#bytes += entry.length;
    if (!this.#out.write(entry)) await once(this.#out, "drain");
    this.#check();
  }

  /** Flushes and closes the file (or ends the stream). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#check();
    this.#out.end();
    await finished(this.#out);
  }

  /** Closes without flushing, e.g. after a failed export. */
  abort(): void {
    this.#closed = true;
    this.#out.destroy();
  }
}
