// POP3 responses: status lines and multi-line responses.
//
// RFC 1939 §3: a response is a status indicator ("+OK" or "-ERR") and a keyword possibly
// followed by additional information, terminated by CRLF, at most 512 octets long.
// Multi-line responses end with a line holding a single "." ("termination octet"); lines
// that begin with "." are byte-stuffed with another ".".
// RFC 2449 §8: extended response codes in brackets after "-ERR " (and "+OK "):
// [LOGIN-DELAY], [IN-USE]; RFC 3206 adds [SYS/TEMP], [SYS/PERM] and [AUTH]; RFC 6856 §4
// adds [UTF8].

export type ResponseCode = "IN-USE" | "LOGIN-DELAY" | "SYS/TEMP" | "SYS/PERM" | "AUTH" | "UTF8";

/** RFC 1939 §3: responses are at most 512 octets including CRLF. */
export const MAX_RESPONSE_LINE = 512;

/** Keeps the free text of a status line on one line and within the length limit. */
function cleanText(text: string, room: number): string {
  const one = text.replace(/[\x00-\x1f\x7f]+/g, " ");
  return one.length > room ? one.slice(0, room) : one;
}

function status(indicator: "+OK" | "-ERR", text: string, code?: ResponseCode): string {
  const prefix = code === undefined ? indicator : `${indicator} [${code}]`;
  if (text === "") return `${prefix}\r\n`;
  return `${prefix} ${cleanText(text, MAX_RESPONSE_LINE - prefix.length - 3)}\r\n`;
}

export function ok(text = ""): string {
  return status("+OK", text);
}

export function err(text: string, code?: ResponseCode): string {
  return status("-ERR", text, code);
}

/** RFC 5034 §4: a server challenge, "+ " and base64 (an empty challenge is "+ "). */
export function challenge(data: Buffer): string {
  return `+ ${data.toString("base64")}\r\n`;
}

/** Byte-stuffs one line of a multi-line text response (RFC 1939 §3). */
export function stuffLine(line: string): string {
  return line.startsWith(".") ? `.${line}` : line;
}

/** "+OK first" then each line, stuffed, and the terminating ".". */
export function multiline(first: string, lines: readonly string[]): string {
  let out = ok(first);
  for (const l of lines) out += `${stuffLine(l)}\r\n`;
  return `${out}.\r\n`;
}

/**
 * Reads a status line back (for clients and tests): the indicator, the response code when
 * one is present, and the text.
 */
export function parseStatus(line: string): { ok: boolean; code?: string; text: string } | null {
  const m = /^(\+OK|-ERR)(?: (?:\[([^\]]*)\] ?)?(.*))?$/.exec(line);
  if (m === null) return null;
  const r: { ok: boolean; code?: string; text: string } = { ok: m[1] === "+OK", text: m[3] ?? "" };
  if (m[2] !== undefined) r.code = m[2];
  return r;
}
