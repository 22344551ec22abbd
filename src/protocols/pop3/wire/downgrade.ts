// Post-delivery downgrade of internationalized messages for POP3 clients that did not issue
// UTF8 (RFC 6856 §2: messages with UTF-8 header fields go only to clients in UTF-8 mode;
// others get the message downgraded as RFC 6857 describes, so what they read is 7-bit
// RFC 5322 + MIME, with the UTF-8 text kept as RFC 2047 encoded-words).
//
// RFC 6857's approach, per header field that holds non-ASCII (ASCII fields are copied as
// they are):
// - address fields: display names and group names become encoded-words; a domain in
//   U-labels becomes A-labels (IDNA); a mailbox whose local part is not ASCII cannot be
//   written in 7-bit, so it becomes an empty group whose display name is the encoded-word of
//   the original mailbox (`=?UTF-8?B?...?= :;`), keeping the text for the reader;
// - MIME parameters (RFC 2231 §4): a non-ASCII value becomes `name*=utf-8''%XX...`;
// - unstructured fields (Subject, Comments, Content-Description, unknown fields):
//   the non-ASCII words become encoded-words (RFC 2047 §5 (1));
// - fields whose syntax has no room for encoded-words (Message-ID, In-Reply-To, References,
//   Received, Return-Path, ...): encapsulated as `Downgraded-<Name>:` with the value
//   as encoded-words, so nothing is lost and no client misreads a broken identifier.
// The body is sent as it is (8-bit bodies are fine in POP3). todo RFC 6857: header
// fields of MIME body parts (e.g. a UTF-8 attachment filename) are not downgraded.
//
// 8-bit header octets that are not UTF-8 (legacy mailers) are read as windows-1252, the
// superset of what such mailers mean, and downgraded the same way.
//
// Pure: bytes in, bytes out. Only the header is rebuilt; the body is a slice of the input.
import { isAscii as isAsciiBuffer } from "node:buffer";
import { asciiDomain, parseAddressGroups, splitAddress } from "../../../mail/address.ts";
import { decodeUnknown } from "../../../mail/charset.ts";
import { rawFields } from "../../../mail/header-fields.ts";
import type { Address } from "../../../mail/types.ts";
import { headerEnd } from "./message.ts";

const CRLF = "\r\n";
/** RFC 2047 §2: an encoded-word is at most 75 characters; "=?UTF-8?B?" + "?=" take 12. */
const WORD_BYTES = 45;
/** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. */
const LINE = 78;

const ADDRESS_FIELDS = new Set([
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "resent-from",
  "resent-sender",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "disposition-notification-to",
]);
const MIME_PARAM_FIELDS = new Set(["content-type", "content-disposition"]);
/** Structured fields with no place for encoded-words: encapsulated (RFC 6857). */
const ENCAPSULATED_FIELDS = new Set([
  "message-id",
  "in-reply-to",
  "references",
  "resent-message-id",
  "content-id",
  "received",
  "return-path",
  "original-recipient",
  "final-recipient",
  "date",
  "resent-date",
  "mime-version",
  "content-transfer-encoding",
]);

/** The header [0, end) of `msg`: end is past the blank line, or the whole message. */
function headerBlock(msg: Buffer): number {
  const end = headerEnd(msg);
  return end < 0 ? msg.length : end;
}

/** True when the message header holds octets above 0x7F (a message for UTF-8 clients only). */
export function needsDowngrade(msg: Buffer): boolean {
  const crlf = msg.indexOf("\r\n\r\n");
  // The common case in two native scans: an ASCII CRLF header ended by a CRLF blank line.
  if (crlf >= 0 && isAsciiBuffer(msg.subarray(0, crlf))) return false;
  return !isAsciiBuffer(msg.subarray(0, headerBlock(msg)));
}

/** The message with its header downgraded (RFC 6857); the input when nothing needs it. */
export function downgradeMessage(msg: Buffer): Buffer {
  const end = headerBlock(msg);
  if (isAsciiBuffer(msg.subarray(0, end))) return msg;
  const out: string[] = [];
  let pos = 0;
  for (const f of rawFields(msg, 0, end)) {
    // Lines that are not fields (rawFields skips them) are kept when ASCII, dropped otherwise.
    if (f.start > pos) keepAscii(msg.subarray(pos, f.start), out);
    pos = f.end;
    const bytes = msg.subarray(f.start, f.end);
    if (isAsciiBuffer(bytes)) out.push(bytes.toString("latin1"));
    else out.push(downgradeField(f.name, unfold(decodeUnknown(msg.subarray(f.valueStart, f.end)))));
  }
  // The rest of the header block: stray lines, then the blank line.
  if (pos < end) keepAscii(msg.subarray(pos, end), out);
  return Buffer.concat([Buffer.from(out.join(""), "latin1"), msg.subarray(end)]);
}

function keepAscii(b: Buffer, out: string[]): void {
  let start = 0;
  while (start < b.length) {
    const nl = b.indexOf(0x0a, start);
    const stop = nl < 0 ? b.length : nl + 1;
    const line = b.subarray(start, stop);
    if (isAsciiBuffer(line)) out.push(line.toString("latin1"));
    start = stop;
  }
}

/** RFC 5322 §2.2.3: unfolding removes the line breaks that precede white space. */
function unfold(value: string): string {
  return value
    .replace(/\r?\n(?=[ \t])/g, "")
    .replace(/\r?\n$/, "")
    .trim();
}

/** One downgraded field, folded, with its CRLF. */
export function downgradeField(name: string, value: string): string {
  const key = name.toLowerCase();
  if (ADDRESS_FIELDS.has(key)) {
    const items = downgradeAddresses(value);
    if (items !== null) return fold(`${name}:`, items, ",");
  } else if (MIME_PARAM_FIELDS.has(key)) {
    return fold(`${name}:`, downgradeParams(value), "");
  } else if (!ENCAPSULATED_FIELDS.has(key) && !key.startsWith("downgraded-")) {
    return fold(`${name}:`, encodeText(value), "");
  }
  return fold(`Downgraded-${name}:`, encodeText(value), "");
}

/**
 * Folds `name` and the items onto lines of at most LINE characters where it can (RFC 5322
 * §2.2.3): at the spaces between and inside items, the first word on the name's line; `sep`
 * follows every item but the last; a fold is CRLF and one space. Encoded-words are at most
 * 75 characters, so only an ASCII word as long in the original makes a longer line.
 */
function fold(name: string, items: readonly string[], sep: string): string {
  let out = name;
  let lineLength = name.length;
  // Folding white space may go at any space of an item (between words, in quoted strings).
  const words = items.flatMap((item, i) => (i < items.length - 1 ? item + sep : item).split(" "));
  words.forEach((text, i) => {
    if (lineLength + 1 + text.length > LINE && i > 0) {
      out += `${CRLF} ${text}`;
      lineLength = 1 + text.length;
    } else {
      out += ` ${text}`;
      lineLength += 1 + text.length;
    }
  });
  return out + CRLF;
}

/** RFC 2047 "B" encoded-words of `text` in UTF-8, cut at character boundaries. */
export function encodedWords(text: string): string[] {
  const words: string[] = [];
  let chunk = "";
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, "utf8");
    if (bytes + n > WORD_BYTES && chunk !== "") {
      words.push(`=?UTF-8?B?${Buffer.from(chunk, "utf8").toString("base64")}?=`);
      chunk = "";
      bytes = 0;
    }
    chunk += ch;
    bytes += n;
  }
  if (chunk !== "") words.push(`=?UTF-8?B?${Buffer.from(chunk, "utf8").toString("base64")}?=`);
  return words;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Unstructured text (RFC 2047 §5 (1)): the span from the first to the last word holding
 * non-ASCII becomes encoded-words (the spaces inside it encoded too, since white space
 * between encoded-words is dropped when decoding); the ASCII words around it stay.
 */
export function encodeText(value: string): string[] {
  const words = value.split(/[ \t]+/).filter((w) => w !== "");
  const first = words.findIndex((w) => NON_ASCII.test(w));
  if (first < 0) return words;
  let last = words.length - 1;
  while (!NON_ASCII.test(words[last] ?? "")) last--;
  return [
    ...words.slice(0, first),
    ...encodedWords(words.slice(first, last + 1).join(" ")),
    ...words.slice(last + 1),
  ];
}

/** RFC 5322 §3.2.3 atext (and the spaces between words) for an unquoted phrase. */
const PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/;

function phrase(name: string): string {
  if (NON_ASCII.test(name)) return encodedWords(name).join(" ");
  if (PHRASE.test(name) && name.trim() === name) return name;
  return `"${name.replace(/(["\\])/g, "\\$1")}"`;
}

/** A mailbox in 7-bit, or null when its local part is not ASCII. */
function mailbox(a: Address): string | null {
  const { local, domain } = splitAddress(a.address);
  if (NON_ASCII.test(local)) return null;
  const addr = domain === null ? local : `${local}@${asciiDomain(domain)}`;
  if (NON_ASCII.test(addr)) return null;
  return a.name === null ? addr : `${phrase(a.name)} <${addr}>`;
}

/** RFC 6857: a mailbox that has no 7-bit form, as an empty group that names it. */
function namedGroup(a: Address): string {
  const text = a.name === null ? a.address : `${a.name} <${a.address}>`;
  return `${encodedWords(text).join(" ")} :;`;
}

/** The address list as 7-bit items (for fold with ","); null when it does not parse. */
function downgradeAddresses(value: string): string[] | null {
  const groups = parseAddressGroups(value);
  if (groups.length === 0) return null;
  const items: string[] = [];
  for (const g of groups) {
    const plain: string[] = [];
    const moved: string[] = [];
    for (const a of g.addresses) {
      const m = mailbox(a);
      if (m !== null) plain.push(m);
      else moved.push(namedGroup(a));
    }
    if (g.name === null) items.push(...plain);
    else items.push(`${phrase(g.name)}: ${plain.join(", ")};`);
    // Groups do not nest (RFC 5322 §3.4): such members follow their group.
    items.push(...moved);
  }
  return items;
}

const PARAM = /;\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;

/** RFC 2231 §4: the octets outside attribute-char %-encoded. */
function percent(v: string, keep: RegExp): string {
  let out = "";
  for (const byte of Buffer.from(v, "utf8")) {
    const c = String.fromCharCode(byte);
    out += keep.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
const ATTRIBUTE_CHAR = /^[!#$&+\-.^_`|~0-9A-Za-z]$/;
const ASCII_CHAR = /^[\x00-\x7f]$/;

/** One parameter in 7-bit: a non-ASCII value in RFC 2231 §4 form. */
function param(attr: string, raw: string): string {
  if (!NON_ASCII.test(raw)) return `${attr}=${raw}`;
  const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
  // Already extended (name*= / name*0*=): only the raw UTF-8 octets need %-encoding.
  if (attr.endsWith("*")) return `${attr}=${percent(value, ASCII_CHAR)}`;
  const section = /^(.*)\*(\d+)$/.exec(attr);
  if (section !== null) {
    const charset = section[2] === "0" ? "utf-8''" : "";
    return `${attr}*=${charset}${percent(value, ATTRIBUTE_CHAR)}`;
  }
  return `${attr}*=utf-8''${percent(value, ATTRIBUTE_CHAR)}`;
}

/** Content-Type / Content-Disposition: the value, then each parameter, as items. */
function downgradeParams(value: string): string[] {
  const semi = value.indexOf(";");
  const head = (semi < 0 ? value : value.slice(0, semi)).trim();
  const items = encodeText(head);
  if (semi < 0) return items;
  const params = [...value.slice(semi).matchAll(PARAM)].map((m) => param(m[1] ?? "", m[2] ?? ""));
  if (params.length === 0) return items;
  // "type/subtype; a=1; b=2": a semicolon after the value and after each parameter but the last.
  const last = items.length - 1;
  return [
    ...items.map((x, i) => (i === last ? `${x};` : x)),
    ...params.map((p, i) => (i < params.length - 1 ? `${p};` : p)),
  ];
}
