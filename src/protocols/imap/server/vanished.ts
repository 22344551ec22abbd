// VANISHED (EARLIER) for QRESYNC (RFC 7162 §3.2.5, §3.2.6) when the client's mod-sequence is
// older than the expunge history the store keeps (store.historyDays, src/store/retention.ts):
// the exact list of UIDs expunged since is gone, so the server reports every UID the client
// may know that does not exist now. It may name UIDs the client never had (the client ignores
// them, §3.2.5.1); it must not miss one. The client's known UIDs bound the report (all UIDs
// below UIDNEXT when it gave none, as Dovecot does), and the sequence match data (§3.2.5.2)
// cuts it further: where the client's message number of a UID is still that UID's number
// here, nothing below that UID was expunged.
import type { MailStore } from "../../../store/types.ts";
import { isStoreError } from "../../../core/errors.ts";
import type { Intervals, SequenceSet } from "../wire/index.ts";
import { MAX_NUMBER, resolveSequenceSet } from "../wire/index.ts";

/** A (message number, UID) pair of the client's view. */
export type SeqUidPair = readonly [seq: number, uid: number];

/**
 * The sequence match data as pairs, sampled as Dovecot does: the first and last UID of each
 * range of known-uid-set with the message numbers at the same positions of
 * known-sequence-set. Null when the two sets do not hold as many numbers (RFC 7162 §3.2.5.2:
 * they correspond one to one), which the caller answers with BAD.
 */
export function seqMatchPairs(seqs: SequenceSet, uids: SequenceSet): SeqUidPair[] | null {
  const seqIv = resolveSequenceSet(seqs, MAX_NUMBER);
  const uidIv = resolveSequenceSet(uids, MAX_NUMBER);
  let seqCount = 0;
  for (const [lo, hi] of seqIv) seqCount += hi - lo + 1;
  let uidCount = 0;
  for (const [lo, hi] of uidIv) uidCount += hi - lo + 1;
  if (seqCount !== uidCount) return null;
  // the message number at position n (0-based) of the sequence set; n only grows
  let iv = 0;
  let before = 0; // numbers in the intervals before seqIv[iv]
  const nth = (n: number): number => {
    for (;;) {
      const cur = seqIv[iv];
      if (cur === undefined) return 0;
      const len = cur[1] - cur[0] + 1;
      if (n < before + len) return cur[0] + (n - before);
      before += len;
      iv++;
    }
  };
  const pairs: SeqUidPair[] = [];
  let n = 0;
  for (const [lo, hi] of uidIv) {
    pairs.push([nth(n), lo]);
    if (hi > lo) {
      n += hi - lo;
      pairs.push([nth(n), hi]);
    }
    n++;
  }
  return pairs;
}

/**
 * RFC 7162 §3.2.5.2: the highest UID up to which the client's view and the mailbox agree. The
 * pairs are taken in order while each one's message number still holds its UID (then no
 * message below that UID was expunged: new messages only come above); the first that does not
 * ends the run. 0 when none agrees. `uids`: the mailbox's UIDs by message number - 1.
 */
export function agreedUid(pairs: readonly SeqUidPair[], uids: readonly number[]): number {
  let agreed = 0;
  for (const [seq, uid] of pairs) {
    if (uid <= agreed || uids[seq - 1] !== uid) break;
    agreed = uid;
  }
  return agreed;
}

/**
 * The UIDs of `known` above `above` and below `uidNext` that `exists` does not hold, as
 * intervals. `known`: sorted disjoint intervals; `exists`: ascending UIDs.
 */
export function missingUids(
  known: Intervals,
  exists: readonly number[],
  above: number,
  uidNext: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = lowerBound(exists, above + 1);
  for (const [klo, khi] of known) {
    const lo = Math.max(klo, above + 1);
    const hi = Math.min(khi, uidNext - 1);
    if (lo > hi) continue;
    let next = lo;
    while (i < exists.length && (exists[i] ?? 0) < lo) i++;
    for (; i < exists.length && (exists[i] ?? 0) <= hi; i++) {
      const u = exists[i] ?? 0;
      if (u > next) out.push([next, u - 1]);
      next = u + 1;
    }
    if (next <= hi) out.push([next, hi]);
  }
  return out;
}

function lowerBound(sorted: readonly number[], v: number): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((sorted[m] ?? 0) < v) a = m + 1;
    else b = m;
  }
  return a;
}

/**
 * What VANISHED (EARLIER) reports for a client at mod-sequence `since` that knows the UIDs of
 * `known` (RFC 7162 §3.2.5 SELECT/EXAMINE, §3.2.6 UID FETCH ... VANISHED): the UIDs expunged
 * since, from the store's tombstones while it still has them; else the known UIDs that do not
 * exist now (in `exists`, ascending), above the UID the sequence match data agrees on.
 */
export async function vanishedSince(
  store: MailStore,
  accountId: string,
  mailbox: { id: string; uidNext: number },
  since: number,
  known: SequenceSet | null,
  exists: readonly number[],
  pairs: readonly SeqUidPair[] | null = null,
): Promise<Intervals> {
  let gone: number[];
  try {
    gone = await store.expungedSince(accountId, mailbox.id, since);
  } catch (e) {
    if (!isStoreError(e, "LIMIT")) throw e;
    // the tombstones after `since` were dropped (RFC 7162 §3.2.5.2 fallback)
    const knownIv =
      known === null ? [[1, mailbox.uidNext - 1] as const] : resolveSequenceSet(known, MAX_NUMBER);
    return missingUids(knownIv, exists, pairs === null ? 0 : agreedUid(pairs, exists), mailbox.uidNext);
  }
  const present = new Set(exists);
  let hit = gone.filter((u) => !present.has(u));
  if (known !== null) {
    // every tombstone is below UIDNEXT: "*" may stand for any number from there
    const ranges = resolveSequenceSet(known, MAX_NUMBER);
    hit = hit.filter((u) => ranges.some(([lo, hi]) => u >= lo && u <= hi));
  }
  return hit.map((u) => [u, u] as const);
}
