import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compressOrdered,
  compressUids,
  formatSequenceSet,
  iterateSequenceSet,
  parseSequenceSet,
  resolveSequenceSet,
  sequenceSetContains,
  sequenceSetHasStar,
} from "../../../src/protocols/imap/wire/sequence-set.ts";

describe("sequence sets", () => {
  test("parse and print", () => {
    for (const s of ["1", "1:3", "2,4:7,9,12:*", "*", "*:4", "$", "4294967295"]) {
      const set = parseSequenceSet(s);
      assert.ok(set !== null, s);
      assert.equal(formatSequenceSet(set), s);
    }
    for (const s of ["", "0", "1:0", "01", "1,", ",1", "1::2", "a", "4294967296", "1:2:3", "$,1", "-1", " 1"]) assert.equal(parseSequenceSet(s), null, s);
  });

  test("RFC 9051 §9 examples resolve against a mailbox of 15", () => {
    // "2,4:7,9,12:*" is 2,4,5,6,7,9,12,13,14,15 for a mailbox with 15 messages
    assert.deepEqual([...iterateSequenceSet(parseSequenceSet("2,4:7,9,12:*")!, 15)], [2, 4, 5, 6, 7, 9, 12, 13, 14, 15]);
    // "*:4" is 4:15; "5:*" in a mailbox of 3 is 3:5, so 3 (RFC 9051 §6.4.8 for UIDs)
    assert.deepEqual(resolveSequenceSet(parseSequenceSet("*:4")!, 15), [[4, 15]]);
    assert.deepEqual(resolveSequenceSet(parseSequenceSet("5:*")!, 3), [[3, 3]]);
    assert.deepEqual(resolveSequenceSet(parseSequenceSet("1:*")!, 0), []);
    assert.deepEqual(resolveSequenceSet(parseSequenceSet("3,1:2,10:20,5")!, 12), [[1, 3], [5, 5], [10, 12]]);
    assert.throws(() => resolveSequenceSet({ kind: "saved" }, 5));
  });

  test("contains and star", () => {
    const s = parseSequenceSet("2,4:*")!;
    assert.ok(sequenceSetContains(s, 2, 9));
    assert.ok(!sequenceSetContains(s, 3, 9));
    assert.ok(sequenceSetContains(s, 9, 9));
    assert.ok(!sequenceSetContains(s, 10, 9));
    assert.ok(sequenceSetHasStar(s));
    assert.ok(!sequenceSetHasStar(parseSequenceSet("1:4")!));
  });

  test("compress", () => {
    assert.equal(compressUids([1, 2, 3, 5]), "1:3,5");
    assert.equal(compressUids([5, 3, 1, 2, 2]), "1:3,5");
    assert.equal(compressUids([]), "");
    assert.equal(compressUids([7]), "7");
    assert.equal(compressOrdered([304, 319, 320]), "304,319:320");
    assert.equal(compressOrdered([3, 2, 1]), "3,2,1");
  });

  test("property: compress then parse gives the same numbers", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 200 }), (nums) => {
        const s = compressUids(nums);
        const want = [...new Set(nums)].sort((a, b) => a - b);
        if (want.length === 0) return s === "";
        const set = parseSequenceSet(s);
        assert.ok(set !== null);
        assert.deepEqual([...iterateSequenceSet(set, 500)], want);
        // shortest: no two ranges could be merged
        const ranges = resolveSequenceSet(set, 500);
        assert.equal(ranges.length, s.split(",").length);
        return true;
      }),
    );
  });

  test("property: resolve agrees with contains", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant("*" as const)), fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant("*" as const))), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 30 }),
        (pairs, max) => {
          const set = { kind: "ranges" as const, ranges: pairs.map(([start, end]) => ({ start, end })) };
          const got = new Set(iterateSequenceSet(set, max));
          for (let n = 1; n <= max; n++) assert.equal(got.has(n), sequenceSetContains(set, n, max));
          return true;
        },
      ),
    );
  });
});
