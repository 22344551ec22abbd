// SMTP replies: the table of every reply the server sends (RFC 5321 §4.2 codes with RFC 3463
// enhanced status codes, RFC 2034; registry RFC 5248; AUTH codes RFC 4954 §6 and RFC 7372), the
// serializer for single- and multi-line replies (RFC 5321 §4.2.1), and a reply parser for the
// client side that never throws.

import { StringDecoder } from "node:string_decoder";

/** One reply: basic code, enhanced status code (null where none is sent) and text line(s). */
export interface Reply {
  code: number;
  enhanced: string | null;
  text: string | readonly string[];
}

/** The replies the server sends, by name. Text is a default; callers may pass their own. */
export const REPLIES = {
  // RFC 2034 §3: no enhanced code in the greeting (nor in the HELO/EHLO replies).
  GREETING: { code: 220, enhanced: null, text: "ESMTP ready" },
  // RFC 5321 §3.1: a server that refuses service answers the connection with 554.
  SERVICE_REFUSED: { code: 554, enhanced: "5.7.1", text: "Service unavailable" },
  CLOSING: { code: 221, enhanced: "2.0.0", text: "Bye" },
  // RFC 5321 §4.1.1.1: "250 domain [greeting]"; RFC 2034 §3: no enhanced code here.
  HELO: { code: 250, enhanced: null, text: "Hello" },
  OK: { code: 250, enhanced: "2.0.0", text: "OK" },
  // RFC 3463 §3.2: X.1.0 other address status (sender accepted), X.1.5 destination valid.
  SENDER_OK: { code: 250, enhanced: "2.1.0", text: "Sender OK" },
  RECIPIENT_OK: { code: 250, enhanced: "2.1.5", text: "Recipient OK" },
  // RFC 5321 §3.5.2: VRFY answered with the mailbox when verification is enabled.
  USER_OK: { code: 250, enhanced: "2.1.5", text: "User OK" },
  MESSAGE_ACCEPTED: { code: 250, enhanced: "2.0.0", text: "Message accepted" },
  // RFC 3030 §2: each non-LAST BDAT chunk is acknowledged with 250.
  CHUNK_OK: { code: 250, enhanced: "2.0.0", text: "Chunk received" },
  RESET: { code: 250, enhanced: "2.0.0", text: "Reset" },
  NOOP: { code: 250, enhanced: "2.0.0", text: "OK" },
  // RFC 5321 §3.5.3: 252 when the server does not verify but will attempt delivery.
  CANNOT_VRFY: {
    code: 252,
    enhanced: "2.5.0",
    text: "Cannot VRFY user, but will accept message and attempt delivery",
  },
  HELP: { code: 214, enhanced: "2.0.0", text: "See RFC 5321" },
  // RFC 5321 §4.2.2: intermediate replies carry no enhanced code (RFC 3463 classes are 2, 4, 5).
  START_DATA: { code: 354, enhanced: null, text: "End data with <CR><LF>.<CR><LF>" },
  AUTH_CONTINUE: { code: 334, enhanced: null, text: "" },
  // RFC 3207 §4.
  STARTTLS_READY: { code: 220, enhanced: "2.0.0", text: "Ready to start TLS" },
  TLS_NOT_AVAILABLE: { code: 454, enhanced: "4.7.0", text: "TLS not available due to temporary reason" },
  MUST_STARTTLS: { code: 530, enhanced: "5.7.0", text: "Must issue a STARTTLS command first" },
  TLS_ALREADY_ACTIVE: { code: 503, enhanced: "5.5.1", text: "TLS already active" },
  // RFC 4954 §6 and RFC 7372.
  AUTH_OK: { code: 235, enhanced: "2.7.0", text: "Authentication successful" },
  PASSWORD_TRANSITION: { code: 432, enhanced: "4.7.12", text: "A password transition is needed" },
  AUTH_TEMP: { code: 454, enhanced: "4.7.0", text: "Temporary authentication failure" },
  AUTH_LINE_TOO_LONG: { code: 500, enhanced: "5.5.6", text: "Authentication exchange line is too long" },
  // RFC 4954 §4: an undecodable BASE64 response is refused with 501 and 5.5.2.
  AUTH_BAD_BASE64: { code: 501, enhanced: "5.5.2", text: "Cannot decode response" },
  // RFC 4954 §4: a client cancelling with "*" gets 501.
  AUTH_CANCELLED: { code: 501, enhanced: "5.0.0", text: "Authentication cancelled" },
  AUTH_MECH_UNKNOWN: { code: 504, enhanced: "5.5.4", text: "Unrecognized authentication type" },
  ACCOUNT_DISABLED: { code: 525, enhanced: "5.7.13", text: "User account disabled" },
  AUTH_REQUIRED: { code: 530, enhanced: "5.7.0", text: "Authentication required" },
  MECH_TOO_WEAK: { code: 534, enhanced: "5.7.9", text: "Authentication mechanism is too weak" },
  AUTH_FAILED: { code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid" },
  ENCRYPTION_REQUIRED: {
    code: 538,
    enhanced: "5.7.11",
    text: "Encryption required for requested authentication mechanism",
  },
  ALREADY_AUTHENTICATED: { code: 503, enhanced: "5.5.1", text: "Already authenticated" },
  // Connection-level 421s (RFC 5321 §3.8, §4.5.3.2 timeouts).
  SHUTDOWN: { code: 421, enhanced: "4.3.2", text: "Service shutting down, closing transmission channel" },
  TOO_MANY_ERRORS: { code: 421, enhanced: "4.7.0", text: "Too many errors, closing connection" },
  TOO_MANY_CONNECTIONS: { code: 421, enhanced: "4.7.0", text: "Too many connections, try again later" },
  TIMEOUT: { code: 421, enhanced: "4.4.2", text: "Timeout, closing connection" },
  // RFC 9422 §4.1: once MAILMAX transactions are done the client must reconnect.
  TOO_MANY_TRANSACTIONS: { code: 421, enhanced: "4.5.3", text: "Too many transactions in this session" },
  // Temporary failures of a transaction.
  LOCAL_ERROR: { code: 451, enhanced: "4.3.0", text: "Local error in processing" },
  RATE_LIMITED: { code: 451, enhanced: "4.7.1", text: "Rate limit exceeded, try again later" },
  // RFC 3463 X.4.3: directory server failure (a DNS lookup that could not finish).
  DNS_TEMP: { code: 451, enhanced: "4.4.3", text: "Temporary DNS failure, try again later" },
  // RFC 7372 §3.2: SPF validation error (temporary).
  SPF_TEMP: { code: 451, enhanced: "4.7.24", text: "SPF validation error" },
  MAILBOX_BUSY: { code: 450, enhanced: "4.2.0", text: "Mailbox temporarily unavailable" },
  MAILBOX_FULL: { code: 452, enhanced: "4.2.2", text: "Mailbox full" },
  INSUFFICIENT_STORAGE: { code: 452, enhanced: "4.3.1", text: "Insufficient system storage" },
  // RFC 5321 §4.5.3.1.10: too many recipients is a 452 (the client retries the rest later).
  TOO_MANY_RECIPIENTS: { code: 452, enhanced: "4.5.3", text: "Too many recipients" },
  // Syntax and sequence (RFC 5321 §4.2.2, RFC 3463 §3.6 X.5.x).
  UNKNOWN_COMMAND: { code: 500, enhanced: "5.5.1", text: "Command not recognized" },
  SYNTAX: { code: 500, enhanced: "5.5.2", text: "Syntax error" },
  // RFC 5321 §4.5.3.1.4 "500 Line too long".
  LINE_TOO_LONG: { code: 500, enhanced: "5.5.2", text: "Line too long" },
  BARE_LINE_END: { code: 500, enhanced: "5.5.2", text: "Command lines must end with CRLF" },
  PARAM_SYNTAX: { code: 501, enhanced: "5.5.4", text: "Syntax error in parameters or arguments" },
  BAD_SENDER_SYNTAX: { code: 501, enhanced: "5.1.7", text: "Bad sender address syntax" },
  BAD_RECIPIENT_SYNTAX: { code: 501, enhanced: "5.1.3", text: "Bad recipient address syntax" },
  NOT_IMPLEMENTED: { code: 502, enhanced: "5.5.1", text: "Command not implemented" },
  BAD_SEQUENCE: { code: 503, enhanced: "5.5.1", text: "Bad sequence of commands" },
  // RFC 3030 §3: BINARYMIME bodies must use BDAT.
  BINARY_NEEDS_BDAT: { code: 503, enhanced: "5.5.1", text: "BINARYMIME requires BDAT" },
  PARAM_NOT_IMPLEMENTED: { code: 504, enhanced: "5.5.4", text: "Command parameter not implemented" },
  // RFC 5321 §4.1.1.11: unrecognised or unimplemented MAIL/RCPT parameters.
  PARAM_NOT_RECOGNIZED: {
    code: 555,
    enhanced: "5.5.4",
    text: "MAIL FROM/RCPT TO parameters not recognized or not implemented",
  },
  // Permanent refusals.
  NO_SUCH_USER: { code: 550, enhanced: "5.1.1", text: "No such user here" },
  // RFC 5321 §3.5.1, §3.5.4: VRFY of a name that fits several mailboxes; RFC 3463 X.1.4.
  USER_AMBIGUOUS: { code: 553, enhanced: "5.1.4", text: "User ambiguous" },
  BAD_DOMAIN: { code: 550, enhanced: "5.1.2", text: "Bad destination system address" },
  MAILBOX_DISABLED: { code: 550, enhanced: "5.2.1", text: "Mailbox disabled" },
  RELAY_DENIED: { code: 550, enhanced: "5.7.1", text: "Relaying denied" },
  POLICY_REJECT: { code: 550, enhanced: "5.7.1", text: "Message refused by policy" },
  // RFC 3865: a message whose SOLICIT= keywords the server refuses gets a 5.7.1 policy refusal.
  SOLICITATION_REFUSED: { code: 550, enhanced: "5.7.1", text: "Solicitation refused" },
  // SMTP smuggling defence: bare CR/LF in DATA (RFC 5321 §2.3.8), media error X.6.0.
  SMUGGLING: { code: 550, enhanced: "5.6.0", text: "Bare CR or LF in message data refused" },
  MAILBOX_FULL_PERM: { code: 552, enhanced: "5.2.2", text: "Mailbox full" },
  // RFC 5321 §4.5.3.1.6 text line limit, answered after the data (§4.3.2 allows 552 there;
  // §4.5.3.1.10 gives 552 for data over a limit). X.6.0: the content cannot be taken as it
  // is, and is never split or folded; X.3.4 would tell the sender the message is too big.
  TEXT_LINE_TOO_LONG: { code: 552, enhanced: "5.6.0", text: "Message refused: a text line is too long" },
  // RFC 1870 §6 and RFC 3463 X.3.4.
  MESSAGE_TOO_BIG: { code: 552, enhanced: "5.3.4", text: "Message size exceeds fixed maximum message size" },
  SENDER_NOT_ALLOWED: { code: 553, enhanced: "5.7.1", text: "Sender address not allowed" },
  // RFC 3463 X.1.8: the sender's domain does not exist or cannot receive mail.
  BAD_SENDER_DOMAIN: { code: 550, enhanced: "5.1.8", text: "Bad sender's system address" },
  // RFC 7372 §3 mail authentication refusals; RFC 7505 §4.2 null MX.
  DKIM_FAIL: { code: 550, enhanced: "5.7.20", text: "No passing DKIM signature found" },
  SPF_FAIL: { code: 550, enhanced: "5.7.23", text: "SPF validation failed" },
  IPREV_FAIL: { code: 550, enhanced: "5.7.25", text: "Reverse DNS validation failed" },
  DMARC_REJECT: { code: 550, enhanced: "5.7.26", text: "Multiple authentication checks failed" },
  NULL_MX_SENDER: { code: 550, enhanced: "5.7.27", text: "Sender address has null MX" },
  // RFC 5321 §6.3: a message that has looped (too many Received fields); RFC 3463 X.4.6.
  TOO_MANY_HOPS: { code: 554, enhanced: "5.4.6", text: "Too many hops, routing loop" },
  // RFC 4865 §4: HOLDFOR/HOLDUNTIL beyond what FUTURERELEASE advertises.
  HOLD_TOO_LONG: { code: 501, enhanced: "5.5.4", text: "Hold time beyond the advertised maximum" },
  // RFC 2852 §4: a BY time under the advertised min-by-time.
  BY_TIME_TOO_SHORT: { code: 501, enhanced: "5.5.4", text: "BY time below the advertised minimum" },
  // RFC 6531 §3.5: non-ASCII addresses need SMTPUTF8 (RFC 5248: X.6.7).
  UTF8_NOT_PERMITTED: { code: 553, enhanced: "5.6.7", text: "Non-ASCII addresses need SMTPUTF8" },
  // RFC 8689 §5: REQUIRETLS refused on a connection without TLS (X.7.10 encryption needed).
  REQUIRETLS: { code: 530, enhanced: "5.7.10", text: "REQUIRETLS needs a TLS connection" },
  REQUIRETLS_NOT_SUPPORTED: { code: 550, enhanced: "5.7.30", text: "REQUIRETLS support required" },
  NO_VALID_RECIPIENTS: { code: 554, enhanced: "5.5.1", text: "No valid recipients" },
  TRANSACTION_FAILED: { code: 554, enhanced: "5.0.0", text: "Transaction failed" },
  // RFC 3030 §2: BDAT framing cannot be recovered; the connection closes.
  BDAT_FRAMING: { code: 554, enhanced: "5.5.4", text: "BDAT framing error, closing connection" },
} as const satisfies Record<string, Reply>;

export type ReplyName = keyof typeof REPLIES;

/** A copy of a named reply, with the text replaced when one is given. */
export function reply(name: ReplyName, text?: string | readonly string[]): Reply {
  const r = REPLIES[name];
  return { code: r.code, enhanced: r.enhanced, text: text ?? r.text };
}

const ENHANCED_RE = /^([245])\.(\d{1,3})\.(\d{1,3})$/;

/** True for a well-formed enhanced status code (RFC 3463 §2: class.subject.detail). */
export function isEnhancedCode(s: string): boolean {
  return ENHANCED_RE.test(s);
}

/**
 * Serializes a reply (RFC 5321 §4.2.1): "ccc-text" for every line but the last, "ccc text" for
 * the last, each ended by CRLF. With an enhanced code, every line carries it (RFC 2034 §4). CR
 * and LF inside the text break lines, so the text can never inject a reply of its own.
 * Throws RangeError for a code outside 200..599 or an enhanced code of another class: those are
 * programming errors, never wire input.
 */
export function formatReply(code: number, enhanced: string | null, text: string | readonly string[]): string {
  if (!Number.isInteger(code) || code < 200 || code > 599)
    throw new RangeError(`bad SMTP reply code ${code}`);
  if (enhanced !== null) {
    const m = ENHANCED_RE.exec(enhanced);
    if (!m || Number(m[1]) !== Math.floor(code / 100))
      throw new RangeError(`enhanced code ${enhanced} does not fit ${code}`);
  }
  const input = typeof text === "string" ? [text] : text;
  const lines: string[] = [];
  for (const t of input) for (const part of t.split(/\r\n|\r|\n/)) lines.push(part);
  if (lines.length === 0) lines.push("");
  const prefix = enhanced === null ? "" : enhanced + " ";
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const body = prefix + (lines[i] ?? "");
    const last = i === lines.length - 1;
    if (last) out += body === "" ? `${code}\r\n` : `${code} ${body}\r\n`;
    else out += `${code}-${body}\r\n`;
  }
  return out;
}

/** formatReply for a Reply object. */
export function formatReplyObject(r: Reply): string {
  return formatReply(r.code, r.enhanced, r.text);
}

// ---------------------------------------------------------------------------------------------
// Client side: reply parser.

/** A reply as read from a server. `error` is set when the server's reply broke the grammar. */
export interface ParsedReply {
  /** The basic code; 0 when even the first line had none. */
  code: number;
  /** The enhanced code found on the first line (RFC 2034), or null. */
  enhanced: string | null;
  /** The text of every line, with the code, separator and enhanced code removed. */
  lines: string[];
  error?: "malformed" | "inconsistent-code" | "line-too-long" | "too-many-lines";
}

export interface ReplyParserOptions {
  /** Longest reply line, CRLF included. RFC 5321 §4.5.3.1.5: 512; default 4096 to be liberal. */
  maxLineLength?: number;
  /** Most lines in one reply (EHLO replies are the longest); default 1000. */
  maxLines?: number;
}

const LINE_RE = /^([1-5][0-9][0-9])(?:([ -])(.*))?$/s;
const ENH_PREFIX_RE = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/;

/** Text of a reply, lines joined with "\n". */
export function replyText(r: ParsedReply): string {
  return r.lines.join("\n");
}

/**
 * Parses complete reply lines (without CRLF) into one reply. Every line but the last must use
 * "-" (RFC 5321 §4.2.1); all lines must share one code.
 */
export function parseReplyLines(lines: readonly string[]): ParsedReply {
  const p = new ReplyAssembler();
  let out: ParsedReply | null = null;
  for (const l of lines) {
    if (out !== null) return { ...out, error: "malformed" };
    out = p.line(l);
  }
  return out ?? { code: 0, enhanced: null, lines: [], error: "malformed" };
}

/** Collects the lines of one reply; `line()` answers the reply when its last line arrives. */
class ReplyAssembler {
  code = 0;
  texts: string[] = [];
  inconsistent = false;
  count = 0;

  line(l: string): ParsedReply | null {
    const m = LINE_RE.exec(l);
    if (!m) {
      const out: ParsedReply = { code: this.code, enhanced: null, lines: this.texts, error: "malformed" };
      this.reset();
      return out;
    }
    const code = Number(m[1]);
    if (this.count === 0) this.code = code;
    else if (code !== this.code) this.inconsistent = true;
    this.count++;
    this.texts.push(m[3] ?? "");
    if (m[2] === "-") return null;
    const out = finish(this.code, this.texts);
    if (this.inconsistent) out.error = "inconsistent-code";
    this.reset();
    return out;
  }

  reset(): void {
    this.code = 0;
    this.texts = [];
    this.inconsistent = false;
    this.count = 0;
  }
}

function finish(code: number, texts: string[]): ParsedReply {
  const first = texts[0] ?? "";
  const m = ENH_PREFIX_RE.exec(first);
  let enhanced: string | null = null;
  // RFC 2034 §4: the enhanced class must agree with the basic code's first digit.
  if (m && m[1] !== undefined && m[1].charCodeAt(0) - 48 === Math.floor(code / 100)) enhanced = m[1];
  const lines =
    enhanced === null
      ? texts
      : texts.map((t) =>
          t.startsWith(enhanced + " ") ? t.slice(enhanced.length + 1) : t === enhanced ? "" : t,
        );
  return { code, enhanced, lines };
}

/**
 * Push parser for server replies: feed raw bytes, get complete replies. Lines end with CRLF;
 * a bare LF is accepted as a line end too (client side: be liberal). Never throws.
 */
export class ReplyParser {
  #buf = "";
  #asm = new ReplyAssembler();
  #maxLine: number;
  #maxLines: number;
  #skipping = false;
  #decoder = new StringDecoder("utf8");

  constructor(opts: ReplyParserOptions = {}) {
    this.#maxLine = opts.maxLineLength ?? 4096;
    this.#maxLines = opts.maxLines ?? 1000;
  }

  /** Feeds bytes; answers the replies completed by them, in order. */
  push(chunk: Buffer | string): ParsedReply[] {
    let s = typeof chunk === "string" ? chunk : this.#decoder.write(chunk);
    if (this.#skipping) {
      const lf = s.indexOf("\n");
      if (lf < 0) return [];
      s = s.slice(lf + 1);
      this.#skipping = false;
    }
    this.#buf += s;
    const out: ParsedReply[] = [];
    let start = 0;
    for (;;) {
      const lf = this.#buf.indexOf("\n", start);
      if (lf < 0) break;
      let line = this.#buf.slice(start, lf);
      start = lf + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length + 2 > this.#maxLine) {
        out.push({ code: this.#asm.code, enhanced: null, lines: this.#asm.texts, error: "line-too-long" });
        this.#asm.reset();
        continue;
      }
      const r = this.#asm.line(line);
      if (r) out.push(r);
      else if (this.#asm.count >= this.#maxLines) {
        out.push({ code: this.#asm.code, enhanced: null, lines: this.#asm.texts, error: "too-many-lines" });
        this.#asm.reset();
      }
    }
    this.#buf = this.#buf.slice(start);
    if (this.#buf.length > this.#maxLine) {
      // An over-long line: report it now, drop what is buffered and skip to its end.
      out.push({ code: this.#asm.code, enhanced: null, lines: this.#asm.texts, error: "line-too-long" });
      this.#asm.reset();
      this.#buf = "";
      this.#skipping = true;
    }
    return out;
  }

  /** True when part of a reply is buffered (a connection closing now cut a reply short). */
  get pending(): boolean {
    return this.#buf.length > 0 || this.#asm.count > 0;
  }
}
