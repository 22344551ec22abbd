// IMAP sequence sets (RFC 9051 §9 sequence-set, seq-number, seq-range; "$" is the saved result
// of RFC 5182 SEARCHRES). "*" stays symbolic until resolved against the mailbox's largest
// number (message count or largest UID).

/** A number or "*" (the largest number in use, RFC 9051 §9 seq-number). */
export type SeqNumber = number | "*";

/** One range; a single number has start === end. Order as written ("5:2" is kept). */
export interface SeqRange {
  start: SeqNumber;
  end: SeqNumber;
}

/** A parsed sequence set: explicit ranges, or "$", the saved search result (RFC 5182 §2.1). */
export type SequenceSet = { kind: "ranges"; ranges: SeqRange[] } | { kind: "saved" };

/** RFC 9051 §9: nz-number = digit-nz *DIGIT, at most 4,294,967,295 (number range). */
export const MAX_NUMBER = 4294967295;

function parseSeqNumber(s: string): SeqNumber | null {
  if (s === "*") return "*";
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_NUMBER ? n : null;
}

/** Parses "1:3,5,7:*" or "$". Null when malformed (the parser turns that into BAD). */
export function parseSequenceSet(s: string): SequenceSet | null {
  if (s === "$") return { kind: "saved" };
  if (s.length === 0) return null;
  const ranges: SeqRange[] = [];
  for (const piece of s.split(",")) {
    const colon = piece.indexOf(":");
    if (colon < 0) {
      const n = parseSeqNumber(piece);
      if (n === null) return null;
      ranges.push({ start: n, end: n });
    } else {
      const a = parseSeqNumber(piece.slice(0, colon));
      const b = parseSeqNumber(piece.slice(colon + 1));
      if (a === null || b === null) return null;
      ranges.push({ start: a, end: b });
    }
  }
  return { kind: "ranges", ranges };
}

/** Prints a set as parsed ("$" for the saved result). */
export function formatSequenceSet(set: SequenceSet): string {
  if (set.kind === "saved") return "$";
  return set.ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}:${r.end}`)).join(",");
}

/**
 * The set as sorted, merged, inclusive [lo, hi] intervals within 1..max, "*" read as `max`
 * (RFC 9051 §9: "*" is the largest number in use; a range is the same in either order, so
 * "559:*" with max 10 is 10:559 and matches 10, which RFC 9051 §6.4.8 asks for UID ranges).
 * An empty mailbox (max 0) gives no intervals. Throws on "$": resolve the saved set first.
 */
export function resolveSequenceSet(set: SequenceSet, max: number): Array<[number, number]> {
  if (set.kind === "saved")
    throw new Error("resolveSequenceSet: the saved result ($) must be substituted first");
  if (max <= 0) return [];
  const raw: Array<[number, number]> = [];
  for (const r of set.ranges) {
    const a = r.start === "*" ? max : r.start;
    const b = r.end === "*" ? max : r.end;
    const lo = Math.max(1, Math.min(a, b));
    const hi = Math.min(max, Math.max(a, b));
    if (lo <= hi) raw.push([lo, hi]);
  }
  raw.sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const iv of raw) {
    const last = out[out.length - 1];
    if (last !== undefined && iv[0] <= last[1] + 1) last[1] = Math.max(last[1], iv[1]);
    else out.push([iv[0], iv[1]]);
  }
  return out;
}

/** Every number of the set within 1..max, ascending, each once. */
export function* iterateSequenceSet(set: SequenceSet, max: number): Generator<number> {
  for (const [lo, hi] of resolveSequenceSet(set, max)) for (let n = lo; n <= hi; n++) yield n;
}

/** True when `n` (1..max) is in the set. */
export function sequenceSetContains(set: SequenceSet, n: number, max: number): boolean {
  if (set.kind === "saved") return false;
  for (const r of set.ranges) {
    const a = r.start === "*" ? max : r.start;
    const b = r.end === "*" ? max : r.end;
    if (n >= Math.min(a, b) && n <= Math.max(a, b) && n >= 1 && n <= max) return true;
  }
  return false;
}

/** True when the set mentions "*" (UID SEARCH/FETCH of "*" in an empty mailbox differ). */
export function sequenceSetHasStar(set: SequenceSet): boolean {
  return set.kind === "ranges" && set.ranges.some((r) => r.start === "*" || r.end === "*");
}

/**
 * The shortest set string for a list of numbers ("1:3,5"), as UIDPLUS COPYUID/APPENDUID,
 * ESEARCH ALL and VANISHED use (RFC 4315 §3, RFC 4731 §3.1). Unsorted input and duplicates are
 * accepted. Empty input gives "".
 */
export function compressUids(uids: readonly number[]): string {
  let sorted = uids;
  for (let i = 1; i < uids.length; i++) {
    if ((uids[i] ?? 0) <= (uids[i - 1] ?? 0)) {
      sorted = [...new Set(uids)].sort((a, b) => a - b);
      break;
    }
  }
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] ?? 0;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) {
      i++;
      end++;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}

/** Sorted, disjoint inclusive [lo, hi] intervals (what resolveSequenceSet gives). */
export type Intervals = ReadonlyArray<readonly [number, number]>;

/** The set string for intervals ("1:3,5"); adjacent ones are joined. Empty input gives "". */
export function formatIntervals(intervals: Intervals): string {
  const parts: string[] = [];
  let cur: [number, number] | null = null;
  const flush = (): void => {
    if (cur !== null) parts.push(cur[0] === cur[1] ? String(cur[0]) : `${cur[0]}:${cur[1]}`);
  };
  for (const [lo, hi] of intervals) {
    if (cur !== null && lo <= cur[1] + 1) cur[1] = Math.max(cur[1], hi);
    else {
      flush();
      cur = [lo, hi];
    }
  }
  flush();
  return parts.join(",");
}

/**
 * The set string for a list kept in the given order (COPYUID pairs source and destination
 * UIDs by position, RFC 4315 §3): runs ascending by one become ranges, nothing is reordered.
 */
export function compressOrdered(nums: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < nums.length) {
    const start = nums[i] ?? 0;
    let end = start;
    while (i + 1 < nums.length && nums[i + 1] === end + 1) {
      i++;
      end++;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}
