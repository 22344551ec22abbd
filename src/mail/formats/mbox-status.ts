// The bookkeeping headers mail programs keep inside mbox messages, and the IMAP flags they
// stand for (RFC 9051 §2.3.2 system flags and keywords). Conventions, as written by:
//  - mutt, Pine, Dovecot: "Status: RO" (R read → \Seen; O old, i.e. not \Recent);
//    "X-Status: AFTD" (A answered, F flagged, T draft, D deleted).
//  - Dovecot: "X-Keywords: kw1 kw2", "X-UID: n", "X-IMAPbase: uidvalidity uidnext kw..." and
//    UW-IMAP's "X-IMAP:" in the first message.
//  - Thunderbird: "X-Mozilla-Status: 0001" (hex nsMsgMessageFlags: 0x1 read, 0x2 replied,
//    0x4 marked, 0x8 expunged, 0x1000 forwarded), "X-Mozilla-Status2: 00000000" (bits
//    0x0E000000 hold the old label 1-7 → $label1..$label7), "X-Mozilla-Keys: kw1 kw2".

const LF = 0x0a;

/** Header names (lower case) removed from imported messages and rewritten on export. */
export const BOOKKEEPING_HEADERS: ReadonlySet<string> = new Set([
  "status",
  "x-status",
  "x-keywords",
  "x-mozilla-status",
  "x-mozilla-status2",
  "x-mozilla-keys",
  "x-uid",
  "x-imap",
  "x-imapbase",
]);

/** RFC 9051 §9 flag-keyword = atom: no SP, CTL, "(", ")", "{", "%", "*", '"', "\", "]". */
const KEYWORD = /^[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/;

export function isKeyword(s: string): boolean {
  return KEYWORD.test(s);
}

/** A header field found in the header block: lower-cased name and its byte span. */
export interface HeaderSpan {
  name: string;
  /** First byte of the field. */
  start: number;
  /** First byte after the field's last line ending (start of the next field). */
  end: number;
  /** First byte after the colon. */
  valueStart: number;
}

/**
 * Where the header block ends (RFC 5322 §2.1: header fields, an empty line, the body): the
 * offset of the empty line's first byte. A message without an empty line is all header.
 */
export function headerEnd(raw: Buffer): number {
  if (raw[0] === LF || (raw[0] === 0x0d && raw[1] === LF)) return 0;
  const a = raw.indexOf("\n\n");
  const b = raw.indexOf("\n\r\n");
  if (a === -1 && b === -1) return raw.length;
  if (a === -1) return b + 1;
  if (b === -1) return a + 1;
  return Math.min(a, b) + 1;
}

/**
 * The fields of the header block raw[0, end): a field is a line plus its folded continuations.
 * With `wanted`, only the fields it accepts are returned (a huge header block then costs no
 * memory per line).
 */
export function headerSpans(raw: Buffer, end: number, wanted?: (name: string) => boolean): HeaderSpan[] {
  const spans: HeaderSpan[] = [];
  let pos = 0;
  let current: HeaderSpan | null = null;
  while (pos < end) {
    const nl = raw.indexOf(LF, pos);
    const next = nl === -1 || nl >= end ? end : nl + 1;
    const c = raw[pos];
    if ((c === 0x20 || c === 0x09) && current) {
      current.end = next; // RFC 5322 §2.2.3: a continuation line
    } else {
      const colon = raw.indexOf(0x3a, pos);
      const name =
        colon !== -1 && colon < next ? raw.toString("latin1", pos, colon).trimEnd().toLowerCase() : "";
      current = { name, start: pos, end: next, valueStart: colon !== -1 && colon < next ? colon + 1 : next };
      if (wanted === undefined || wanted(name)) spans.push(current);
    }
    pos = next;
  }
  return spans;
}

/** The unfolded, trimmed value of a field. */
export function spanValue(raw: Buffer, span: HeaderSpan): string {
  return raw
    .toString("latin1", span.valueStart, span.end)
    .replace(/\r?\n[ \t]/g, " ")
    .trim();
}

/** Bytes of raw without the given spans (which are in order and do not overlap). */
export function removeSpans(raw: Buffer, spans: readonly HeaderSpan[]): Buffer {
  if (spans.length === 0) return raw;
  const parts: Buffer[] = [];
  let from = 0;
  for (const s of spans) {
    parts.push(raw.subarray(from, s.start));
    from = s.end;
  }
  parts.push(raw.subarray(from));
  return Buffer.concat(parts);
}

const SYSTEM_ORDER = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];

/** Collects flags in a stable order: system flags first (fixed order), then keywords as met. */
export class FlagSet {
  readonly #system = new Set<string>();
  readonly #keywords = new Map<string, string>(); // lower-cased → as written (keywords are case-insensitive)
  add(flag: string): void {
    if (flag.startsWith("\\")) {
      const known = SYSTEM_ORDER.find((f) => f.toLowerCase() === flag.toLowerCase());
      if (known) this.#system.add(known);
    } else if (isKeyword(flag) && !this.#keywords.has(flag.toLowerCase())) {
      this.#keywords.set(flag.toLowerCase(), flag);
    }
  }
  list(): string[] {
    return [...SYSTEM_ORDER.filter((f) => this.#system.has(f)), ...this.#keywords.values()];
  }
}

/** Adds the flags one bookkeeping field stands for. */
export function addFlagsFromField(flags: FlagSet, name: string, value: string): void {
  switch (name) {
    case "status":
      if (value.includes("R")) flags.add("\\Seen");
      // "O" (old) only says the message is not \Recent, which an import never sets
      break;
    case "x-status":
      if (value.includes("A")) flags.add("\\Answered");
      if (value.includes("F")) flags.add("\\Flagged");
      if (value.includes("T")) flags.add("\\Draft");
      if (value.includes("D")) flags.add("\\Deleted");
      break;
    case "x-keywords":
    case "x-mozilla-keys":
      for (const k of value.split(/[\s,]+/)) if (k !== "") flags.add(k);
      break;
    case "x-mozilla-status": {
      const bits = /^[0-9a-f]{1,8}$/i.test(value) ? parseInt(value, 16) : 0;
      if (bits & 0x1) flags.add("\\Seen");
      if (bits & 0x2) flags.add("\\Answered");
      if (bits & 0x4) flags.add("\\Flagged");
      if (bits & 0x8) flags.add("\\Deleted"); // expunged but not yet compacted away
      if (bits & 0x1000) flags.add("$Forwarded");
      break;
    }
    case "x-mozilla-status2": {
      const bits = /^[0-9a-f]{1,8}$/i.test(value) ? parseInt(value, 16) : 0;
      const label = (bits & 0x0e000000) >>> 25;
      if (label > 0) flags.add(`$label${label}`);
      break;
    }
  }
}

/**
 * The bookkeeping header lines for a set of flags (each ending in `eol`): always a Status line
 * (RO when \Seen, else O), X-Status when any of \Answered \Flagged \Draft \Deleted is set,
 * X-Keywords (space-separated, as Dovecot writes it) for the keywords. \Recent is session
 * state (RFC 9051 §2.3.2) and is not written; other unknown system flags are dropped.
 */
export function statusHeaderLines(flags: readonly string[], eol: string): string {
  const sys = new Set<string>();
  const keywords: string[] = [];
  const seen = new Set<string>();
  for (const f of flags) {
    if (f.startsWith("\\")) sys.add(f.toLowerCase());
    else if (isKeyword(f) && !seen.has(f.toLowerCase())) {
      seen.add(f.toLowerCase());
      keywords.push(f);
    }
  }
  let out = `Status: ${sys.has("\\seen") ? "RO" : "O"}${eol}`;
  let x = "";
  if (sys.has("\\answered")) x += "A";
  if (sys.has("\\deleted")) x += "D";
  if (sys.has("\\flagged")) x += "F";
  if (sys.has("\\draft")) x += "T";
  if (x !== "") out += `X-Status: ${x}${eol}`;
  if (keywords.length > 0) out += `X-Keywords: ${keywords.join(" ")}${eol}`;
  return out;
}
