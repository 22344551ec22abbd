// SEARCH over the selected-mailbox view, without the store, for the keys the view holds: flags
// and keywords, UIDs and sequence sets, MODSEQ, the internal and saved dates, size, EMAILID and
// THREADID (RFC 9051 §6.4.4, RFC 7162 §3.1.5, RFC 8514 §4.3, RFC 8474 §6). A query with a key
// the view lacks (header, body and text searches, SENT* dates) is left to the store. The view
// is read up to the store first when a change was told (flags set by another session count),
// but only the messages announced to the client are found (a new one has no sequence number
// for the client yet); messages expunged elsewhere and not reported yet are not found either
// (as the store's search, which no longer has them).
import type { MessageRow, SearchQuery } from "../../../store/types.ts";
import type { SelectedMailbox } from "./selected.ts";

/** The store's limit on nesting (compile.ts); a deeper query goes to the store, which refuses it. */
const MAX_DEPTH = 100;

type Test = (row: MessageRow) => boolean;

/** RFC 9051 §2.3.2: flags and keywords compare case-insensitively (atoms: ASCII). */
function fold(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function inRanges(ranges: ReadonlyArray<readonly [number, number]>): Test {
  // sorted and merged, so that one binary search finds the only range that may hold a UID
  const merged: Array<[number, number]> = [];
  for (const [a, b] of ranges.map(([x, y]) => (x <= y ? [x, y] : [y, x])).sort((x, y) => x[0]! - y[0]!)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a! <= last[1] + 1) last[1] = Math.max(last[1], b!);
    else merged.push([a!, b!]);
  }
  return (row) => {
    let lo = 0;
    let hi = merged.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = merged[mid]!;
      if (row.uid < a) hi = mid - 1;
      else if (row.uid > b) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

function between(get: (row: MessageRow) => number, since?: number, before?: number): Test {
  return (row) => {
    const t = get(row);
    return (since === undefined || t >= since) && (before === undefined || t < before);
  };
}

/** The query as a test on a view row; null when a key needs the store. */
function compile(q: SearchQuery, depth: number): Test | null {
  if (depth > MAX_DEPTH) return null;
  switch (q.op) {
    case "all":
      return () => true;
    case "and":
    case "or": {
      const tests: Test[] = [];
      for (const t of q.terms) {
        const c = compile(t, depth + 1);
        if (c === null) return null;
        tests.push(c);
      }
      return q.op === "and" ? (row) => tests.every((t) => t(row)) : (row) => tests.some((t) => t(row));
    }
    case "not": {
      const c = compile(q.term, depth + 1);
      return c === null ? null : (row) => !c(row);
    }
    case "keyword": {
      const want = fold(q.keyword);
      return (row) => row.keywords.some((k) => fold(k) === want);
    }
    case "uid":
      return inRanges(q.ranges);
    case "emailIds": {
      const ids = new Set(q.ids);
      return (row) => ids.has(row.emailId);
    }
    case "threadIds": {
      const ids = new Set(q.ids);
      return (row) => ids.has(row.threadId);
    }
    case "modseq":
      return (row) => row.modseq >= q.min;
    case "received":
      // `local`: the wall-clock time in the internal date's own zone (BEFORE/ON/SINCE)
      return q.local === true
        ? between((row) => row.receivedAt + row.receivedTz * 60_000, q.since, q.before)
        : between((row) => row.receivedAt, q.since, q.before);
    case "saved":
      return between((row) => row.savedAt, q.since, q.before);
    case "size":
      return (row) =>
        (q.larger === undefined || row.size > q.larger) && (q.smaller === undefined || row.size < q.smaller);
    case "inMailbox":
    case "sent":
    case "header":
    case "body":
    case "text":
      return null;
  }
}

/**
 * The UIDs of the view that match, ascending, up to `maxUid` (the messages announced before a
 * poll made for the search); null when the query needs the store.
 */
export function searchView(
  view: SelectedMailbox,
  query: SearchQuery,
  maxUid = Number.MAX_SAFE_INTEGER,
): number[] | null {
  const test = compile(query, 0);
  if (test === null) return null;
  const out: number[] = [];
  for (const uid of view.uids) {
    if (uid > maxUid) break;
    const row = view.rows.get(uid);
    if (row !== undefined && !view.pendingExpunge.has(uid) && test(row)) out.push(uid);
  }
  return out;
}
