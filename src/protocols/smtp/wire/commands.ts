// SMTP command-line parser (RFC 5321 §4.1.1, §4.1.2) with the commands of LMTP (RFC 2033),
// CHUNKING (RFC 3030), STARTTLS (RFC 3207) and AUTH (RFC 4954). It returns a typed command, or
// the reply the server should give; it never throws. The client side serializes with
// formatCommand().

import type { AddressLiteral, SmtpAddress } from "./path.ts";
import { formatPath, isDomain, parseAddressLiteral, parsePath } from "./path.ts";
import type { MailParams, RawParam, RcptParams } from "./params.ts";
import { parseMailParams, parseRcptParams, splitParams } from "./params.ts";
import type { Reply, ReplyName } from "./replies.ts";
import { reply } from "./replies.ts";
import { decodeUtf8Strict } from "./xtext.ts";

/** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included. */
export const DEFAULT_MAX_LINE_LENGTH = 512;

/**
 * RFC 4954 §4: servers accept client responses in an AUTH exchange of at least 12288 octets
 * (the AUTH command line itself keeps the SMTP limit).
 */
export const AUTH_MAX_LINE_LENGTH = 12288;

export type Verb =
  | "HELO"
  | "EHLO"
  | "LHLO"
  | "MAIL"
  | "RCPT"
  | "DATA"
  | "BDAT"
  | "RSET"
  | "VRFY"
  | "EXPN"
  | "HELP"
  | "NOOP"
  | "QUIT"
  | "STARTTLS"
  | "AUTH";

export const VERBS: readonly Verb[] = [
  "HELO",
  "EHLO",
  "LHLO",
  "MAIL",
  "RCPT",
  "DATA",
  "BDAT",
  "RSET",
  "VRFY",
  "EXPN",
  "HELP",
  "NOOP",
  "QUIT",
  "STARTTLS",
  "AUTH",
];

export interface HelloCommand {
  verb: "HELO" | "EHLO" | "LHLO";
  /** The argument as written: a domain, an address literal with brackets, or what the client sent. */
  domain: string;
  /** Set when the argument is an address literal (RFC 5321 §4.1.3). */
  literal?: AddressLiteral;
  /**
   * True when the argument is a syntactically valid Domain or address literal (RFC 5321
   * §4.1.1.1). Many clients send junk here; refusing it is a policy decision, not a parse error.
   */
  valid: boolean;
}

export interface MailCommand {
  verb: "MAIL";
  /** The reverse path; null for the null reverse path `<>`. */
  from: SmtpAddress | null;
  params: MailParams;
  rawParams: RawParam[];
}

export interface RcptCommand {
  verb: "RCPT";
  /** The forward path; domain "" for the bare `<Postmaster>` (RFC 5321 §4.1.1.3). */
  to: SmtpAddress;
  params: RcptParams;
  rawParams: RawParam[];
}

export interface BdatCommand {
  verb: "BDAT";
  /** RFC 3030 §2: the chunk size in octets. */
  size: number;
  last: boolean;
}

export interface AuthCommand {
  verb: "AUTH";
  /** SASL mechanism name, upper-cased (RFC 4422 §3.1). */
  mechanism: string;
  /** RFC 4954 §4: decoded initial response; empty for "="; undefined when none was given. */
  initialResponse?: Buffer;
}

export interface ArgCommand {
  verb: "VRFY" | "EXPN" | "HELP" | "NOOP";
  /** The argument text; "" when none (HELP and NOOP only). */
  arg: string;
}

export interface BareCommand {
  verb: "DATA" | "RSET" | "QUIT" | "STARTTLS";
}

export type Command =
  HelloCommand | MailCommand | RcptCommand | BdatCommand | AuthCommand | ArgCommand | BareCommand;

export type CommandErrorKind =
  | "line-too-long"
  | "bare-line-end"
  | "syntax"
  | "unknown-command"
  | "bad-arguments"
  | "bad-path"
  | "utf8-not-permitted"
  | "unknown-param"
  | "bad-param";

export interface CommandError {
  ok: false;
  /** The verb when it was recognised. */
  verb: Verb | null;
  kind: CommandErrorKind;
  /** What the server answers. */
  reply: Reply;
  /**
   * The connection cannot go on (a BDAT whose size is unreadable: the framing is lost, RFC 3030
   * §2); the server answers and closes.
   */
  close?: boolean;
}

export type CommandResult = { ok: true; command: Command } | CommandError;

export interface ParseOptions {
  /** LMTP (RFC 2033 §4.1): LHLO instead of HELO/EHLO. */
  lmtp?: boolean;
  /** SMTPUTF8 is advertised (RFC 6531): the SMTPUTF8 MAIL parameter is accepted. */
  smtputf8Allowed?: boolean;
  /** This transaction's MAIL carried SMTPUTF8: RCPT paths and values may be UTF-8. */
  utf8Transaction?: boolean;
  /** Longest command line in octets, CRLF included; default 512 (RFC 5321 §4.5.3.1.4). */
  maxLineLength?: number;
  /** MAIL/RCPT parameter names accepted (advertised); default every known one. See params.ts. */
  allowedParams?: ReadonlySet<string>;
}

function err(verb: Verb | null, kind: CommandErrorKind, name: ReplyName, text?: string): CommandError {
  return { ok: false, verb, kind, reply: reply(name, text) };
}

function isVerb(s: string): s is Verb {
  return (VERBS as readonly string[]).includes(s);
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Parses one command line (with or without its final CRLF). Never throws: bad input gives a
 * CommandError carrying the reply to send.
 */
export function parseCommand(line: Buffer | string, opts: ParseOptions = {}): CommandResult {
  const max = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  let text: string;
  if (typeof line === "string") {
    text = line;
  } else {
    let n = line.length;
    if (n >= 2 && line[n - 2] === 13 && line[n - 1] === 10) n -= 2;
    if (n + 2 > max) return err(null, "line-too-long", "LINE_TOO_LONG");
    const d = decodeUtf8Strict(line.subarray(0, n));
    if (d === null) return err(null, "syntax", "SYNTAX", "Invalid UTF-8 in command");
    text = d;
  }
  if (text.endsWith("\r\n")) text = text.slice(0, -2);
  if (Buffer.byteLength(text, "utf8") + 2 > max) return err(null, "line-too-long", "LINE_TOO_LONG");
  // RFC 5321 §2.3.8: CR and LF only as the CRLF line end.
  if (text.includes("\r") || text.includes("\n")) return err(null, "bare-line-end", "BARE_LINE_END");
  if (text.includes("\0")) return err(null, "syntax", "SYNTAX", "NUL in command");
  // Trailing white space is tolerated (many clients send it).
  text = text.replace(/[ \t]+$/, "");
  const sp = text.indexOf(" ");
  const word = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  const rest = sp < 0 ? "" : text.slice(sp + 1).replace(/^ +/, "");
  if (!isVerb(word)) return err(null, "unknown-command", "UNKNOWN_COMMAND");
  const verb = word;
  const lmtp = opts.lmtp === true;
  switch (verb) {
    case "HELO":
    case "EHLO":
    case "LHLO":
      // RFC 2033 §4.1: LMTP uses LHLO; HELO and EHLO are not LMTP commands (and LHLO not SMTP).
      if ((verb === "LHLO") !== lmtp) return err(null, "unknown-command", "UNKNOWN_COMMAND");
      return parseHello(verb, rest);
    case "MAIL":
      return parseMail(rest, opts);
    case "RCPT":
      return parseRcpt(rest, opts);
    case "BDAT":
      return parseBdat(rest);
    case "AUTH":
      return parseAuth(rest);
    case "VRFY":
    case "EXPN":
      // RFC 5321 §4.1.1.6, §4.1.1.7: "VRFY" SP String.
      if (rest === "") return err(verb, "bad-arguments", "PARAM_SYNTAX", `${verb} needs an argument`);
      return { ok: true, command: { verb, arg: rest } };
    case "HELP":
    case "NOOP":
      // RFC 5321 §4.1.1.8, §4.1.1.9: an optional String.
      return { ok: true, command: { verb, arg: rest } };
    case "DATA":
    case "RSET":
    case "QUIT":
    case "STARTTLS":
      // RFC 5321 §4.1.1.4, §4.1.1.5, §4.1.1.10; RFC 3207 §4: no arguments.
      if (rest !== "") return err(verb, "bad-arguments", "PARAM_SYNTAX", `${verb} takes no arguments`);
      return { ok: true, command: { verb } };
  }
}

function parseHello(verb: "HELO" | "EHLO" | "LHLO", rest: string): CommandResult {
  // RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal ); "HELO" SP Domain.
  if (rest === "")
    return err(verb, "bad-arguments", "PARAM_SYNTAX", `${verb} needs a domain or address literal`);
  if (/[^\x21-\x7e]/.test(rest)) return err(verb, "bad-arguments", "PARAM_SYNTAX", `Bad ${verb} argument`);
  if (rest.startsWith("[") && rest.endsWith("]")) {
    const literal = parseAddressLiteral(rest.slice(1, -1));
    if (literal) return { ok: true, command: { verb, domain: rest, literal, valid: true } };
    return { ok: true, command: { verb, domain: rest, valid: false } };
  }
  const valid = rest.length <= 255 && isDomain(rest.endsWith(".") ? rest.slice(0, -1) : rest, false);
  return { ok: true, command: { verb, domain: rest, valid } };
}

/** Splits "FROM:<path> params": the keyword (case-insensitive), optional spaces, the path. */
function pathStart(rest: string, keyword: string): number {
  if (rest.slice(0, keyword.length).toUpperCase() !== keyword) return -1;
  let i = keyword.length;
  // RFC 5321 §4.1.1.2 has no space after the colon; many clients send one: be liberal.
  while (rest.charCodeAt(i) === 0x20) i++;
  return i;
}

function pathError(verb: "MAIL" | "RCPT", error: string, message: string): CommandError {
  if (error === "utf8-not-permitted") return err(verb, "utf8-not-permitted", "UTF8_NOT_PERMITTED");
  return err(verb, "bad-path", verb === "MAIL" ? "BAD_SENDER_SYNTAX" : "BAD_RECIPIENT_SYNTAX", message);
}

function paramsText(rest: string, end: number): string | null {
  if (end === rest.length) return "";
  if (rest.charCodeAt(end) !== 0x20) return null;
  return rest.slice(end + 1);
}

function parseMail(rest: string, opts: ParseOptions): CommandResult {
  // RFC 5321 §4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters].
  const start = pathStart(rest, "FROM:");
  if (start < 0) return err("MAIL", "bad-arguments", "PARAM_SYNTAX", "Syntax: MAIL FROM:<address>");
  // The parameters come after the path, but SMTPUTF8 among them decides whether the path may
  // be UTF-8 (RFC 6531 §3.4): read the path leniently, then check.
  const path = parsePath(rest, start, { utf8: true, kind: "reverse" });
  if (!path.ok) return pathError("MAIL", path.error, path.message);
  const ptext = paramsText(rest, path.end);
  if (ptext === null) return err("MAIL", "bad-path", "BAD_SENDER_SYNTAX", "Garbage after the path");
  const raw = splitParams(ptext);
  if (raw === null) return err("MAIL", "bad-param", "PARAM_SYNTAX");
  const smtputf8 = opts.smtputf8Allowed === true && raw.some((p) => p.name === "SMTPUTF8");
  const params = parseMailParams(raw, {
    allowed: opts.allowedParams,
    smtputf8Allowed: opts.smtputf8Allowed === true,
    utf8: smtputf8,
  });
  if (!params.ok) {
    return {
      ok: false,
      verb: "MAIL",
      kind: params.reply.code === 555 ? "unknown-param" : "bad-param",
      reply: params.reply,
    };
  }
  if (path.address?.utf8 && !smtputf8) return err("MAIL", "utf8-not-permitted", "UTF8_NOT_PERMITTED");
  return { ok: true, command: { verb: "MAIL", from: path.address, params: params.params, rawParams: raw } };
}

function parseRcpt(rest: string, opts: ParseOptions): CommandResult {
  // RFC 5321 §4.1.1.3: "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
  // [SP Rcpt-parameters].
  const start = pathStart(rest, "TO:");
  if (start < 0) return err("RCPT", "bad-arguments", "PARAM_SYNTAX", "Syntax: RCPT TO:<address>");
  const utf8 = opts.utf8Transaction === true;
  const path = parsePath(rest, start, { utf8, kind: "forward" });
  if (!path.ok) return pathError("RCPT", path.error, path.message);
  if (path.address === null) return err("RCPT", "bad-path", "BAD_RECIPIENT_SYNTAX");
  const ptext = paramsText(rest, path.end);
  if (ptext === null) return err("RCPT", "bad-path", "BAD_RECIPIENT_SYNTAX", "Garbage after the path");
  const raw = splitParams(ptext);
  if (raw === null) return err("RCPT", "bad-param", "PARAM_SYNTAX");
  const params = parseRcptParams(raw, {
    allowed: opts.allowedParams,
    smtputf8Allowed: opts.smtputf8Allowed === true,
    utf8,
  });
  if (!params.ok) {
    return {
      ok: false,
      verb: "RCPT",
      kind: params.reply.code === 555 ? "unknown-param" : "bad-param",
      reply: params.reply,
    };
  }
  return { ok: true, command: { verb: "RCPT", to: path.address, params: params.params, rawParams: raw } };
}

function parseBdat(rest: string): CommandResult {
  // RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT; end-marker = "LAST".
  // Sizes of more than 15 digits are refused (they stay exact as JS numbers up to there).
  const m = /^(\d{1,15})(?: +(LAST))?$/i.exec(rest);
  if (!m) {
    // Without a readable size the octets that follow cannot be skipped: the framing is lost.
    const e = err("BDAT", "bad-arguments", "BDAT_FRAMING");
    e.close = true;
    return e;
  }
  return { ok: true, command: { verb: "BDAT", size: Number(m[1]), last: m[2] !== undefined } };
}

function parseAuth(rest: string): CommandResult {
  // RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]; initial-response = base64 / "=".
  const parts = rest.split(/ +/);
  const mech = parts[0] ?? "";
  // RFC 4422 §3.1: sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
  // (read case-insensitively).
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(mech) || parts.length > 2) {
    return err("AUTH", "bad-arguments", "PARAM_SYNTAX", "Syntax: AUTH mechanism [initial-response]");
  }
  const command: AuthCommand = { verb: "AUTH", mechanism: mech.toUpperCase() };
  const ir = parts[1];
  if (ir !== undefined) {
    if (ir === "=") command.initialResponse = Buffer.alloc(0);
    else if (BASE64_RE.test(ir)) command.initialResponse = Buffer.from(ir, "base64");
    else return err("AUTH", "bad-arguments", "AUTH_BAD_BASE64");
  }
  return { ok: true, command };
}

/** A client's line in an AUTH exchange (RFC 4954 §4): base64 data, or "*" to cancel. */
export type AuthResponse =
  { ok: true; cancel: true } | { ok: true; cancel: false; data: Buffer } | { ok: false; reply: Reply };

/** Parses one AUTH continuation line (with or without CRLF). Never throws. */
export function parseAuthResponse(line: Buffer | string, maxLineLength = AUTH_MAX_LINE_LENGTH): AuthResponse {
  let text = typeof line === "string" ? line : line.toString("latin1");
  if (text.endsWith("\r\n")) text = text.slice(0, -2);
  if (text.length + 2 > maxLineLength) return { ok: false, reply: reply("AUTH_LINE_TOO_LONG") };
  // RFC 4954 §4: "*" cancels the exchange (answered with 501).
  if (text === "*") return { ok: true, cancel: true };
  if (!BASE64_RE.test(text)) return { ok: false, reply: reply("AUTH_BAD_BASE64") };
  return { ok: true, cancel: false, data: Buffer.from(text, "base64") };
}

/** A server challenge (RFC 4954 §4): "334 " and the base64 data ("334 " alone when empty). */
export function formatAuthChallenge(data: Buffer): string {
  return data.length === 0 ? "334 \r\n" : `334 ${data.toString("base64")}\r\n`;
}

// ---------------------------------------------------------------------------------------------
// Client side.

function paramString(raw: readonly RawParam[] | undefined): string {
  if (!raw || raw.length === 0) return "";
  return " " + raw.map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`)).join(" ");
}

/**
 * Serializes a command for the wire, CRLF included. Parameters are written from `rawParams`
 * (build them with the encoders of xtext.ts where a value is xtext).
 */
export function formatCommand(c: Command): string {
  switch (c.verb) {
    case "HELO":
    case "EHLO":
    case "LHLO":
      return `${c.verb} ${c.domain}\r\n`;
    case "MAIL":
      return `MAIL FROM:${formatPath(c.from)}${paramString(c.rawParams)}\r\n`;
    case "RCPT":
      return `RCPT TO:${formatPath(c.to)}${paramString(c.rawParams)}\r\n`;
    case "BDAT":
      return `BDAT ${c.size}${c.last ? " LAST" : ""}\r\n`;
    case "AUTH":
      if (c.initialResponse === undefined) return `AUTH ${c.mechanism}\r\n`;
      return `AUTH ${c.mechanism} ${c.initialResponse.length === 0 ? "=" : c.initialResponse.toString("base64")}\r\n`;
    case "VRFY":
    case "EXPN":
    case "HELP":
    case "NOOP":
      return c.arg === "" ? `${c.verb}\r\n` : `${c.verb} ${c.arg}\r\n`;
    case "DATA":
    case "RSET":
    case "QUIT":
    case "STARTTLS":
      return `${c.verb}\r\n`;
  }
}
