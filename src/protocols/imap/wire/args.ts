// The argument reader the per-command parsers share: the tokens of RFC 9051 §4 and §9 (atom,
// number, quoted string, literal, astring, nstring, parenthesized list, flag, sequence set,
// date, date-time, mailbox) read from a RawCommand. Parsers throw ParseError; parseCommand
// (parser.ts) catches it and returns it as the BAD reply's text.
import { isUtf8 } from "node:buffer";
import { decodeMailboxName, Utf7Error } from "../../../mail/utf7.ts";
import { parseImapDateTimeZone } from "../../../mail/date.ts";
import type { Literal, RawCommand } from "./reader.ts";
import type { SequenceSet } from "./sequence-set.ts";
import { MAX_NUMBER, parseSequenceSet } from "./sequence-set.ts";

/** RFC 7162 §7: mod-sequences are positive 63-bit integers. */
const MAX_MODSEQ = 2n ** 63n - 1n;

/** A syntax error: the server answers `tag BAD [code] message`. */
export class ParseError extends Error {
  /** A response code for the BAD/NO reply (e.g. "CLIENTBUG", "TOOBIG"), or null. */
  readonly code: string | null;
  constructor(message: string, code: string | null = null) {
    super(message);
    this.name = "ParseError";
    this.code = code;
  }
}

/** Options that change how arguments read. */
export interface ParseOptions {
  /**
   * UTF8=ACCEPT enabled (RFC 6855 §3) or IMAP4rev2 (RFC 9051 §5.1): mailbox names are UTF-8
   * as sent; otherwise they are modified UTF-7 (RFC 3501 §5.1.3) and decoded here.
   */
  utf8: boolean;
  /** Deepest nesting of parentheses (search keys, fetch lists). */
  maxDepth: number;
  /** Most search keys in one SEARCH. */
  maxSearchKeys: number;
}

export const DEFAULT_PARSE_OPTIONS: ParseOptions = { utf8: false, maxDepth: 32, maxSearchKeys: 1000 };

/** RFC 9051 §9 date (SEARCH): the day as written, no zone. */
export interface ImapDay {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

// RFC 9051 §9 ATOM-CHAR: any CHAR except atom-specials ( "(" ")" "{" SP CTL list-wildcards
// quoted-specials resp-specials ). ASTRING-CHAR adds "]"; list-char adds "%" "*" and "]".
const ATOM = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) ATOM[c] = 1;
for (const c of '(){%*"\\]') ATOM[c.charCodeAt(0)] = 0;
const ASTRING = ATOM.slice();
ASTRING[0x5d] = 1;
const LIST_CHAR = ASTRING.slice();
LIST_CHAR[0x25] = 1;
LIST_CHAR[0x2a] = 1;
// letters, digits, "." and "-": fetch attribute and section names ("BODY.PEEK", "1.HEADER")
const WORD = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") WORD[c.charCodeAt(0)] = 1;
const DIGIT = new Uint8Array(256);
for (const c of "0123456789") DIGIT[c.charCodeAt(0)] = 1;
// sequence-set characters
const SEQ = new Uint8Array(256);
for (const c of "0123456789:,*$") SEQ[c.charCodeAt(0)] = 1;

export class ArgReader {
  readonly options: ParseOptions;
  readonly #lines: Buffer[];
  readonly #literals: Literal[];
  #li = 0;
  #pos = 0;
  #depth = 0;

  constructor(command: RawCommand, options: Partial<ParseOptions> = {}) {
    this.options = { ...DEFAULT_PARSE_OPTIONS, ...options };
    this.#lines = command.lines;
    this.#literals = command.literals;
  }

  /** Throws a ParseError. */
  fail(message: string, code: string | null = null): never {
    throw new ParseError(message, code);
  }

  get #line(): Buffer {
    return this.#lines[this.#li] ?? Buffer.alloc(0);
  }

  /** The next byte, -1 at the end of the text (a literal may follow: see atLiteral). */
  peek(): number {
    return this.#line[this.#pos] ?? -1;
  }

  /** The byte `ahead` positions on in the current text line, -1 past its end. */
  peekAt(ahead: number): number {
    return this.#line[this.#pos + ahead] ?? -1;
  }

  /** True when the text ahead starts with `s` (ASCII, case-insensitive). */
  lookingAt(s: string): boolean {
    const line = this.#line;
    if (this.#pos + s.length > line.length) return false;
    return line.toString("latin1", this.#pos, this.#pos + s.length).toUpperCase() === s.toUpperCase();
  }

  /** True when the next token is a literal. */
  atLiteral(): boolean {
    return this.#pos >= this.#line.length && this.#li < this.#literals.length;
  }

  /** True at the end of the command. */
  atEnd(): boolean {
    return this.#pos >= this.#line.length && this.#li >= this.#literals.length;
  }

  /** Requires the end of the command. */
  end(): void {
    if (!this.atEnd())
      this.fail(
        this.peek() === 0x20 ? "Extra space or arguments at the end" : "Unexpected characters at the end",
      );
  }

  /** Skips `n` bytes of the current text line (the tag and its SP). */
  skip(n: number): void {
    this.#pos = Math.min(this.#line.length, this.#pos + n);
  }

  /** Reads one SP. */
  sp(): void {
    if (this.peek() !== 0x20) this.fail(this.atEnd() ? "Missing arguments" : "Expected a space");
    this.#pos++;
  }

  /** Reads one SP when there is one. */
  trySp(): boolean {
    if (this.peek() !== 0x20) return false;
    this.#pos++;
    return true;
  }

  /** Reads the character `c` when it is next. */
  tryChar(c: string): boolean {
    if (this.peek() !== c.charCodeAt(0)) return false;
    this.#pos++;
    return true;
  }

  expectChar(c: string): void {
    if (!this.tryChar(c)) this.fail(`Expected "${c}"`);
  }

  /** "(" with the nesting limit. */
  open(): void {
    this.expectChar("(");
    if (++this.#depth > this.options.maxDepth) this.fail("Too deeply nested", "LIMIT");
  }

  tryOpen(): boolean {
    if (this.peek() !== 0x28) return false;
    this.open();
    return true;
  }

  close(): void {
    this.expectChar(")");
    this.#depth--;
  }

  tryClose(): boolean {
    if (this.peek() !== 0x29) return false;
    this.close();
    return true;
  }

  #run(table: Uint8Array): string {
    const line = this.#line;
    const start = this.#pos;
    let i = start;
    while (i < line.length && table[line[i] ?? 0] === 1) i++;
    this.#pos = i;
    return line.toString("latin1", start, i);
  }

  /** RFC 9051 §9 atom. */
  atom(what = "an atom"): string {
    const s = this.#run(ATOM);
    if (s.length === 0) this.fail(`Expected ${what}`);
    return s;
  }

  /** An atom, upper-cased (command names, keywords). */
  keyword(what = "a keyword"): string {
    return this.atom(what).toUpperCase();
  }

  /** Letters, digits, "." and "-", upper-cased: "BODY.PEEK" before its "[", "1.2.MIME". */
  word(what = "a name"): string {
    const s = this.#run(WORD);
    if (s.length === 0) this.fail(`Expected ${what}`);
    return s.toUpperCase();
  }

  /** RFC 9051 §9 number (32-bit). */
  number(what = "a number"): number {
    const s = this.#run(DIGIT);
    if (!/^[0-9]{1,10}$/.test(s)) this.fail(`Expected ${what}`);
    const n = Number(s);
    if (n > MAX_NUMBER) this.fail(`${what} out of range`);
    return n;
  }

  /** RFC 9051 §9 nz-number. */
  nzNumber(what = "a non-zero number"): number {
    const n = this.number(what);
    if (n === 0) this.fail(`Expected ${what}`);
    return n;
  }

  /**
   * RFC 7162 §7 mod-sequence-value (1*DIGIT, up to 2^63-1). Kept as a JS number: a value
   * above 2^53-1 becomes 2^53-1, which gives the exact answer, since the store's mod-
   * sequences (counters from 1) never get near it; above 2^63-1 is refused.
   */
  number64(what = "a mod-sequence"): number {
    const s = this.#run(DIGIT);
    if (!/^[0-9]{1,19}$/.test(s)) this.fail(`Expected ${what}`);
    const n = Number(s);
    if (Number.isSafeInteger(n)) return n;
    if (BigInt(s) > MAX_MODSEQ) this.fail(`${what} out of range`);
    return Number.MAX_SAFE_INTEGER;
  }

  /** RFC 9051 §4.3 quoted string, raw bytes between the quotes with escapes removed. */
  #quoted(): Buffer {
    const line = this.#line;
    let i = this.#pos + 1;
    let start = i;
    const parts: Buffer[] = [];
    for (;;) {
      const c = line[i];
      if (c === undefined) this.fail("Unterminated quoted string");
      if (c === 0x22) break;
      if (c === 0x5c) {
        const n = line[i + 1];
        // RFC 9051 §9 quoted-specials: only "\" and DQUOTE may be escaped
        if (n !== 0x22 && n !== 0x5c) this.fail("Bad escape in quoted string");
        parts.push(line.subarray(start, i));
        start = i + 1;
        i += 2;
        continue;
      }
      if (c === 0x0d || c === 0x0a || c === 0) this.fail("Bad character in quoted string");
      i++;
    }
    parts.push(line.subarray(start, i));
    this.#pos = i + 1;
    return parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
  }

  /** The next literal. */
  literal(): Literal {
    if (!this.atLiteral()) this.fail("Expected a literal");
    const lit = this.#literals[this.#li];
    if (lit === undefined) this.fail("Expected a literal");
    this.#li++;
    this.#pos = 0;
    return lit;
  }

  /** RFC 9051 §9 string (quoted or literal) as bytes. literal8 only when `binary` is allowed. */
  stringBytes(binary = false): Buffer {
    if (this.peek() === 0x22) return this.#quoted();
    if (this.atLiteral()) {
      const lit = this.literal();
      if (lit.binary && !binary) this.fail("literal8 is not allowed here");
      // RFC 9051 §9 CHAR8: no NUL in a non-binary literal
      if (!lit.binary && lit.data.includes(0)) this.fail("NUL in a literal");
      return lit.data;
    }
    return this.fail("Expected a string");
  }

  /** RFC 9051 §9 string, decoded as UTF-8; invalid UTF-8 is a syntax error (RFC 9051 §4.3). */
  string(): string {
    const b = this.stringBytes();
    if (!isUtf8(b)) this.fail("Invalid UTF-8 in a string");
    return b.toString("utf8");
  }

  /** RFC 9051 §9 astring: an atom (with "]") or a string. */
  astring(what = "a string"): string {
    const c = this.peek();
    if (c === 0x22 || this.atLiteral()) return this.string();
    const s = this.#run(ASTRING);
    if (s.length === 0) this.fail(`Expected ${what}`);
    return s;
  }

  /**
   * An atom as servers send them in data: may hold a bracketed section with spaces and
   * parentheses and a partial origin ("BODY[HEADER.FIELDS (DATE)]<0>", "BINARY.SIZE[1]").
   */
  sectionAtom(what = "an atom"): string {
    let s = this.#run(ATOM);
    const line = this.#line;
    // "[" is an ATOM-CHAR and "]" is not: the run stops inside an open section
    if (s.includes("[")) {
      const close = line.indexOf(0x5d, this.#pos);
      if (close < 0) this.fail("Unterminated section");
      s += line.toString("latin1", this.#pos, close + 1);
      this.#pos = close + 1;
      s += this.#run(ATOM);
    }
    if (s.length === 0) this.fail(`Expected ${what}`);
    return s;
  }

  /** True when the text ahead is at the end of its line (a literal or the end may follow). */
  atLineEnd(): boolean {
    return this.#pos >= this.#line.length;
  }

  /** The rest of the current text line, consumed (resp-text). */
  rest(): string {
    const line = this.#line;
    const s = line.toString("utf8", this.#pos);
    this.#pos = line.length;
    return s;
  }

  /** RFC 9051 §9 astring as bytes (SEARCH decodes them in the CHARSET it was given). */
  astringBytes(what = "a string"): Buffer {
    if (this.peek() === 0x22 || this.atLiteral()) return this.stringBytes();
    const s = this.#run(ASTRING);
    if (s.length === 0) this.fail(`Expected ${what}`);
    return Buffer.from(s, "latin1");
  }

  /** RFC 9051 §9 nstring: a string or NIL (null). */
  nstring(): string | null {
    if (this.peek() === 0x22 || this.atLiteral()) return this.string();
    const a = this.atom("a string or NIL");
    if (a.toUpperCase() !== "NIL") this.fail("Expected a string or NIL");
    return null;
  }

  /** Decodes a mailbox name per mode; INBOX in any case is INBOX (RFC 9051 §5.1). */
  #mailboxName(raw: string): string {
    if (raw.toUpperCase() === "INBOX") return "INBOX";
    if (this.options.utf8) return raw;
    try {
      return decodeMailboxName(raw);
    } catch (e) {
      if (e instanceof Utf7Error) this.fail(`Mailbox name is not valid modified UTF-7: ${e.message}`);
      throw e;
    }
  }

  /** RFC 9051 §9 mailbox = "INBOX" / astring, decoded to Unicode. */
  mailbox(): string {
    const raw = this.astring("a mailbox name");
    return this.#mailboxName(raw);
  }

  /** RFC 9051 §9 list-mailbox = 1*list-char / string (a LIST pattern, "%" and "*" kept). */
  listMailbox(): string {
    const isString = this.peek() === 0x22 || this.atLiteral();
    const raw = isString ? this.string() : this.#run(LIST_CHAR);
    if (raw.length === 0 && !isString) this.fail("Expected a mailbox pattern");
    if (this.options.utf8) return raw;
    try {
      return decodeMailboxName(raw);
    } catch {
      return raw; // a pattern may cut a name anywhere; match it as sent
    }
  }

  /** RFC 9051 §9 flag: "\" atom (system flag, case kept as sent) or a keyword atom. */
  flag(): string {
    if (this.tryChar("\\")) {
      if (this.tryChar("*")) return "\\*";
      return "\\" + this.atom("a flag");
    }
    return this.atom("a flag");
  }

  /** RFC 9051 §9 flag-list = "(" [flag *(SP flag)] ")". */
  flagList(): string[] {
    this.open();
    const flags: string[] = [];
    if (!this.tryClose()) {
      for (;;) {
        const f = this.flag();
        if (f === "\\*") this.fail("\\* is not a flag");
        flags.push(f);
        if (this.tryClose()) break;
        this.sp();
      }
    }
    return flags;
  }

  /** RFC 9051 §9 sequence-set, or "$" (RFC 5182). */
  sequenceSet(): SequenceSet {
    const s = this.#run(SEQ);
    const set = parseSequenceSet(s);
    if (set === null) this.fail(s.length === 0 ? "Expected a sequence set" : `Invalid sequence set "${s}"`);
    return set;
  }

  /** True when the next token looks like a sequence set. */
  atSequenceSet(): boolean {
    const c = this.peek();
    return (c >= 0x30 && c <= 0x39) || c === 0x2a || c === 0x24;
  }

  /** RFC 9051 §9 date = date-text / DQUOTE date-text DQUOTE; date-text = d-Mon-yyyy. */
  date(): ImapDay {
    const quoted = this.tryChar('"');
    const s = quoted ? this.#until(0x22) : this.#run(ATOM);
    if (quoted) this.expectChar('"');
    const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(s);
    const month = m === null ? -1 : MONTHS.indexOf((m[2] ?? "").toLowerCase());
    if (m === null || month < 0) return this.fail(`Invalid date "${s}"`);
    const day = Number(m[1]);
    if (day < 1 || day > 31) this.fail(`Invalid date "${s}"`);
    return { year: Number(m[3]), month: month + 1, day };
  }

  /** RFC 9051 §9 date-time = DQUOTE date-day-fixed "-" month "-" year SP time SP zone DQUOTE. */
  /** A quoted date-time (RFC 9051 §9): the instant and its zone, minutes east of UTC. */
  dateTime(): { ms: number; tz: number } {
    if (!this.tryChar('"')) this.fail("Expected a quoted date-time");
    const s = this.#until(0x22);
    this.expectChar('"');
    const d = parseImapDateTimeZone(s);
    if (d === null) this.fail(`Invalid date-time "${s}"`);
    return d;
  }

  #until(c: number): string {
    const line = this.#line;
    const start = this.#pos;
    let i = start;
    while (i < line.length && line[i] !== c && i - start < 100) i++;
    this.#pos = i;
    return line.toString("latin1", start, i);
  }
}
