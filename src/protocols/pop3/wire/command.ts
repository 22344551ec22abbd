// The POP3 command parser: one CRLF-terminated line (without its CRLF) to a typed command.
// Pure: no store, no sockets; our own test clients and the property tests use it as is.
//
// RFC 1939 §3: "Commands in the POP3 consist of a case-insensitive keyword, possibly followed
// by one or more arguments. All commands are terminated by a CRLF pair. Keywords and
// arguments consist of printable ASCII characters. Keywords and arguments are each separated
// by a single SPACE character. Keywords are three or four characters long. Each argument may
// be up to 40 characters long."
// RFC 2449 §4: the command line, CRLF included, is at most 255 octets (MAX_COMMAND_LINE);
// arguments of extension commands may be longer than 40 characters (we do not enforce 40).
// RFC 6856 §2: after UTF8 (and for user names with the "UTF8 USER" capability) arguments of
// USER, PASS and APOP are UTF-8; we accept well-formed UTF-8 there always and refuse
// malformed bytes with the [UTF8] response code.
// RFC 6856 §3 LANG [lang-range]: no argument lists the languages; the argument is a basic
// language range (RFC 4647 §2.1: 1*8ALPHA *("-" 1*8alphanum)) or "*" for the default.

/** RFC 2449 §4: 255 octets including CRLF. */
export const MAX_COMMAND_LINE = 255;
/**
 * RFC 5034 §4: a SASL response line may be longer than a command line; we take what the
 * shared SASL module accepts (16 KiB decoded) in base64, plus some slack.
 */
export const MAX_AUTH_LINE = 24 * 1024;
/** Message numbers above this are refused as malformed (no maildrop is that large). */
export const MAX_MESSAGE_NUMBER = 999_999_999;

export type Pop3Command =
  | { name: "USER"; user: string }
  | { name: "PASS"; password: string }
  | { name: "APOP"; user: string; digest: string }
  | { name: "AUTH"; mechanism?: string; initialResponse?: string }
  | { name: "CAPA" }
  | { name: "STLS" }
  | { name: "UTF8" }
  | { name: "LANG"; range?: string }
  | { name: "STAT" }
  | { name: "LIST"; msg?: number }
  | { name: "UIDL"; msg?: number }
  | { name: "RETR"; msg: number }
  | { name: "DELE"; msg: number }
  | { name: "TOP"; msg: number; lines: number }
  | { name: "NOOP" }
  | { name: "RSET" }
  | { name: "QUIT" };

export type Pop3CommandName = Pop3Command["name"];

export const COMMAND_NAMES: readonly Pop3CommandName[] = [
  "USER",
  "PASS",
  "APOP",
  "AUTH",
  "CAPA",
  "STLS",
  "UTF8",
  "LANG",
  "STAT",
  "LIST",
  "UIDL",
  "RETR",
  "DELE",
  "TOP",
  "NOOP",
  "RSET",
  "QUIT",
];

/** Why a line is not a command: the session answers "-ERR" (with `code` when set). */
export interface ParseFailure {
  error: string;
  /** Known keyword with bad arguments (counts like any error, but the name helps logs). */
  keyword?: Pop3CommandName;
  /** RFC 6856 [UTF8]: malformed UTF-8 in a string argument. */
  code?: "UTF8";
}

export type ParseResult = { ok: true; command: Pop3Command } | ({ ok: false } & ParseFailure);

const KNOWN = new Set<string>(COMMAND_NAMES);
const DIGITS = /^[0-9]{1,9}$/;
/** RFC 4647 §2.1 basic language range, or "*". */
const LANG_RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail(error: string, keyword?: Pop3CommandName, code?: "UTF8"): ParseResult {
  const r: { ok: false } & ParseFailure = { ok: false, error };
  if (keyword !== undefined) r.keyword = keyword;
  if (code !== undefined) r.code = code;
  return r;
}

/** A message number: 1..MAX_MESSAGE_NUMBER in decimal, no sign (RFC 1939 §5 "msg"). */
function msgNumber(s: string): number | null {
  if (!DIGITS.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= MAX_MESSAGE_NUMBER ? n : null;
}

/** RFC 1939 §7 TOP: "n" is a non-negative number of lines. */
function lineCount(s: string): number | null {
  if (!DIGITS.test(s)) return null;
  return Number(s);
}

function decodeUtf8(b: Buffer): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Parses one command line (CRLF already removed). Never throws; unknown keywords and bad
 * arguments give `{ ok: false, error }`.
 */
export function parseCommand(line: Buffer): ParseResult {
  if (line.length === 0) return fail("empty command");
  if (line.length > MAX_COMMAND_LINE - 2) return fail("command line too long");
  const sp = line.indexOf(0x20);
  const kwBytes = sp < 0 ? line : line.subarray(0, sp);
  const keyword = kwBytes.toString("latin1").toUpperCase();
  if (!KNOWN.has(keyword)) {
    return fail(/^[A-Z0-9-]{1,16}$/.test(keyword) ? `unknown command ${keyword}` : "unknown command");
  }
  const name = keyword as Pop3CommandName;
  const rest = sp < 0 ? null : line.subarray(sp + 1);

  // RFC 1939 §7 PASS / RFC 6856 §2: the password is the whole rest of the line, spaces kept
  // (RFC 1939 §7: "the server may treat the entire remainder of the line as the password").
  if (name === "PASS") {
    if (rest === null || rest.length === 0) return fail("PASS needs a password", name);
    const password = decodeUtf8(rest);
    if (password === null) return fail("password is not valid UTF-8", name, "UTF8");
    if (hasControl(password)) return fail("control characters in the password", name);
    return { ok: true, command: { name, password } };
  }
  const argText = rest === null ? "" : rest.toString("latin1");
  const args = rest === null ? [] : argText.split(" ");
  if (args.some((a) => a.length === 0)) return fail("arguments are separated by one space", name);
  if (name !== "USER" && name !== "APOP" && args.some((a) => hasControl(a) || /[^\x21-\x7e]/.test(a))) {
    return fail("arguments must be printable ASCII", name);
  }
  const count = (min: number, max: number): boolean => args.length >= min && args.length <= max;

  switch (name) {
    case "USER": {
      if (rest === null || !count(1, 1)) return fail("USER needs one user name", name);
      const user = decodeUtf8(rest);
      if (user === null) return fail("user name is not valid UTF-8", name, "UTF8");
      if (hasControl(user)) return fail("control characters in the user name", name);
      return { ok: true, command: { name, user } };
    }
    case "APOP": {
      if (rest === null || !count(2, 2)) return fail("APOP needs a name and a digest", name);
      const user = decodeUtf8(rest.subarray(0, rest.lastIndexOf(0x20)));
      if (user === null) return fail("user name is not valid UTF-8", name, "UTF8");
      const digest = args[1] ?? "";
      if (!/^[0-9a-fA-F]{32}$/.test(digest)) return fail("APOP digest must be 32 hex digits", name);
      return { ok: true, command: { name, user, digest: digest.toLowerCase() } };
    }
    case "AUTH": {
      // RFC 5034 §4: AUTH mechanism [initial-response]; a bare AUTH lists the mechanisms
      // (a common client probe, answered like Dovecot and Cyrus do).
      if (!count(0, 2)) return fail("AUTH takes a mechanism and an optional initial response", name);
      const [mechanism, initialResponse] = args;
      if (mechanism === undefined) return { ok: true, command: { name } };
      if (!/^[A-Za-z0-9_-]{1,20}$/.test(mechanism)) return fail("bad SASL mechanism name", name);
      if (
        initialResponse !== undefined &&
        initialResponse !== "=" &&
        !/^[A-Za-z0-9+/]*={0,2}$/.test(initialResponse)
      ) {
        return fail("initial response is not base64", name);
      }
      const cmd: Pop3Command = { name, mechanism: mechanism.toUpperCase() };
      if (initialResponse !== undefined) cmd.initialResponse = initialResponse;
      return { ok: true, command: cmd };
    }
    case "LANG": {
      if (!count(0, 1)) return fail("LANG takes at most one language range", name);
      const range = args[0];
      if (range === undefined) return { ok: true, command: { name } };
      if (!LANG_RANGE.test(range)) return fail("invalid language range", name);
      return { ok: true, command: { name, range } };
    }
    case "LIST":
    case "UIDL": {
      if (!count(0, 1)) return fail(`${name} takes at most one message number`, name);
      if (args[0] === undefined) return { ok: true, command: { name } };
      const msg = msgNumber(args[0]);
      if (msg === null) return fail("invalid message number", name);
      return { ok: true, command: { name, msg } };
    }
    case "RETR":
    case "DELE": {
      if (!count(1, 1)) return fail(`${name} needs one message number`, name);
      const msg = msgNumber(args[0] ?? "");
      if (msg === null) return fail("invalid message number", name);
      return { ok: true, command: { name, msg } };
    }
    case "TOP": {
      if (!count(2, 2)) return fail("TOP needs a message number and a line count", name);
      const msg = msgNumber(args[0] ?? "");
      if (msg === null) return fail("invalid message number", name);
      const lines = lineCount(args[1] ?? "");
      if (lines === null) return fail("invalid line count", name);
      return { ok: true, command: { name, msg, lines } };
    }
    case "CAPA":
    case "STLS":
    case "UTF8":
    case "STAT":
    case "NOOP":
    case "RSET":
    case "QUIT":
      if (args.length !== 0) return fail(`${name} takes no arguments`, name);
      return { ok: true, command: { name } };
  }
  return fail("unknown command");
}

/**
 * RFC 5034 §4: a client line during an AUTH exchange: "*" cancels, anything else must be
 * base64 ("" and "=" are an empty response).
 */
export type AuthLine = { type: "cancel" } | { type: "data"; data: Buffer } | { type: "invalid" };

export function parseAuthLine(line: Buffer): AuthLine {
  if (line.length === 1 && line[0] === 0x2a) return { type: "cancel" };
  const s = line.toString("latin1");
  if (s === "" || s === "=") return { type: "data", data: Buffer.alloc(0) };
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return { type: "invalid" };
  return { type: "data", data: Buffer.from(s, "base64") };
}

/** Decodes an AUTH initial response ("=" is an empty one, RFC 5034 §4). Null if malformed. */
export function decodeInitialResponse(ir: string): Buffer | null {
  if (ir === "=") return Buffer.alloc(0);
  if (ir.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(ir)) return null;
  return Buffer.from(ir, "base64");
}
