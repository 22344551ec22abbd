import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bad, ok } from "./helpers.ts";

describe("FETCH", () => {
  test("RFC 9051 §6.4.5 example: FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])", () => {
    assert.deepEqual(ok("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])"), {
      type: "fetch",
      uid: false,
      set: { kind: "ranges", ranges: [{ start: 2, end: 4 }] },
      items: [
        { kind: "simple", name: "FLAGS" },
        { kind: "body", peek: false, section: { part: [], text: "HEADER.FIELDS", fields: ["DATE", "FROM"] }, partial: null },
      ],
      macro: null,
      changedSince: null,
      vanished: false,
    });
  });

  test("macros expand (RFC 9051 §6.4.5)", () => {
    const all = ok("a FETCH 1 ALL");
    assert.ok(all.type === "fetch");
    assert.equal(all.macro, "ALL");
    assert.deepEqual(
      all.items.map((i) => (i.kind === "simple" ? i.name : i.kind)),
      ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
    );
    const full = ok("a fetch 1:* full");
    assert.ok(full.type === "fetch" && full.items.length === 5);
    const fast = ok("a FETCH $ FAST");
    assert.ok(fast.type === "fetch" && fast.items.length === 3 && fast.set.kind === "saved");
    bad("a FETCH 1 (ALL)");
  });

  test("sections, partials, PEEK", () => {
    const f = ok("a UID FETCH 1,3:5 (BODY.PEEK[1.2.MIME] BODY[]<0.2048> BODY[3.TEXT] body[4.header] BODY[HEADER.FIELDS.NOT (Received \"X-Y\")] BODYSTRUCTURE BODY)");
    assert.ok(f.type === "fetch" && f.uid);
    assert.deepEqual(f.items, [
      { kind: "body", peek: true, section: { part: [1, 2], text: "MIME", fields: [] }, partial: null },
      { kind: "body", peek: false, section: { part: [], text: null, fields: [] }, partial: { offset: 0, length: 2048 } },
      { kind: "body", peek: false, section: { part: [3], text: "TEXT", fields: [] }, partial: null },
      { kind: "body", peek: false, section: { part: [4], text: "HEADER", fields: [] }, partial: null },
      { kind: "body", peek: false, section: { part: [], text: "HEADER.FIELDS.NOT", fields: ["Received", "X-Y"] }, partial: null },
      { kind: "simple", name: "BODYSTRUCTURE" },
      { kind: "simple", name: "BODY" },
    ]);
  });

  test("BINARY, BINARY.PEEK, BINARY.SIZE (RFC 3516 §4.2)", () => {
    const f = ok("a FETCH 1 (BINARY[1] BINARY.PEEK[1.2]<10.20> BINARY.SIZE[3] BINARY[] BINARY.PEEK[5]<15>)");
    assert.ok(f.type === "fetch");
    const sec = (part: number[]) => ({ part, text: null, fields: [] });
    assert.deepEqual(f.items, [
      { kind: "binary", peek: false, section: sec([1]), partial: null },
      { kind: "binary", peek: true, section: sec([1, 2]), partial: { offset: 10, length: 20 } },
      { kind: "binary.size", section: sec([3]) },
      { kind: "binary", peek: false, section: sec([]), partial: null },
      { kind: "binary", peek: true, section: sec([5]), partial: { offset: 15, length: null } },
    ]);
    // beyond RFC 3516, as Dovecot: the section texts of BODY[]
    const t = ok("a FETCH 1 (BINARY[TEXT] BINARY.SIZE[2.HEADER.FIELDS (From)] BINARY.PEEK[1.MIME])");
    assert.ok(t.type === "fetch");
    assert.deepEqual(t.items, [
      { kind: "binary", peek: false, section: { part: [], text: "TEXT", fields: [] }, partial: null },
      { kind: "binary.size", section: { part: [2], text: "HEADER.FIELDS", fields: ["From"] } },
      { kind: "binary", peek: true, section: { part: [1], text: "MIME", fields: [] }, partial: null },
    ]);
    bad("a FETCH 1 BINARY[TEXT.1]");
    bad("a FETCH 1 BINARY[MIME]");
    bad("a FETCH 1 BINARY[1]<>");
    bad("a FETCH 1 BINARY");
  });

  test("CONDSTORE/QRESYNC modifiers (RFC 7162 §3.1.4.1, §3.2.6 examples)", () => {
    const f = ok("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)");
    assert.ok(f.type === "fetch" && f.changedSince === 12345 && !f.vanished);
    const v = ok("s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
    assert.ok(v.type === "fetch" && v.vanished && v.uid);
    bad("s FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
    bad("s UID FETCH 300:500 (FLAGS) (VANISHED)");
    bad("s UID FETCH 1 FLAGS (CHANGEDSINCE x)");
    const m = ok("a FETCH 1 (MODSEQ FLAGS)");
    assert.ok(m.type === "fetch" && m.items[0]?.kind === "simple" && m.items[0].name === "MODSEQ");
  });

  test("OBJECTID, SAVEDATE, PREVIEW (RFC 8474, 8514, 8970)", () => {
    const f = ok("a FETCH 1 (EMAILID THREADID SAVEDATE PREVIEW)");
    assert.ok(f.type === "fetch");
    assert.deepEqual(f.items.map((i) => (i.kind === "simple" ? i.name : i.kind)), ["EMAILID", "THREADID", "SAVEDATE", "preview"]);
    const p = ok("a FETCH 1:3 (UID PREVIEW (LAZY))");
    assert.ok(p.type === "fetch");
    assert.deepEqual(p.items[1], { kind: "preview", lazy: true });
    const p2 = ok("a FETCH 1 PREVIEW (LAZY)");
    assert.ok(p2.type === "fetch" && p2.items[0]?.kind === "preview" && p2.items[0].lazy);
    const p3 = ok("a UID FETCH 1 PREVIEW (CHANGEDSINCE 5)");
    assert.ok(p3.type === "fetch" && p3.changedSince === 5);
    bad("a FETCH 1 (PREVIEW (FOO))");
  });

  test("invalid FETCH", () => {
    for (const s of [
      "a FETCH",
      "a FETCH 1",
      "a FETCH 0 FLAGS",
      "a FETCH 1:x FLAGS",
      "a FETCH 1 (FLAGS",
      "a FETCH 1 (FLAGS))",
      "a FETCH 1 (FLAGS  UID)",
      "a FETCH 1 FOO",
      "a FETCH 1 BODY[1.0]",
      "a FETCH 1 BODY[MIME]",
      "a FETCH 1 BODY[HEADER.FIELDS]",
      "a FETCH 1 BODY[]<0.0>",
      "a FETCH 1 BODY.PEEK",
      "a FETCH 1 BODY[TEXT.1]",
      "a FETCH 1 FLAGS ",
      "a FETCH 4294967296 FLAGS",
    ])
      bad(s);
  });
});
