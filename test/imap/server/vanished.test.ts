// The VANISHED (EARLIER) fallback of src/protocols/imap/server/vanished.ts (RFC 7162 §3.2.5.2):
// pairing the sequence match data, the UID both views agree up to, the known UIDs that are
// gone; and the property that matters: whatever the client's view and sample, every UID it
// knew that was expunged is reported.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { agreedUid, missingUids, seqMatchPairs } from "../../../src/protocols/imap/server/vanished.ts";
import { parseSequenceSet, type SequenceSet } from "../../../src/protocols/imap/wire/index.ts";

function set(s: string): SequenceSet {
  const p = parseSequenceSet(s);
  assert.ok(p);
  return p;
}

describe("QRESYNC VANISHED fallback", () => {
  test("sequence match data: the ends of each UID range, paired by position", () => {
    assert.deepEqual(seqMatchPairs(set("1:3"), set("2,4,5")), [
      [1, 2],
      [2, 4],
      [3, 5],
    ]);
    // 1:20,23:33 holds 31 numbers; 41:60,65:75 too: position 19 is 20, 20 is 23, 30 is 33
    assert.deepEqual(seqMatchPairs(set("1:20,23:33"), set("41:60,65:75")), [
      [1, 41],
      [20, 60],
      [23, 65],
      [33, 75],
    ]);
    assert.equal(seqMatchPairs(set("1:3"), set("2,4")), null);
  });

  test("the run of agreeing pairs, and the known UIDs gone above it", () => {
    const now = [2, 4, 7, 8, 9, 11, 12];
    assert.equal(
      agreedUid(
        [
          [1, 2],
          [2, 4],
          [5, 7],
          [6, 8],
        ],
        now,
      ),
      4,
    );
    assert.equal(agreedUid([[1, 3]], now), 0);
    assert.deepEqual(missingUids([[1, 12]], now, 0, 13), [
      [1, 1],
      [3, 3],
      [5, 6],
      [10, 10],
    ]);
    assert.deepEqual(missingUids([[1, 12]], now, 4, 13), [
      [5, 6],
      [10, 10],
    ]);
    // bounded by UIDNEXT whatever the client claims to know
    assert.deepEqual(missingUids([[10, 4294967295]], now, 0, 13), [[10, 10]]);
    assert.deepEqual(missingUids([], now, 0, 13), []);
  });

  test("property: every known UID that was expunged is reported", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.array(fc.nat(40), { maxLength: 6 }),
        fc.integer({ min: 0, max: 10 }),
        (uidList, expunged, sampleAt, added) => {
          // the client's view: these UIDs, by message number
          const client = [...uidList].sort((a, b) => a - b);
          const last = client[client.length - 1] ?? 0;
          const gone = new Set(client.filter((_, i) => expunged[i] === true));
          // now: the client's messages less the expunged, plus new ones above them
          const now = [...client.filter((u) => !gone.has(u))];
          for (let i = 1; i <= added; i++) now.push(last + i);
          const uidNext = last + added + 1;
          // a sample of the client's (message number, UID) pairs, ascending
          const picks = [...new Set(sampleAt.map((i) => i % client.length))].sort((a, b) => a - b);
          const pairs = picks.map((i) => [i + 1, client[i] ?? 0] as const);
          const reported = missingUids([[1, last]], now, agreedUid(pairs, now), uidNext);
          for (const u of gone)
            assert.ok(
              reported.some(([lo, hi]) => u >= lo && u <= hi),
              `UID ${u} missing from ${JSON.stringify(reported)}`,
            );
          // and nothing that exists is reported
          for (const u of now) assert.ok(!reported.some(([lo, hi]) => u >= lo && u <= hi));
        },
      ),
      { numRuns: 500 },
    );
  });
});
