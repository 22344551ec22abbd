// Message bodies as POP3 sends them (RETR, TOP): byte-stuffed, CRLF lines, "." last.
//
// RFC 1939 §3: "If any line of the multi-line response begins with the termination octet,
// the line is 'byte-stuffed' by pre-pending the termination octet to that line." The
// response ends with CRLF "." CRLF.
// RFC 1939 §7 TOP: "the server sends the headers of the message, the blank line separating
// the headers from the body, and then the number of lines of the indicated message's body".
//
// Speed: the message is never turned into a string. The bytes are cut at the few places
// that need an insertion (a "." at a line start, a bare LF to complete to CRLF) and the
// slices, which share the original memory, are handed to the socket as they are.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const DOT_BUF = Buffer.from(".");
const CRLF_BUF = Buffer.from("\r\n");
const CR_BUF = Buffer.from("\r");
const END_BUF = Buffer.from(".\r\n");
const CRLF_END_BUF = Buffer.from("\r\n.\r\n");

/**
 * The parts to write for a multi-line message body: the message with every line that starts
 * with "." stuffed, bare LFs completed to CRLF, a final CRLF added when missing, then ".\r\n".
 * The parts are slices of `msg` (no copy) and small constants.
 */
export function stuffMessage(msg: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  if (msg.length > 0 && msg[0] === DOT) parts.push(DOT_BUF);
  let i = msg.indexOf(LF);
  while (i >= 0) {
    const bare = i === 0 || msg[i - 1] !== CR;
    const dot = msg[i + 1] === DOT;
    if (bare || dot) {
      if (bare) {
        parts.push(msg.subarray(start, i), CR_BUF);
        start = i;
      }
      if (dot) {
        parts.push(msg.subarray(start, i + 1), DOT_BUF);
        start = i + 1;
      }
    }
    i = msg.indexOf(LF, i + 1);
  }
  if (start < msg.length) parts.push(start === 0 ? msg : msg.subarray(start));
  const last = msg.length > 0 ? msg[msg.length - 1] : undefined;
  if (msg.length === 0) parts.push(END_BUF);
  else if (last === LF) parts.push(END_BUF);
  else if (last === CR) parts.push(Buffer.from("\n.\r\n"));
  else parts.push(CRLF_END_BUF);
  return parts;
}

/** The number of octets stuffMessage would send for the message itself (without ".\r\n"). */
export function stuffedLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n - END_BUF.length;
}

/**
 * RFC 1939 §7 TOP msg n: the header, the blank line after it, and the first `lines` lines of
 * the body, as a slice of the message. A message without a blank line is all header: it is
 * returned whole and the blank line is added (`addBlank`).
 */
export function topOf(msg: Buffer, lines: number): { head: Buffer; addBlank: boolean } {
  const bodyStart = headerEnd(msg);
  if (bodyStart < 0) return { head: msg, addBlank: true };
  let end = bodyStart;
  for (let k = 0; k < lines && end < msg.length; k++) {
    const nl = msg.indexOf(LF, end);
    end = nl < 0 ? msg.length : nl + 1;
  }
  return { head: msg.subarray(0, end), addBlank: false };
}

/**
 * The offset just after the blank line that ends the header (RFC 5322 §2.1), or -1 when the
 * message has none. A message that starts with the blank line has an empty header.
 */
export function headerEnd(msg: Buffer): number {
  if (msg[0] === LF) return 1;
  if (msg[0] === CR && msg[1] === LF) return 2;
  let i = msg.indexOf(LF);
  while (i >= 0) {
    const next = msg[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && msg[i + 2] === LF) return i + 3;
    i = msg.indexOf(LF, i + 1);
  }
  return -1;
}

/** The parts of a TOP response body (stuffed, ended). */
export function stuffTop(msg: Buffer, lines: number): Buffer[] {
  const { head, addBlank } = topOf(msg, lines);
  if (!addBlank) return stuffMessage(head);
  const parts = stuffMessage(head);
  // The header had no blank line after it: close its last line, then the blank line.
  parts.pop();
  const last = head.length > 0 ? head[head.length - 1] : undefined;
  if (head.length > 0 && last !== LF) parts.push(last === CR ? Buffer.from("\n") : CRLF_BUF);
  parts.push(CRLF_BUF, END_BUF);
  return parts;
}

/** The octets of `parts` as one buffer (small messages: one write is cheapest). */
export function joinParts(parts: readonly Buffer[]): Buffer {
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}

/** Undoes the stuffing of a received multi-line body (for clients and tests). */
export function unstuff(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  if (body[0] === DOT) start = 1;
  let i = body.indexOf("\n.");
  while (i >= 0) {
    out.push(body.subarray(start, i + 1));
    start = i + 2;
    i = body.indexOf("\n.", start);
  }
  out.push(body.subarray(start));
  return Buffer.concat(out);
}
