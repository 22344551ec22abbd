// RFC 9051 §6.4.4 SEARCH / §6.4.9 UID SEARCH over the store's search (src/store/search/),
// with ESEARCH return options MIN/MAX/ALL/COUNT/SAVE (RFC 4731 §3.1, RFC 9051 §6.4.4.1),
// SEARCHRES "$" (RFC 5182 §2), MODSEQ (RFC 7162 §3.1.5), WITHIN OLDER/YOUNGER (RFC 5032),
// EMAILID/THREADID (RFC 8474 §6) and SAVEDBEFORE/ON/SINCE (RFC 8514 §4.3). A rev2 session
// gets ESEARCH for a plain SEARCH (RFC 9051 §6.4.4); a rev1 session "* SEARCH". Dates compare
// the day (RFC 9051 §6.4.4: disregarding time and timezone): of the internal date in its own
// zone, of the Date header as written, of SAVEDATE in UTC.
import iconv from "iconv-lite";
import { normalizeCharset } from "../../../../mail/charset.ts";
import type { SearchQuery } from "../../../../store/types.ts";
import type { ImapDay, SearchArgs, SearchKey } from "../../wire/index.ts";
import { esearchResponse, searchResponse } from "../../wire/index.ts";
import type { EsearchData } from "../../wire/index.ts";
import { command, SELECTED } from "../command.ts";
import { bad, no } from "../errors.ts";
import type { ImapSession } from "../session.ts";
import type { SelectedMailbox } from "../selected.ts";
import { searchView } from "../search-view.ts";

const DAY = 86_400_000;

function dayStart(d: ImapDay): number {
  return Date.UTC(d.year, d.month - 1, d.day);
}

function uidRanges(uids: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const u of uids) {
    const last = out[out.length - 1];
    if (last !== undefined && u === last[1] + 1) last[1] = u;
    else out.push([u, u]);
  }
  return out;
}

interface Ctx {
  view: SelectedMailbox;
  now: number;
  usesModseq: boolean;
}

function kw(keyword: string): SearchQuery {
  return { op: "keyword", keyword };
}

function not(term: SearchQuery): SearchQuery {
  return { op: "not", term };
}

function toQuery(k: SearchKey, c: Ctx): SearchQuery {
  switch (k.key) {
    case "ALL":
    case "SAVEDATESUPPORTED":
      return { op: "all" };
    case "ANSWERED":
      return kw("\\Answered");
    case "DELETED":
      return kw("\\Deleted");
    case "DRAFT":
      return kw("\\Draft");
    case "FLAGGED":
      return kw("\\Flagged");
    case "SEEN":
      return kw("\\Seen");
    case "UNANSWERED":
      return not(kw("\\Answered"));
    case "UNDELETED":
      return not(kw("\\Deleted"));
    case "UNDRAFT":
      return not(kw("\\Draft"));
    case "UNFLAGGED":
      return not(kw("\\Flagged"));
    case "UNSEEN":
      return not(kw("\\Seen"));
    case "RECENT":
      return { op: "uid", ranges: uidRanges([...c.view.recent].sort((a, b) => a - b)) };
    case "OLD":
      return not({ op: "uid", ranges: uidRanges([...c.view.recent].sort((a, b) => a - b)) });
    case "NEW":
      return {
        op: "and",
        terms: [
          { op: "uid", ranges: uidRanges([...c.view.recent].sort((a, b) => a - b)) },
          not(kw("\\Seen")),
        ],
      };
    case "KEYWORD":
      return kw(k.flag);
    case "UNKEYWORD":
      return not(kw(k.flag));
    case "BCC":
    case "CC":
    case "FROM":
    case "SUBJECT":
    case "TO":
      return { op: "header", field: k.key.toLowerCase(), text: k.value };
    case "BODY":
      return { op: "body", text: k.value };
    case "TEXT":
      return { op: "text", text: k.value };
    case "HEADER":
      return { op: "header", field: k.field.toLowerCase(), text: k.value };
    // the internal date's day in its own zone (an APPEND date-time keeps its zone)
    case "BEFORE":
      return { op: "received", before: dayStart(k.date), local: true };
    case "ON":
      return { op: "received", since: dayStart(k.date), before: dayStart(k.date) + DAY, local: true };
    case "SINCE":
      return { op: "received", since: dayStart(k.date), local: true };
    case "SENTBEFORE":
      return { op: "sent", before: dayStart(k.date) };
    case "SENTON":
      return { op: "sent", since: dayStart(k.date), before: dayStart(k.date) + DAY };
    case "SENTSINCE":
      return { op: "sent", since: dayStart(k.date) };
    case "SAVEDBEFORE":
      return { op: "saved", before: dayStart(k.date) };
    case "SAVEDON":
      return { op: "saved", since: dayStart(k.date), before: dayStart(k.date) + DAY };
    case "SAVEDSINCE":
      return { op: "saved", since: dayStart(k.date) };
    case "LARGER":
      return { op: "size", larger: k.size };
    case "SMALLER":
      return { op: "size", smaller: k.size };
    // RFC 5032 §3: OLDER/YOUNGER n seconds relative to now, on the internal date
    case "OLDER":
      return { op: "received", before: c.now - k.seconds * 1000 + 1 };
    case "YOUNGER":
      return { op: "received", since: c.now - k.seconds * 1000 };
    case "UID":
      return { op: "uid", ranges: uidRanges(c.view.resolve(k.set, true)) };
    case "SEQ":
      return { op: "uid", ranges: uidRanges(c.view.resolve(k.set, false, true)) };
    case "NOT":
      return not(toQuery(k.operand, c));
    case "OR":
      return { op: "or", terms: [toQuery(k.left, c), toQuery(k.right, c)] };
    case "AND":
      return { op: "and", terms: k.operands.map((o) => toQuery(o, c)) };
    case "MODSEQ":
      // RFC 7162 §3.1.5: the entry name is accepted; flags share one modseq here
      c.usesModseq = true;
      return { op: "modseq", min: k.modseq };
    case "EMAILID":
      return { op: "emailIds", ids: [k.id] };
    case "THREADID":
      return { op: "threadIds", ids: [k.id] };
  }
}

/** RFC 9051 §6.4.4: a CHARSET we can decode; others are NO [BADCHARSET]. */
function knownCharset(label: string): boolean {
  const c = normalizeCharset(label);
  if (c === "utf-8" || c === "us-ascii" || iconv.encodingExists(c)) return true;
  try {
    new TextDecoder(c);
    return true;
  } catch {
    return false;
  }
}

async function runSearch(s: ImapSession, args: SearchArgs, tag: string): Promise<void> {
  const view = s.selected;
  if (view === null) throw bad("No mailbox selected");
  if (args.charset !== null && !knownCharset(args.charset))
    throw no("BADCHARSET (US-ASCII UTF-8)", `Unknown charset ${args.charset}`);
  // the messages the client knows: a poll below may add some it has no number for yet
  const announced = view.uids[view.uids.length - 1] ?? 0;
  const c: Ctx = { view, now: s.ctx.clock.now(), usesModseq: false };
  const query = toQuery(args.criteria, c);
  if (c.usesModseq) await s.enableCondstore();
  // flags, dates, sizes and sets from the view (search-view.ts), read up to the store first
  // when a change was told; text searches in the store
  if (view.dirty) await view.poll();
  const uids =
    searchView(view, query, announced) ??
    (await s.ctx.store.search(s.accountId, query, { mailboxId: view.mailbox.id }))
      .map((h) => h.uid ?? 0)
      .filter((u) => u <= announced && view.rows.has(u) && !view.pendingExpunge.has(u))
      .sort((a, b) => a - b);
  const nums = args.uid ? uids : uids.map((u) => view.seqOf(u)).sort((a, b) => a - b);
  const returns = args.returns ?? (s.rev2 ? ["ALL" as const] : null);
  let modseq: number | undefined;
  if (c.usesModseq && uids.length > 0) {
    // RFC 7162 §3.1.5: with MIN and/or MAX alone, the highest mod-sequence of the messages
    // returned; else of every message found
    const only = returns !== null && !returns.includes("ALL") && !returns.includes("COUNT");
    const told = only
      ? [
          returns.includes("MIN") ? uids[0] : undefined,
          returns.includes("MAX") ? uids[uids.length - 1] : undefined,
        ]
      : uids;
    for (const u of told) if (u !== undefined) modseq = Math.max(modseq ?? 0, view.rows.get(u)?.modseq ?? 0);
  }
  if (returns === null) {
    s.send(searchResponse(nums, modseq ?? null));
    return;
  }
  const want = new Set(returns);
  if (want.has("SAVE")) {
    // RFC 5182 §2.1: with MIN or MAX only (no ALL/COUNT), only those are saved
    if ((want.has("MIN") || want.has("MAX")) && !want.has("ALL") && !want.has("COUNT")) {
      const saved: number[] = [];
      if (want.has("MIN") && uids[0] !== undefined) saved.push(uids[0]);
      const last = uids[uids.length - 1];
      if (want.has("MAX") && last !== undefined && !saved.includes(last)) saved.push(last);
      view.saved = saved;
    } else view.saved = uids;
    if (want.size === 1) return; // SAVE alone: no ESEARCH response
  }
  const d: EsearchData = { tag, uid: args.uid };
  if (want.has("MIN") && nums.length > 0) d.min = nums[0];
  if (want.has("MAX") && nums.length > 0) d.max = nums[nums.length - 1];
  if (want.has("ALL")) d.all = nums;
  if (want.has("COUNT")) d.count = nums.length;
  if (modseq !== undefined) d.modseq = modseq;
  s.send(esearchResponse(d));
}

export const search = command<SearchArgs>({
  name: "SEARCH",
  states: SELECTED,
  noExpunge: true,
  handle: runSearch,
});
export const uidSearch = command<SearchArgs>({ name: "UID SEARCH", states: SELECTED, handle: runSearch });
