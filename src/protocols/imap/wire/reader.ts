// The streaming IMAP command reader: it takes the socket's Buffers as they come and hands out
// complete commands, each as its text lines with the literals between them (RFC 9051 §2.2,
// §4.3, §7.5 continuation requests). Literals: synchronizing "{n}" (the server sends "+"
// before the client sends the bytes), non-synchronizing "{n+}" (RFC 7888 LITERAL+/LITERAL-)
// and "~{n}" literal8 (RFC 3516 BINARY). Pull based: the server calls push() with input and
// next() for one event at a time, so it can switch to raw lines (AUTHENTICATE, IDLE's DONE)
// between two commands. It never throws on input: bad input becomes an "error" event.

/** Limits of one connection's reader. */
export interface ReaderLimits {
  /** Longest text line in bytes, literals excluded (RFC 2683 §3.2.1.5 asks for at least 8000). */
  maxLineLength: number;
  /** Largest literal in bytes of APPEND (and REPLACE): the APPENDLIMIT, RFC 7889. */
  maxLiteralSize: number;
  /** Largest literal in bytes of any other command (a LOGIN password, a SEARCH string). */
  maxArgLiteralSize: number;
  /** Most literals in one command. */
  maxLiterals: number;
  /** Largest command in bytes, lines and literals together. */
  maxCommandSize: number;
  /**
   * Non-synchronizing literals: "plus" (LITERAL+, any size up to maxLiteralSize), "minus"
   * (LITERAL-, RFC 7888 §5: at most 4096 bytes) or "none" (not advertised: refused).
   */
  nonSyncLiterals: "plus" | "minus" | "none";
  /** Bytes of a refused non-synchronizing literal we read and drop before giving up. */
  maxDiscard: number;
}

export const DEFAULT_READER_LIMITS: ReaderLimits = {
  maxLineLength: 64 * 1024,
  maxLiteralSize: 64 * 1024 * 1024,
  maxArgLiteralSize: 1024 * 1024,
  maxLiterals: 1000,
  maxCommandSize: 128 * 1024 * 1024,
  nonSyncLiterals: "plus",
  maxDiscard: 64 * 1024 * 1024,
};

/** RFC 7888 §5: LITERAL- allows non-synchronizing literals of at most 4096 octets. */
export const LITERAL_MINUS_MAX = 4096;

/** One literal of a command. `data` is a view on the input where it came in one chunk. */
export interface Literal {
  data: Buffer;
  /** literal8 "~{n}" (RFC 3516 §4.1): may hold NUL and any octet. */
  binary: boolean;
  /** Sent as "{n+}" without waiting for a continuation request. */
  nonSync: boolean;
}

/**
 * A complete command: lines[i] is the text before literals[i] (its "{n}" marker and CRLF
 * removed), the last line is the text after the last literal (CRLF removed), so
 * lines.length === literals.length + 1.
 */
export interface RawCommand {
  /** The tag, or null when the first word is not a valid tag (the parser answers "* BAD"). */
  tag: string | null;
  lines: Buffer[];
  literals: Literal[];
  /** Bytes of the command on the wire. */
  size: number;
}

/** What the reader hands to the server. */
export type ReaderEvent =
  | { type: "command"; command: RawCommand }
  /** RFC 9051 §7.5: send "+ ..." now; the client waits for it before sending the literal. */
  | { type: "continue"; size: number }
  /** A raw line asked for with expectLine() (AUTHENTICATE response, IDLE's DONE), no CRLF. */
  | { type: "line"; line: Buffer }
  /**
   * Answer with `tag status [code] text` (untagged "* BAD" when tag is null). The rest of the
   * command has been or will be skipped. When `fatal`, send it then close the connection.
   */
  | {
      type: "error";
      tag: string | null;
      status: "BAD" | "NO";
      code: string | null;
      text: string;
      fatal: boolean;
    }
  /** The first line is not IMAP at all (TLS hello, HTTP request): send "* BYE" and close. */
  | { type: "bye"; text: string };

type State =
  | { s: "line" }
  | { s: "literal"; remaining: number; parts: Buffer[]; binary: boolean; nonSync: boolean }
  | { s: "skipline" }
  | { s: "skipliteral"; remaining: number };

const LF = 0x0a;
const CR = 0x0d;
// RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR = ATOM-CHAR / "]";
// ATOM-CHAR excludes "(" ")" "{" SP CTL "%" "*" DQUOTE "\".
const TAG_CHAR = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) TAG_CHAR[c] = 1;
for (const c of '(){%*"\\+') TAG_CHAR[c.charCodeAt(0)] = 0;
// commands whose literals are messages (RFC 9051 §6.3.12 APPEND, RFC 8508 REPLACE)
const MESSAGE_COMMANDS = /^[^ ]+ (?:UID )?(?:APPEND|REPLACE) /i;
// "{" 1*DIGIT ["+"] "}" at the end of a line, with "~" before it for literal8
const MARKER = /(~?)\{([0-9]{1,20})(\+?)\}$/;

/** The tag of a command line, or null when the line does not start with a valid tag and SP. */
export function tagOf(line: Buffer): string | null {
  let i = 0;
  while (i < line.length && i < 256 && TAG_CHAR[line[i] ?? 0] === 1) i++;
  if (i === 0 || i >= line.length || line[i] !== 0x20) return null;
  return line.toString("latin1", 0, i);
}

function firstWord(line: Buffer): string | null {
  const sp = line.indexOf(0x20);
  const end = sp < 0 ? line.length : sp;
  return end === 0 || end > 256 ? null : line.toString("latin1", 0, end);
}

function markerOf(line: Buffer): { size: number; binary: boolean; nonSync: boolean; length: number } | null {
  if (line.length < 3 || line[line.length - 1] !== 0x7d) return null;
  const m = MARKER.exec(line.toString("latin1", Math.max(0, line.length - 26)));
  if (m === null) return null;
  return { size: Number(m[2]), binary: m[1] === "~", nonSync: m[3] === "+", length: m[0].length };
}

/** Looks like an IMAP command line: tag SP atom (a TLS hello or "GET / HTTP/1.1" does not). */
function looksLikeImap(line: Buffer): boolean {
  const tag = tagOf(line);
  if (tag === null) return false;
  const rest = line.toString("latin1", tag.length + 1, Math.min(line.length, tag.length + 40));
  if (!/^[A-Za-z]/.test(rest)) return false;
  return !/ HTTP\/\d/.test(line.toString("latin1", 0, Math.min(line.length, 300)));
}

export class CommandReader {
  #limits: ReaderLimits;
  #queue: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  #state: State = { s: "line" };
  #lineParts: Buffer[] = [];
  #lineLength = 0;
  #lines: Buffer[] = [];
  #literals: Literal[] = [];
  #size = 0;
  #tag: string | null = null;
  #messageCommand = false;
  #commands = 0;
  #expectLine = false;
  #discarded = 0;
  #skipTail = "";
  #closed = false;
  readonly #client: boolean;

  /**
   * `side: "client"` reads a server's responses instead (our own test client): no garbage
   * check, no continuation events (a server's literals never wait), the first word ("*",
   * "+" or the tag) as the tag, and literals checked against maxLiteralSize only.
   */
  constructor(limits: Partial<ReaderLimits> & { side?: "server" | "client" } = {}) {
    const { side, ...rest } = limits;
    this.#client = side === "client";
    this.#limits = { ...DEFAULT_READER_LIMITS, ...rest };
  }

  /** Changes limits between commands (e.g. a larger APPENDLIMIT after login). */
  setLimits(limits: Partial<ReaderLimits>): void {
    this.#limits = { ...this.#limits, ...limits };
  }

  get limits(): Readonly<ReaderLimits> {
    return this.#limits;
  }

  /** Input bytes not yet consumed (pause the socket when this grows). */
  get buffered(): number {
    return this.#buffered;
  }

  /** True after a fatal event: the reader ignores further input. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Adds input. The bytes are kept by reference, not copied. */
  push(chunk: Buffer): void {
    if (this.#closed || chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * Drops buffered input that was not consumed. RFC 9051 §6.2.1: after STARTTLS (and likewise
   * COMPRESS) bytes sent before the switch must not be taken as commands. Returns the count.
   */
  discardBuffered(): number {
    const n = this.#buffered;
    this.#queue = [];
    this.#offset = 0;
    this.#buffered = 0;
    return n;
  }

  /**
   * Takes the buffered input that was not consumed, leaving the reader empty: after COMPRESS
   * (RFC 4978 §3) it is compressed data the server passes through its inflater and back.
   */
  takeBuffered(): Buffer[] {
    const first = this.#queue[0];
    const out = first === undefined ? [] : [first.subarray(this.#offset), ...this.#queue.slice(1)];
    this.discardBuffered();
    return out.filter((b) => b.length > 0);
  }

  /** The next line is a raw line (SASL response, "DONE"), not a command. */
  expectLine(): void {
    this.#expectLine = true;
  }

  /** The next event, or null when more input is needed. */
  next(): ReaderEvent | null {
    while (!this.#closed) {
      const head = this.#head();
      if (head === null) return null;
      const ev = this.#step(head);
      if (ev !== undefined) return ev;
    }
    return null;
  }

  #head(): Buffer | null {
    const first = this.#queue[0];
    if (first === undefined) return null;
    return this.#offset === 0 ? first : first.subarray(this.#offset);
  }

  #consume(n: number): void {
    this.#buffered -= n;
    this.#offset += n;
    const first = this.#queue[0];
    if (first !== undefined && this.#offset >= first.length) {
      this.#queue.shift();
      this.#offset = 0;
    }
  }

  /** Processes some of `head`; returns an event or undefined to go on. */
  #step(head: Buffer): ReaderEvent | undefined {
    const st = this.#state;
    switch (st.s) {
      case "line":
        return this.#stepLine(head);
      case "literal": {
        const take = Math.min(st.remaining, head.length);
        st.parts.push(head.subarray(0, take));
        st.remaining -= take;
        this.#consume(take);
        if (st.remaining > 0) return undefined;
        // one chunk: a view, no copy; several: one copy
        const data = st.parts.length === 1 ? (st.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(st.parts);
        this.#literals.push({ data, binary: st.binary, nonSync: st.nonSync });
        this.#state = { s: "line" };
        return undefined;
      }
      case "skipline": {
        const lf = head.indexOf(LF);
        const end = lf < 0 ? head.length : lf + 1;
        this.#skipTail = (this.#skipTail + head.toString("latin1", Math.max(0, end - 26), end)).slice(-26);
        this.#consume(end);
        if (lf < 0) return undefined;
        const tail = this.#skipTail.replace(/\r?\n$/, "");
        this.#skipTail = "";
        const m = MARKER.exec(tail);
        // a non-synchronizing literal follows even though the command was refused: skip it
        // too, else its bytes would be read as commands (RFC 7888 §4 on literal injection)
        if (m !== null && m[3] === "+") {
          const size = Number(m[2]);
          this.#discarded += size;
          if (this.#discarded > this.#limits.maxDiscard)
            return this.#fatal(null, "Too much refused literal data");
          this.#state = { s: "skipliteral", remaining: size };
        } else this.#state = { s: "line" };
        return undefined;
      }
      case "skipliteral": {
        const take = Math.min(st.remaining, head.length);
        st.remaining -= take;
        this.#consume(take);
        if (st.remaining === 0) this.#state = { s: "skipline" };
        return undefined;
      }
    }
  }

  #stepLine(head: Buffer): ReaderEvent | undefined {
    // RFC 9051 §2.2.1 garbage detection: the very first bytes of a session
    if (
      this.#commands === 0 &&
      this.#lineLength === 0 &&
      this.#lines.length === 0 &&
      !this.#expectLine &&
      !this.#client
    ) {
      const c = head[0] ?? 0;
      if ((c < 0x20 && c !== CR && c !== LF) || c > 0x7e) return this.#bye();
    }
    const lf = head.indexOf(LF);
    const end = lf < 0 ? head.length : lf;
    if (this.#lineLength + end > this.#limits.maxLineLength + 1) {
      // RFC 9051 §7.1.3 BAD; skip the rest of the line (and a literal it announces)
      const first = this.#lineParts[0] ?? head;
      const tag = this.#tag ?? (this.#lines.length === 0 ? tagOf(first) : null);
      this.#state = { s: "skipline" };
      this.#resetCommand();
      const wasLine = this.#expectLine;
      this.#expectLine = false;
      if (this.#commands === 0 && !wasLine && !this.#client && !looksLikeImap(first)) return this.#bye();
      this.#commands++;
      return {
        type: "error",
        tag,
        status: "BAD",
        code: "TOOBIG",
        text: "Command line too long",
        fatal: false,
      };
    }
    if (lf < 0) {
      this.#lineParts.push(head);
      this.#lineLength += head.length;
      this.#consume(head.length);
      return undefined;
    }
    let line: Buffer;
    const piece = head.subarray(0, lf);
    if (this.#lineParts.length === 0) line = piece;
    else {
      this.#lineParts.push(piece);
      line = Buffer.concat(this.#lineParts);
    }
    this.#lineParts = [];
    this.#lineLength = 0;
    this.#consume(lf + 1);
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    this.#size += line.length + 2;

    if (this.#expectLine) {
      this.#expectLine = false;
      this.#size = 0;
      return { type: "line", line };
    }
    if (this.#lines.length === 0) {
      if (line.length === 0) {
        // RFC 2683 §3.2.1: an empty line between commands is harmless; ignore it
        this.#size = 0;
        return undefined;
      }
      this.#tag = this.#client ? firstWord(line) : tagOf(line);
      this.#messageCommand = MESSAGE_COMMANDS.test(line.toString("latin1", 0, Math.min(line.length, 300)));
      if (this.#commands === 0 && !this.#client && !looksLikeImap(line)) return this.#bye();
    }
    const marker = markerOf(line);
    if (marker === null) {
      this.#lines.push(line);
      const command: RawCommand = {
        tag: this.#tag,
        lines: this.#lines,
        literals: this.#literals,
        size: this.#size,
      };
      this.#resetCommand();
      this.#commands++;
      this.#discarded = 0;
      return { type: "command", command };
    }
    this.#lines.push(line.subarray(0, line.length - marker.length));
    return this.#startLiteral(marker);
  }

  #startLiteral(m: { size: number; binary: boolean; nonSync: boolean }): ReaderEvent | undefined {
    const lim = this.#limits;
    const tag = this.#tag;
    let refuse: { status: "BAD" | "NO"; code: string | null; text: string } | null = null;
    if (this.#client) {
      if (m.size > lim.maxLiteralSize) return this.#fatal(tag, "Literal in a response too large");
      this.#size += m.size;
      this.#state = { s: "literal", remaining: m.size, parts: [], binary: m.binary, nonSync: m.nonSync };
      return undefined;
    }
    if (this.#literals.length >= lim.maxLiterals)
      refuse = { status: "BAD", code: "LIMIT", text: "Too many literals in one command" };
    else if (m.nonSync && lim.nonSyncLiterals === "none")
      refuse = { status: "BAD", code: null, text: "Non-synchronizing literals are not supported" };
    else if (m.nonSync && lim.nonSyncLiterals === "minus" && m.size > LITERAL_MINUS_MAX)
      // RFC 7888 §5: LITERAL- and a non-synchronizing literal over 4096 octets: BAD [TOOBIG]
      refuse = {
        status: "BAD",
        code: "TOOBIG",
        text: `Non-synchronizing literal over ${LITERAL_MINUS_MAX} octets`,
      };
    else if (m.size > (this.#messageCommand ? lim.maxLiteralSize : lim.maxArgLiteralSize)) {
      const max = this.#messageCommand ? lim.maxLiteralSize : lim.maxArgLiteralSize;
      refuse = { status: "NO", code: "TOOBIG", text: `Literal larger than the limit of ${max} octets` };
    } else if (this.#size + m.size > lim.maxCommandSize)
      refuse = { status: "NO", code: "TOOBIG", text: "Command too large" };
    if (refuse !== null) {
      this.#resetCommand();
      this.#commands++;
      if (m.nonSync) {
        // the client sends the bytes anyway: read and drop them, then the rest of the command
        this.#discarded += m.size;
        if (this.#discarded > lim.maxDiscard) return this.#fatal(tag, refuse.text);
        this.#state = { s: "skipliteral", remaining: m.size };
      } else this.#state = { s: "line" }; // RFC 9051 §7.5: the client does not send it
      return { type: "error", tag, ...refuse, fatal: false };
    }
    this.#size += m.size;
    this.#state = { s: "literal", remaining: m.size, parts: [], binary: m.binary, nonSync: m.nonSync };
    if (!m.nonSync) return { type: "continue", size: m.size };
    return undefined;
  }

  #resetCommand(): void {
    this.#lines = [];
    this.#literals = [];
    this.#lineParts = [];
    this.#lineLength = 0;
    this.#size = 0;
    this.#tag = null;
  }

  #bye(): ReaderEvent {
    this.#closed = true;
    this.discardBuffered();
    return { type: "bye", text: "This is an IMAP server" };
  }

  #fatal(tag: string | null, text: string): ReaderEvent {
    this.#closed = true;
    this.discardBuffered();
    return { type: "error", tag, status: "BAD", code: "TOOBIG", text, fatal: true };
  }
}
