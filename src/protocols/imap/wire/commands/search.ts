// SEARCH (RFC 9051 §6.4.4) with ESEARCH return options (RFC 4731 §3.1, RFC 9051 §6.4.4.1),
// SAVE (RFC 5182 §2.1), MODSEQ (RFC 7162 §3.1.5), OLDER/YOUNGER (RFC 5032 §3), EMAILID and
// THREADID (RFC 8474 §6), SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED (RFC 8514 §4.3):
//   search = "SEARCH" [search-return-opts] SP search-program
//   search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
import { decodeCharset } from "../../../../mail/charset.ts";
import type { ArgReader, ImapDay } from "../args.ts";
import type { SequenceSet } from "../sequence-set.ts";

export type SearchFlagKey =
  | "ALL"
  | "ANSWERED"
  | "DELETED"
  | "DRAFT"
  | "FLAGGED"
  | "SEEN"
  | "UNANSWERED"
  | "UNDELETED"
  | "UNDRAFT"
  | "UNFLAGGED"
  | "UNSEEN"
  | "NEW"
  | "OLD"
  | "RECENT"
  | "SAVEDATESUPPORTED";
export type SearchTextKey = "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO";
export type SearchDateKey =
  | "BEFORE"
  | "ON"
  | "SINCE"
  | "SENTBEFORE"
  | "SENTON"
  | "SENTSINCE"
  | "SAVEDBEFORE"
  | "SAVEDON"
  | "SAVEDSINCE";

export type SearchKey =
  | { key: SearchFlagKey }
  | { key: "KEYWORD" | "UNKEYWORD"; flag: string }
  | { key: SearchTextKey; value: string }
  | { key: "HEADER"; field: string; value: string }
  | { key: SearchDateKey; date: ImapDay }
  | { key: "LARGER" | "SMALLER"; size: number }
  /** RFC 5032 §3: interval in seconds. */
  | { key: "OLDER" | "YOUNGER"; seconds: number }
  | { key: "UID"; set: SequenceSet }
  /** A bare sequence set: message sequence numbers. */
  | { key: "SEQ"; set: SequenceSet }
  | { key: "NOT"; operand: SearchKey }
  | { key: "OR"; left: SearchKey; right: SearchKey }
  /** All operands must match: a parenthesized list, and the program itself. */
  | { key: "AND"; operands: SearchKey[] }
  /** RFC 7162 §3.1.5: MODSEQ [entry-name entry-type] value. */
  | { key: "MODSEQ"; modseq: number; entry: { flag: string; type: "priv" | "shared" | "all" } | null }
  | { key: "EMAILID" | "THREADID"; id: string };

export type SearchReturnOption = "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE";

export interface SearchArgs {
  type: "search";
  uid: boolean;
  /** Upper-cased CHARSET, or null when not given (US-ASCII / UTF-8). */
  charset: string | null;
  /**
   * RETURN options (RFC 4731): null when there was no RETURN (a plain SEARCH response);
   * RETURN () is ["ALL"] (RFC 4731 §3.1).
   */
  returns: SearchReturnOption[] | null;
  /** The program as one AND of its keys. */
  criteria: SearchKey & { key: "AND" };
}

const FLAG_KEYS: readonly string[] = [
  "ALL",
  "ANSWERED",
  "DELETED",
  "DRAFT",
  "FLAGGED",
  "SEEN",
  "UNANSWERED",
  "UNDELETED",
  "UNDRAFT",
  "UNFLAGGED",
  "UNSEEN",
  "NEW",
  "OLD",
  "RECENT",
  "SAVEDATESUPPORTED",
];
const TEXT_KEYS: readonly string[] = ["BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"];
const DATE_KEYS: readonly string[] = [
  "BEFORE",
  "ON",
  "SINCE",
  "SENTBEFORE",
  "SENTON",
  "SENTSINCE",
  "SAVEDBEFORE",
  "SAVEDON",
  "SAVEDSINCE",
];
const RETURN_OPTIONS: readonly string[] = ["MIN", "MAX", "ALL", "COUNT", "SAVE"];

interface KeyContext {
  charset: string | null;
  count: number;
}

function text(r: ArgReader, ctx: KeyContext): string {
  const bytes = r.astringBytes("a search string");
  return ctx.charset === null || ctx.charset === "UTF-8" || ctx.charset === "US-ASCII"
    ? bytes.toString("utf8")
    : decodeCharset(bytes, ctx.charset);
}

function parseKey(r: ArgReader, ctx: KeyContext, depth: number): SearchKey {
  if (++ctx.count > r.options.maxSearchKeys) r.fail("Too many search keys", "LIMIT");
  if (depth > r.options.maxDepth) r.fail("Search keys nested too deeply", "LIMIT");
  if (r.tryOpen()) {
    const operands: SearchKey[] = [];
    for (;;) {
      operands.push(parseKey(r, ctx, depth + 1));
      if (r.tryClose()) break;
      r.sp();
    }
    return { key: "AND", operands };
  }
  if (r.atSequenceSet()) return { key: "SEQ", set: r.sequenceSet() };
  const k = r.keyword("a search key");
  if (FLAG_KEYS.includes(k)) return { key: k as SearchFlagKey };
  r.sp();
  if (TEXT_KEYS.includes(k)) return { key: k as SearchTextKey, value: text(r, ctx) };
  if (DATE_KEYS.includes(k)) return { key: k as SearchDateKey, date: r.date() };
  switch (k) {
    case "KEYWORD":
    case "UNKEYWORD": {
      // flag-keyword = "$MDNSent" / "$Forwarded" / ... / atom
      return { key: k, flag: r.atom("a keyword") };
    }
    case "HEADER": {
      const field = r.astring("a header field name");
      r.sp();
      return { key: "HEADER", field, value: text(r, ctx) };
    }
    case "LARGER":
    case "SMALLER":
      return { key: k, size: r.number64("a size") };
    case "OLDER":
    case "YOUNGER":
      return { key: k, seconds: r.nzNumber("an interval") };
    case "UID":
      return { key: "UID", set: r.sequenceSet() };
    case "NOT":
      return { key: "NOT", operand: parseKey(r, ctx, depth + 1) };
    case "OR": {
      const left = parseKey(r, ctx, depth + 1);
      r.sp();
      return { key: "OR", left, right: parseKey(r, ctx, depth + 1) };
    }
    case "MODSEQ": {
      // search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
      // search-modseq-ext = SP entry-name SP entry-type-req
      let entry: { flag: string; type: "priv" | "shared" | "all" } | null = null;
      if (r.peek() === 0x22) {
        const name = r.string();
        const m = /^\/flags\/(\\?[^\s()]+)$/i.exec(name);
        if (m === null) r.fail(`Invalid MODSEQ entry name "${name}"`);
        r.sp();
        const type = r.keyword("an entry type").toLowerCase();
        if (type !== "priv" && type !== "shared" && type !== "all")
          r.fail(`Invalid MODSEQ entry type ${type}`);
        r.sp();
        entry = { flag: m[1] ?? "", type };
      }
      return { key: "MODSEQ", modseq: r.number64(), entry };
    }
    case "EMAILID":
    case "THREADID": {
      // RFC 8474 §7: objectid = 1*255(ALPHA / DIGIT / "_" / "-")
      const id = r.atom("an object id");
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) r.fail(`Invalid object id "${id}"`);
      return { key: k, id };
    }
  }
  return r.fail(`Unknown search key ${k}`);
}

export function parseSearch(uid: boolean, r: ArgReader): SearchArgs {
  r.sp();
  let returns: SearchReturnOption[] | null = null;
  let charset: string | null = null;
  if (r.lookingAt("RETURN ")) {
    r.keyword();
    r.sp();
    r.open();
    returns = [];
    if (!r.tryClose()) {
      for (;;) {
        const o = r.keyword("a return option");
        if (!RETURN_OPTIONS.includes(o)) r.fail(`Unknown SEARCH return option ${o}`); // todo RFC 9394 PARTIAL, RFC 5267 CONTEXT
        if (!returns.includes(o as SearchReturnOption)) returns.push(o as SearchReturnOption);
        if (r.tryClose()) break;
        r.sp();
      }
    }
    if (returns.length === 0) returns.push("ALL"); // RFC 4731 §3.1: RETURN () means ALL
    r.sp();
  }
  if (r.lookingAt("CHARSET ")) {
    r.keyword();
    r.sp();
    charset = r.astring("a charset").toUpperCase();
    r.sp();
  }
  const ctx: KeyContext = { charset, count: 0 };
  const operands: SearchKey[] = [];
  for (;;) {
    operands.push(parseKey(r, ctx, 1));
    if (r.atEnd()) break;
    r.sp();
  }
  return { type: "search", uid, charset, returns, criteria: { key: "AND", operands } };
}
