// Line-ending conversion for mailbox files. RFC 5322 §2.1 and IMAP (RFC 9051 §2.2.1) want CRLF
// on the wire and in stored messages; mbox files conventionally use bare LF (the local Unix
// convention), Maildir files too. Both conversions copy only when there is something to change.

const LF = 0x0a;
const CR = 0x0d;
const CRLF = Buffer.from("\r\n");

/** Turns every bare LF into CRLF; CRLF pairs and lone CRs stay as they are. */
export function lfToCrlf(buf: Buffer): Buffer {
  let bare = 0;
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (i === 0 || buf[i - 1] !== CR) bare++;
  }
  if (bare === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare);
  let o = 0;
  let from = 0;
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (i !== 0 && buf[i - 1] === CR) continue;
    o += buf.copy(out, o, from, i);
    out[o++] = CR;
    out[o++] = LF;
    from = i + 1;
  }
  o += buf.copy(out, o, from);
  return out;
}

/** Turns every CRLF into LF; bare LFs and lone CRs stay as they are. */
export function crlfToLf(buf: Buffer): Buffer {
  let first = buf.indexOf(CRLF);
  if (first === -1) return buf;
  const parts: Buffer[] = [];
  let from = 0;
  while (first !== -1) {
    parts.push(buf.subarray(from, first));
    from = first + 1; // keep the LF, drop the CR
    first = buf.indexOf(CRLF, from);
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/** The line ending a buffer uses: "crlf" when its first LF follows a CR, else "lf". */
export function detectEol(buf: Buffer): "lf" | "crlf" {
  const i = buf.indexOf(LF);
  return i > 0 && buf[i - 1] === CR ? "crlf" : "lf";
}
