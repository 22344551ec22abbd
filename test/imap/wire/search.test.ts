import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bad, ok } from "./helpers.ts";
import type { SearchArgs, SearchKey } from "../../../src/protocols/imap/wire/commands/search.ts";

function keys(s: string): SearchKey[] {
  const a = ok(s) as SearchArgs;
  assert.equal(a.type, "search");
  return a.criteria.operands;
}

const day = (year: number, month: number, d: number) => ({ year, month, day: d });

describe("SEARCH", () => {
  test("RFC 9051 §6.4.4 examples", () => {
    assert.deepEqual(keys('A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'), [
      { key: "FLAGGED" },
      { key: "SINCE", date: day(1994, 2, 1) },
      { key: "NOT", operand: { key: "FROM", value: "Smith" } },
    ]);
    const a = ok('A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"') as SearchArgs;
    assert.deepEqual(a.returns, ["MIN", "COUNT"]);
    const b = ok('A284 SEARCH CHARSET UTF-8 TEXT {8+}\r\nэтот') as SearchArgs;
    assert.equal(b.charset, "UTF-8");
    assert.deepEqual(b.criteria.operands, [{ key: "TEXT", value: "этот" }]);
    assert.deepEqual(keys("A285 SEARCH RETURN () TEXT \"x\""), [{ key: "TEXT", value: "x" }]);
    assert.deepEqual((ok("A285 SEARCH RETURN () TEXT x") as SearchArgs).returns, ["ALL"]);
  });

  test("every RFC 9051 key", () => {
    const k = keys(
      'a SEARCH ALL ANSWERED BCC b BEFORE "1-Jan-2020" BODY x CC c DELETED DRAFT FLAGGED FROM f HEADER Subject "" KEYWORD $Forwarded LARGER 10 ON 2-Mar-2021 SEEN SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 SINCE 1-Jan-2000 SMALLER 99 SUBJECT s TEXT t TO o UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD foo UNSEEN 2,4:* NEW OLD RECENT',
    );
    assert.equal(k.length, 34);
    assert.deepEqual(k[4], { key: "BODY", value: "x" });
    assert.deepEqual(k[10], { key: "HEADER", field: "Subject", value: "" });
    assert.deepEqual(k[11], { key: "KEYWORD", flag: "$Forwarded" });
    assert.deepEqual(k[23], { key: "UID", set: { kind: "ranges", ranges: [{ start: 1, end: "*" }] } });
    assert.deepEqual(k[28], { key: "UNKEYWORD", flag: "foo" });
    assert.deepEqual(k[30], { key: "SEQ", set: { kind: "ranges", ranges: [{ start: 2, end: 2 }, { start: 4, end: "*" }] } });
  });

  test("OR, NOT, parentheses nest", () => {
    assert.deepEqual(keys("a SEARCH OR (SEEN FLAGGED) NOT OR 1 2"), [
      {
        key: "OR",
        left: { key: "AND", operands: [{ key: "SEEN" }, { key: "FLAGGED" }] },
        right: {
          key: "NOT",
          operand: {
            key: "OR",
            left: { key: "SEQ", set: { kind: "ranges", ranges: [{ start: 1, end: 1 }] } },
            right: { key: "SEQ", set: { kind: "ranges", ranges: [{ start: 2, end: 2 }] } },
          },
        },
      },
    ]);
  });

  test("extension keys: MODSEQ, WITHIN, OBJECTID, SAVEDATE, SEARCHRES", () => {
    // RFC 7162 §3.1.5 examples
    assert.deepEqual(keys("a SEARCH MODSEQ 620162338"), [{ key: "MODSEQ", modseq: 620162338, entry: null }]);
    assert.deepEqual(keys('a SEARCH MODSEQ "/flags/\\\\draft" all 620162338'), [{ key: "MODSEQ", modseq: 620162338, entry: { flag: "\\draft", type: "all" } }]);
    // RFC 5032 §3
    assert.deepEqual(keys("a SEARCH YOUNGER 3600 OLDER 60"), [
      { key: "YOUNGER", seconds: 3600 },
      { key: "OLDER", seconds: 60 },
    ]);
    // RFC 8474 §6
    assert.deepEqual(keys("a UID SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9"), [
      { key: "EMAILID", id: "M6d99ac3275bb4e" },
      { key: "THREADID", id: "T64b478a75b7ea9" },
    ]);
    // RFC 8514 §4.3
    assert.deepEqual(keys("a SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020 SAVEDATESUPPORTED"), [
      { key: "SAVEDBEFORE", date: day(2020, 1, 1) },
      { key: "SAVEDON", date: day(2020, 1, 2) },
      { key: "SAVEDSINCE", date: day(2020, 1, 3) },
      { key: "SAVEDATESUPPORTED" },
    ]);
    // RFC 5182 §2.4 examples
    const s = ok("A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"") as SearchArgs;
    assert.deepEqual(s.returns, ["SAVE"]);
    assert.deepEqual(keys("A283 SEARCH $ SMALLER 4096"), [{ key: "SEQ", set: { kind: "saved" } }, { key: "SMALLER", size: 4096 }]);
    assert.deepEqual(keys("A284 UID SEARCH UID $"), [{ key: "UID", set: { kind: "saved" } }]);
  });

  test("CHARSET decodes strings", () => {
    const a = ok(Buffer.concat([Buffer.from("a SEARCH CHARSET ISO-8859-1 SUBJECT {3+}\r\n"), Buffer.from([0x63, 0x61, 0xe9]), Buffer.from("\r\n")])) as SearchArgs;
    assert.deepEqual(a.criteria.operands, [{ key: "SUBJECT", value: "caé" }]);
  });

  test("limits: nesting and number of keys", () => {
    const deep = "a SEARCH " + "(".repeat(100) + "ALL" + ")".repeat(100);
    assert.match(bad(deep), /nested/);
    const nots = "a SEARCH " + "NOT ".repeat(100) + "ALL";
    assert.match(bad(nots), /nested/);
    const many = "a SEARCH " + Array.from({ length: 2000 }, () => "SEEN").join(" ");
    assert.match(bad(many), /Too many/);
  });

  test("invalid SEARCH", () => {
    for (const s of [
      "a SEARCH",
      "a SEARCH FOO",
      "a SEARCH SINCE 32-Jan-2020",
      "a SEARCH SINCE 1-Foo-2020",
      "a SEARCH SINCE",
      "a SEARCH OR SEEN",
      "a SEARCH (SEEN",
      "a SEARCH SEEN)",
      "a SEARCH RETURN (FOO) ALL",
      "a SEARCH RETURN (MIN ALL",
      "a SEARCH LARGER x",
      "a SEARCH YOUNGER 0",
      "a SEARCH EMAILID a.b",
      'a SEARCH MODSEQ "/flags/x" bogus 5',
      "a SEARCH ALL  SEEN",
      "a SEARCH CHARSET",
      "a SEARCH HEADER Subject",
    ])
      bad(s);
  });
});
