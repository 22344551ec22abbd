// The response writer (RFC 9051 §7): status responses with response codes (RFC 9051 §7.1,
// RFC 5530 and the extensions' codes), continuation requests (§7.5), and the untagged data
// responses: CAPABILITY, ENABLED, FLAGS, LIST/LSUB with LIST-EXTENDED data, STATUS, SEARCH,
// ESEARCH, EXISTS, EXPUNGE, VANISHED, FETCH, ID, NAMESPACE, QUOTA and QUOTAROOT. Text goes
// out as strings; FETCH literals as the Buffers given (see values.ts).
import type { Envelope, MimePart } from "../../../mail/types.ts";
import { bodyStructure, envelopeValue } from "../../../mail/body-structure.ts";
import { formatImapDate } from "../../../mail/date.ts";
import { encodeMailboxName } from "../../../mail/utf7.ts";
import type { Chunk, WireValue, WriteOptions } from "./values.ts";
import { atom, ChunkList, mailboxText, stringText, writeValue } from "./values.ts";
import { compressOrdered, compressUids, formatIntervals, type Intervals } from "./sequence-set.ts";
import type { Section, FetchPartial } from "./commands/fetch.ts";
import type { StatusItem } from "./commands/status.ts";

/** A response code: the atom and its arguments as wire text (RFC 9051 §7.1). */
export interface ResponseCode {
  code: string;
  args?: string;
}

export type Status = "OK" | "NO" | "BAD";

// resp-text is one line: no CR or LF may reach the wire from a message
function cleanText(text: string): string {
  const t = text.replace(/[\r\n\0]+/g, " ");
  return t.length > 0 ? t : "Completed";
}

function codeText(code: ResponseCode | null | undefined): string {
  if (code === null || code === undefined) return "";
  return `[${code.code}${code.args !== undefined && code.args !== "" ? " " + code.args : ""}] `;
}

/** `tag OK|NO|BAD [code] text` CRLF (RFC 9051 §7.1). */
export function tagged(tag: string, status: Status, text: string, code?: ResponseCode | null): string {
  return `${tag} ${status} ${codeText(code)}${cleanText(text)}\r\n`;
}

/** `* OK|NO|BAD|BYE|PREAUTH [code] text` CRLF. */
export function untaggedStatus(
  status: Status | "BYE" | "PREAUTH",
  text: string,
  code?: ResponseCode | null,
): string {
  return `* ${status} ${codeText(code)}${cleanText(text)}\r\n`;
}

/** `+ text` CRLF (RFC 9051 §7.5); for AUTHENTICATE the text is the base64 challenge, maybe "". */
export function continuation(text = "Ready"): string {
  return `+ ${text.replace(/[\r\n]+/g, " ")}\r\n`;
}

/** `* ` data CRLF, from text already formatted. */
export function untagged(data: string): string {
  return `* ${data}\r\n`;
}

// ---- response codes (RFC 9051 §7.1, RFC 5530 §3, and per extension) ----

/** A code without arguments: ALERT, PARSE, READ-ONLY, READ-WRITE, TRYCREATE, UIDNOTSTICKY,
 *  NOMODSEQ (RFC 7162), CLOSED (RFC 7162 §3.2.11), and RFC 5530's UNAVAILABLE,
 *  AUTHENTICATIONFAILED, AUTHORIZATIONFAILED, EXPIRED, PRIVACYREQUIRED, CONTACTADMIN, NOPERM,
 *  INUSE, EXPUNGEISSUED, CORRUPTION, SERVERBUG, CLIENTBUG, CANNOT, LIMIT, OVERQUOTA,
 *  ALREADYEXISTS, NONEXISTENT; TOOBIG (RFC 7889/4469), HASCHILDREN (RFC 9051), USEATTR
 *  (RFC 6154), NOTSAVED (RFC 5182), UNKNOWN-CTE (RFC 3516), COMPRESSIONACTIVE (RFC 4978). */
export function code(name: string): ResponseCode {
  return { code: name };
}

/** [UIDNEXT n], [UIDVALIDITY n], [UNSEEN n], [HIGHESTMODSEQ n] (RFC 7162), [APPENDLIMIT n]. */
export function numberCode(
  name: "UIDNEXT" | "UIDVALIDITY" | "UNSEEN" | "HIGHESTMODSEQ" | "APPENDLIMIT",
  n: number,
): ResponseCode {
  return { code: name, args: String(n) };
}

/** RFC 4315 §3: [APPENDUID uidvalidity uid-set]. */
export function appendUidCode(uidValidity: number, uids: readonly number[]): ResponseCode {
  return { code: "APPENDUID", args: `${uidValidity} ${compressUids(uids)}` };
}

/** RFC 4315 §3: [COPYUID uidvalidity source-set dest-set], the sets paired by position. */
export function copyUidCode(
  uidValidity: number,
  source: readonly number[],
  dest: readonly number[],
): ResponseCode {
  return { code: "COPYUID", args: `${uidValidity} ${compressOrdered(source)} ${compressOrdered(dest)}` };
}

/** RFC 7162 §3.1.3: [MODIFIED set] of the messages that failed UNCHANGEDSINCE. */
export function modifiedCode(nums: readonly number[]): ResponseCode {
  return { code: "MODIFIED", args: compressUids(nums) };
}

/** RFC 8474 §4.1: [MAILBOXID (id)]. */
export function mailboxIdCode(id: string): ResponseCode {
  return { code: "MAILBOXID", args: `(${id})` };
}

/** [CAPABILITY ...] (RFC 9051 §7.1). */
export function capabilityCode(caps: readonly string[]): ResponseCode {
  return { code: "CAPABILITY", args: caps.join(" ") };
}

/** [PERMANENTFLAGS (...)] (RFC 9051 §7.1). */
export function permanentFlagsCode(flags: readonly string[]): ResponseCode {
  return { code: "PERMANENTFLAGS", args: `(${flags.join(" ")})` };
}

/** [BADCHARSET (...)] (RFC 9051 §7.1). */
export function badCharsetCode(charsets: readonly string[]): ResponseCode {
  return { code: "BADCHARSET", args: charsets.length > 0 ? `(${charsets.join(" ")})` : "" };
}

// ---- untagged data ----

/** `* CAPABILITY ...` (RFC 9051 §7.2.2). */
export function capabilityResponse(caps: readonly string[]): string {
  return untagged(`CAPABILITY ${caps.join(" ")}`);
}

/** `* ENABLED ...` (RFC 5161 §3.2); lists only what was newly enabled, maybe nothing. */
export function enabledResponse(caps: readonly string[]): string {
  return untagged(caps.length > 0 ? `ENABLED ${caps.join(" ")}` : "ENABLED");
}

/** `* FLAGS (...)` (RFC 9051 §7.3.5). */
export function flagsResponse(flags: readonly string[]): string {
  return untagged(`FLAGS (${flags.join(" ")})`);
}

/** `* n EXISTS` (§7.4.1), `* n RECENT` (RFC 3501 §7.3.2), `* n EXPUNGE` (§7.5.1). */
export function countResponse(n: number, what: "EXISTS" | "RECENT" | "EXPUNGE"): string {
  return untagged(`${n} ${what}`);
}

/** RFC 7162 §3.2.10: `* VANISHED [(EARLIER)] uid-set`, of UIDs or of UID intervals. */
export function vanishedResponse(uids: readonly number[] | Intervals, earlier: boolean): string {
  const set = isIntervals(uids) ? formatIntervals(uids) : compressUids(uids);
  return untagged(`VANISHED ${earlier ? "(EARLIER) " : ""}${set}`);
}

function isIntervals(v: readonly number[] | Intervals): v is Intervals {
  return typeof v[0] === "object";
}

/** One LIST (or LSUB) reply (RFC 9051 §7.3.1, RFC 5258 §3.4 extended data). */
export interface ListEntry {
  /** Attributes as sent: "\\HasNoChildren", "\\Sent", "\\Subscribed", ... */
  attributes: readonly string[];
  /** Hierarchy delimiter, or null (NIL). */
  delimiter: string | null;
  name: string;
  /** RFC 5258 §4 CHILDINFO: "SUBSCRIBED" when a child matched the selection and not this. */
  childInfo?: readonly string[];
  /** RFC 9051 §6.3.9.7 OLDNAME (rename seen while listing). */
  oldName?: string;
}

/** `* LIST (attrs) "/" name [extended]` with the name per mode. */
export function listResponse(entry: ListEntry, opts: WriteOptions, kind: "LIST" | "LSUB" = "LIST"): string {
  const delim = entry.delimiter === null ? "NIL" : stringText(entry.delimiter, { utf8: false });
  let ext = "";
  if (entry.childInfo !== undefined && entry.childInfo.length > 0)
    ext += ` ("CHILDINFO" (${entry.childInfo.map((c) => `"${c}"`).join(" ")}))`;
  if (entry.oldName !== undefined) ext += ` ("OLDNAME" (${mailboxText(entry.oldName, opts)}))`;
  return untagged(`${kind} (${entry.attributes.join(" ")}) ${delim} ${mailboxText(entry.name, opts)}${ext}`);
}

/** `* STATUS name (item value ...)` (RFC 9051 §7.3.2); MAILBOXID in parentheses (RFC 8474). */
export function statusResponse(
  mailbox: string,
  items: ReadonlyArray<[StatusItem, number | string]>,
  opts: WriteOptions,
): string {
  const parts = items.map(([k, v]) => (k === "MAILBOXID" ? `${k} (${v})` : `${k} ${v}`));
  return untagged(`STATUS ${mailboxText(mailbox, opts)} (${parts.join(" ")})`);
}

/** `* SEARCH n...` (RFC 3501 §7.2.5) with RFC 7162 §3.1.5 `(MODSEQ n)` when given. */
export function searchResponse(nums: readonly number[], modseq?: number | null): string {
  let s = "SEARCH";
  if (nums.length > 0) s += " " + nums.join(" ");
  if (modseq !== undefined && modseq !== null && nums.length > 0) s += ` (MODSEQ ${modseq})`;
  return untagged(s);
}

/** ESEARCH data (RFC 4731 §3.1, RFC 9051 §7.3.4). Absent fields are not sent. */
export interface EsearchData {
  tag: string | null;
  uid: boolean;
  min?: number;
  max?: number;
  /** Matching numbers (compressed to a set) or a set string. */
  all?: readonly number[] | string;
  count?: number;
  /** RFC 7162 §3.1.5: highest mod-sequence of the result. */
  modseq?: number;
}

/** `* ESEARCH (TAG "a") UID MIN 1 MAX 9 ALL 1:3,9 COUNT 4 MODSEQ 5`. */
export function esearchResponse(d: EsearchData): string {
  let s = "ESEARCH";
  if (d.tag !== null) s += ` (TAG ${stringText(d.tag, { utf8: false })})`;
  if (d.uid) s += " UID";
  if (d.min !== undefined) s += ` MIN ${d.min}`;
  if (d.max !== undefined) s += ` MAX ${d.max}`;
  if (d.all !== undefined) {
    const set = typeof d.all === "string" ? d.all : compressUids(d.all);
    if (set !== "") s += ` ALL ${set}`; // RFC 4731 §3.1: ALL is omitted for no match
  }
  if (d.count !== undefined) s += ` COUNT ${d.count}`;
  if (d.modseq !== undefined) s += ` MODSEQ ${d.modseq}`;
  return untagged(s);
}

/** `* ID (...)` or `* ID NIL` (RFC 2971 §3.2). */
export function idResponse(params: ReadonlyArray<[string, string | null]> | null): string {
  if (params === null || params.length === 0) return untagged("ID NIL");
  const o: WriteOptions = { utf8: true };
  const parts = params.map(([k, v]) => `${stringText(k, o)} ${v === null ? "NIL" : stringText(v, o)}`);
  return untagged(`ID (${parts.join(" ")})`);
}

/** One namespace: prefix and delimiter (RFC 2342 §5). */
export type Namespace = readonly [prefix: string, delimiter: string | null];

/**
 * `* NAMESPACE personal other shared` (RFC 9051 §7.3.1 / RFC 2342 §5), NIL for none. The
 * prefix is a string (never an atom) in the grammar.
 */
export function namespaceResponse(
  personal: readonly Namespace[] | null,
  other: readonly Namespace[] | null,
  shared: readonly Namespace[] | null,
  opts: WriteOptions,
): string {
  const one = (list: readonly Namespace[] | null): string =>
    list === null || list.length === 0
      ? "NIL"
      : "(" +
        list
          .map(
            ([p, d]) =>
              `(${stringText(opts.utf8 ? p : encodeMailboxName(p), opts)} ${d === null ? "NIL" : stringText(d, opts)})`,
          )
          .join("") +
        ")";
  return untagged(`NAMESPACE ${one(personal)} ${one(other)} ${one(shared)}`);
}

/** RFC 9208 §4.2.1: `* QUOTA root (STORAGE usage limit ...)`; usage and limit in their units. */
export function quotaResponse(
  root: string,
  resources: ReadonlyArray<{ name: string; usage: number; limit: number }>,
): string {
  const r = resources.map((x) => `${x.name} ${x.usage} ${x.limit}`).join(" ");
  return untagged(`QUOTA ${stringText(root, { utf8: true })} (${r})`);
}

/** RFC 9208 §4.2.2: `* QUOTAROOT mailbox root...`. */
export function quotaRootResponse(mailbox: string, roots: readonly string[], opts: WriteOptions): string {
  return untagged(
    `QUOTAROOT ${mailboxText(mailbox, opts)}${roots.map((r) => " " + stringText(r, { utf8: true })).join("")}`,
  );
}

// ---- FETCH (RFC 9051 §7.5.2) ----

/** One FETCH data item: its name as sent back and its value. */
export type FetchDatum = readonly [name: string, value: WireValue];

/**
 * `* seq FETCH (name value ...)` as chunks: literal data stays the Buffers given, so a large
 * body streams to the socket without being joined into a string.
 */
export function fetchResponse(seq: number, items: readonly FetchDatum[], opts: WriteOptions): Chunk[] {
  const out = new ChunkList().text(`* ${seq} FETCH (`);
  items.forEach(([name, value], i) => {
    if (i > 0) out.text(" ");
    out.text(name + " ");
    out.value(value, opts);
  });
  return out.text(")\r\n").done();
}

/** FLAGS (...). */
export function fetchFlags(flags: readonly string[]): FetchDatum {
  return ["FLAGS", flags.map(atom)];
}

/** INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz" (or SAVEDATE, RFC 8514 §4.1; null is NIL). */
export function fetchDate(
  name: "INTERNALDATE" | "SAVEDATE",
  ms: number | null,
  tzOffsetMinutes = 0,
): FetchDatum {
  return [name, ms === null ? null : { raw: `"${formatImapDate(ms, tzOffsetMinutes)}"` }];
}

/** MODSEQ (n) (RFC 7162 §3.1.4.1). */
export function fetchModseq(modseq: number): FetchDatum {
  return ["MODSEQ", [modseq]];
}

/** EMAILID (id) / THREADID (id) or THREADID NIL (RFC 8474 §5). */
export function fetchObjectId(name: "EMAILID" | "THREADID", id: string | null): FetchDatum {
  return [name, id === null ? null : [atom(id)]];
}

/** ENVELOPE from src/mail/types.ts Envelope. */
export function fetchEnvelope(env: Envelope): FetchDatum {
  return ["ENVELOPE", envelopeValue(env)];
}

/**
 * The ENVELOPE value as wire text: its fields are strings and NIL only, so the text holds
 * everything (a string that cannot be quoted is an inline literal, counted in UTF-8 bytes).
 */
export function envelopeText(env: Envelope, opts: WriteOptions): string {
  let out = "";
  for (const c of writeValue(envelopeValue(env), opts)) out += typeof c === "string" ? c : c.toString("utf8");
  return out;
}

/** ENVELOPE from its wire text (envelopeText). */
export function fetchEnvelopeText(text: string): FetchDatum {
  return ["ENVELOPE", { raw: text }];
}

/** BODYSTRUCTURE (extended) or BODY from a MimePart (src/mail/body-structure.ts). */
export function fetchBodyStructure(part: MimePart, extended: boolean, opts: WriteOptions): FetchDatum {
  return [extended ? "BODYSTRUCTURE" : "BODY", bodyStructure(part, extended, { utf8: opts.utf8 })];
}

/** PREVIEW string or NIL (RFC 8970 §3). */
export function fetchPreview(text: string | null): FetchDatum {
  return ["PREVIEW", text];
}

/** The section label of a BODY[...] reply: "1.HEADER.FIELDS (FROM TO)" (RFC 9051 §7.5.2). */
export function sectionText(section: Section): string {
  let s = section.part.join(".");
  if (section.text !== null) s += (s === "" ? "" : ".") + section.text;
  if (section.fields.length > 0)
    s += ` (${section.fields.map((f) => (/^[!#-'*+\-.0-9A-Z^-~]+$/i.test(f) ? f.toUpperCase() : stringText(f, { utf8: false }))).join(" ")})`;
  return s;
}

/**
 * BODY[section]<origin> with the data as a literal (NIL when null). RFC 9051 §7.5.2: only the
 * partial's origin octet is echoed.
 */
export function fetchBodySection(
  section: Section,
  partial: FetchPartial | null,
  data: Buffer | null,
): FetchDatum {
  const name = `BODY[${sectionText(section)}]${partial !== null ? `<${partial.offset}>` : ""}`;
  return [name, data === null ? null : { literal: data }];
}

/**
 * BINARY[section]<origin> (RFC 3516 §4.2): decoded content, as literal8 when it holds NUL,
 * else as a plain literal.
 */
export function fetchBinary(section: Section, partial: FetchPartial | null, data: Buffer | null): FetchDatum {
  const name = `BINARY[${sectionText(section)}]${partial !== null ? `<${partial.offset}>` : ""}`;
  return [name, data === null ? null : { literal: data, binary: data.includes(0) }];
}

/** BINARY.SIZE[section] n (RFC 3516 §4.2). */
export function fetchBinarySize(section: Section, size: number): FetchDatum {
  return [`BINARY.SIZE[${sectionText(section)}]`, size];
}

/** RFC822 / RFC822.HEADER / RFC822.TEXT (RFC 3501 §6.4.5) with their data as a literal. */
export function fetchRfc822(name: "RFC822" | "RFC822.HEADER" | "RFC822.TEXT", data: Buffer): FetchDatum {
  return [name, { literal: data }];
}

/** UID n, RFC822.SIZE n. */
export function fetchNumber(name: "UID" | "RFC822.SIZE", n: number): FetchDatum {
  return [name, n];
}
