// A reference printer for ImapValue (RFC 9051 §4: atoms, numbers, strings, NIL, lists). The
// IMAP wire layer has its own serializer; this one serves tests, logs and simple callers.
import type { ImapValue } from "./body-structure.ts";
import { isConcat } from "./body-structure.ts";

/** RFC 9051 §4.3: a quoted string when possible, else a literal ({n}CRLF bytes). */
export function imapString(s: string, utf8 = true): string {
  const needsLiteral = /[\r\n\0]/.test(s) || (!utf8 && /[^\x00-\x7f]/.test(s)) || s.length > 1024;
  if (needsLiteral) return `{${Buffer.byteLength(s, "utf8")}}\r\n${s}`;
  return '"' + s.replace(/(["\\])/g, "\\$1") + '"';
}

/** Prints a value as IMAP text. `utf8` allows 8-bit quoted strings (UTF8=ACCEPT, RFC 9051). */
export function formatImapValue(v: ImapValue, utf8 = true): string {
  if (v === null) return "NIL";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return imapString(v, utf8);
  if (isConcat(v)) return v.concat.map((x) => formatImapValue(x, utf8)).join("");
  return "(" + v.map((x) => formatImapValue(x, utf8)).join(" ") + ")";
}
