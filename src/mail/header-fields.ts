// Raw header fields with byte offsets, for what must return header bytes exactly as stored:
// IMAP BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)] (RFC 9051 §6.4.5) and the
// JMAP header:Name:asRaw form (RFC 8621 §4.1.2.1).
import { HEADER_LIMITS } from "./headers.ts";

/** One field in a header block: its name as written and its bytes [start, end) incl. folding and line break. */
export interface RawField {
  name: string;
  start: number;
  /** Offset just past the colon: raw.subarray(valueStart, end) is the asRaw value. */
  valueStart: number;
  end: number;
}

/**
 * Lists the fields of the header block raw[start, end) (end may include the blank line).
 * Lines that are neither fields nor continuations are skipped.
 */
export function rawFields(raw: Buffer, start: number, end: number): RawField[] {
  const out: RawField[] = [];
  let pos = start;
  let cur: RawField | null = null;
  while (pos < end && out.length < HEADER_LIMITS.maxFields) {
    let nl = raw.indexOf(0x0a, pos);
    if (nl < 0 || nl >= end) nl = end - 1;
    const lineEnd = nl + 1;
    const first = raw[pos];
    const blank = first === 0x0a || (first === 0x0d && raw[pos + 1] === 0x0a);
    if (blank) break;
    if ((first === 0x20 || first === 0x09) && cur !== null) {
      cur.end = lineEnd;
    } else {
      if (cur !== null) out.push(cur);
      cur = null;
      const colon = raw.indexOf(0x3a, pos);
      if (colon >= 0 && colon < nl) {
        const name = raw.toString("latin1", pos, colon).trimEnd();
        if (name.length > 0 && !/[\s]/.test(name))
          cur = { name, start: pos, valueStart: colon + 1, end: lineEnd };
      }
    }
    pos = lineEnd;
  }
  if (cur !== null) out.push(cur);
  return out;
}

/** The blank line that ends the block [start, end), or CRLF when the block has none. */
function blankLine(raw: Buffer, start: number, end: number): Buffer {
  const block = raw.subarray(start, end);
  const tail = block.subarray(Math.max(0, block.length - 3)).toString("latin1");
  if (block.length === 2 && tail === "\r\n") return block;
  if (block.length === 1 && tail === "\n") return block;
  if (tail.endsWith("\n\r\n")) return block.subarray(block.length - 2);
  if (tail.endsWith("\n\n")) return block.subarray(block.length - 1);
  return Buffer.from("\r\n");
}

/**
 * RFC 9051 §6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT: the fields of the header block
 * raw[start, end) whose names match (or, with `not`, do not match) `names` ASCII
 * case-insensitively, byte for byte as stored, followed by the blank line (always included).
 */
export function selectHeaderFields(
  raw: Buffer,
  start: number,
  end: number,
  names: readonly string[],
  not = false,
): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const chunks: Buffer[] = [];
  for (const f of rawFields(raw, start, end)) {
    if (wanted.has(f.name.toLowerCase()) !== not) {
      chunks.push(raw.subarray(f.start, f.end));
      // a last field without a line break (header-only message) gets one
      if (raw[f.end - 1] !== 0x0a) chunks.push(Buffer.from("\r\n"));
    }
  }
  chunks.push(blankLine(raw, start, end));
  return Buffer.concat(chunks);
}

/** RFC 8621 §4.1.2.1 asRaw: the value bytes after the colon of each field of that name, as stored. */
export function rawHeaderValues(raw: Buffer, start: number, end: number, name: string): string[] {
  const n = name.toLowerCase();
  const out: string[] = [];
  for (const f of rawFields(raw, start, end)) {
    if (f.name.toLowerCase() !== n) continue;
    let e = f.end;
    // the terminating line break is not part of the value
    if (raw[e - 1] === 0x0a) e--;
    if (e > f.valueStart && raw[e - 1] === 0x0d) e--;
    out.push(raw.toString("utf8", f.valueStart, e));
  }
  return out;
}
