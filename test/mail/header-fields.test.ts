// HEADER.FIELDS / HEADER.FIELDS.NOT byte selection (RFC 9051 §6.4.5) and asRaw values.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { rawFields, rawHeaderValues, selectHeaderFields } from "../../src/mail/header-fields.ts";
import { parseMessage } from "../../src/mail/parse.ts";

void describe("raw header fields", () => {
  const raw = Buffer.from(
    "Subject: a\r\n folded\r\nFrom: x@y\r\nX-Junk\r\nsubject: second\r\nTo : t@u\r\n\r\nbody",
  );
  const pm = parseMessage(raw);
  const { headerStart: s, headerEnd: e } = pm.root;
  void test("fields with offsets", () => {
    const f = rawFields(raw, s, e);
    assert.deepEqual(
      f.map((x) => x.name),
      ["Subject", "From", "subject", "To"],
    );
    assert.equal(raw.toString("latin1", f[0]!.start, f[0]!.end), "Subject: a\r\n folded\r\n");
  });
  void test("HEADER.FIELDS keeps bytes, order and folding, and ends with the blank line", () => {
    assert.equal(
      selectHeaderFields(raw, s, e, ["SUBJECT", "to"]).toString(),
      "Subject: a\r\n folded\r\nsubject: second\r\nTo : t@u\r\n\r\n",
    );
    assert.equal(selectHeaderFields(raw, s, e, ["nothing"]).toString(), "\r\n");
  });
  void test("HEADER.FIELDS.NOT", () => {
    assert.equal(
      selectHeaderFields(raw, s, e, ["subject"], true).toString(),
      "From: x@y\r\nTo : t@u\r\n\r\n",
    );
  });
  void test("bare LF blocks and header-only messages", () => {
    const lf = Buffer.from("A: 1\nB: 2\n\nbody");
    const p = parseMessage(lf);
    assert.equal(selectHeaderFields(lf, p.root.headerStart, p.root.headerEnd, ["b"]).toString(), "B: 2\n\n");
    const only = Buffer.from("A: 1\r\nB: 2");
    const q = parseMessage(only);
    assert.equal(
      selectHeaderFields(only, q.root.headerStart, q.root.headerEnd, ["b"]).toString(),
      "B: 2\r\n\r\n",
    );
  });
  void test("asRaw values", () => {
    assert.deepEqual(rawHeaderValues(raw, s, e, "subject"), [" a\r\n folded", " second"]);
    assert.deepEqual(rawHeaderValues(raw, s, e, "missing"), []);
  });
});
