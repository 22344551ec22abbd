import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  REPLIES,
  ReplyParser,
  formatReply,
  formatReplyObject,
  parseReplyLines,
  reply,
  replyText,
} from "../../../src/protocols/smtp/wire/replies.ts";

describe("formatReply", () => {
  test("single line with and without enhanced code", () => {
    assert.equal(formatReply(250, "2.1.0", "Sender OK"), "250 2.1.0 Sender OK\r\n");
    assert.equal(formatReply(220, null, "mx.example ESMTP"), "220 mx.example ESMTP\r\n");
    assert.equal(formatReply(354, null, ""), "354\r\n");
  });
  test("multi-line: dashes then space, enhanced code on every line (RFC 2034 §4)", () => {
    assert.equal(
      formatReply(250, null, ["mx.example", "PIPELINING", "SIZE 10"]),
      "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 10\r\n",
    );
    assert.equal(formatReply(550, "5.7.1", ["no", "really"]), "550-5.7.1 no\r\n550 5.7.1 really\r\n");
  });
  test("CR/LF inside text become separate lines: no reply injection", () => {
    assert.equal(
      formatReply(250, "2.0.0", "a\r\n250 fake\nb"),
      "250-2.0.0 a\r\n250-2.0.0 250 fake\r\n250 2.0.0 b\r\n",
    );
  });
  test("programming errors throw RangeError", () => {
    assert.throws(() => formatReply(99, null, "x"), RangeError);
    assert.throws(() => formatReply(250, "5.0.0", "x"), RangeError);
    assert.throws(() => formatReply(250, "2.0", "x"), RangeError);
  });
  test("every named reply formats and its enhanced code fits its class", () => {
    for (const [name, r] of Object.entries(REPLIES)) {
      const s = formatReplyObject(r);
      assert.match(s, /^\d{3}[ \r]/, name);
      if (r.enhanced !== null) assert.equal(r.enhanced[0], String(r.code)[0], name);
    }
  });
  test("the replies named in the issue", () => {
    const want: Record<string, [number, string | null]> = {
      OK: [250, "2.0.0"],
      RELAY_DENIED: [550, "5.7.1"],
      NO_SUCH_USER: [550, "5.1.1"],
      MAILBOX_FULL: [452, "4.2.2"],
      MAILBOX_FULL_PERM: [552, "5.2.2"],
      TOO_MANY_RECIPIENTS: [452, "4.5.3"],
      MESSAGE_TOO_BIG: [552, "5.3.4"],
      SYNTAX: [500, "5.5.2"],
      PARAM_SYNTAX: [501, "5.5.4"],
      BAD_SEQUENCE: [503, "5.5.1"],
      NOT_IMPLEMENTED: [502, "5.5.1"],
      PARAM_NOT_RECOGNIZED: [555, "5.5.4"],
      AUTH_REQUIRED: [530, "5.7.0"],
      ENCRYPTION_REQUIRED: [538, "5.7.11"],
      AUTH_FAILED: [535, "5.7.8"],
      AUTH_TEMP: [454, "4.7.0"],
      TLS_NOT_AVAILABLE: [454, "4.7.0"],
      SENDER_NOT_ALLOWED: [553, "5.7.1"],
      SMUGGLING: [550, "5.6.0"],
      REQUIRETLS: [530, "5.7.10"],
      TOO_MANY_ERRORS: [421, "4.7.0"],
      TIMEOUT: [421, "4.4.2"],
      SHUTDOWN: [421, "4.3.2"],
      LOCAL_ERROR: [451, "4.3.0"],
    };
    for (const [name, [code, enh]] of Object.entries(want)) {
      const r = REPLIES[name as keyof typeof REPLIES];
      assert.deepEqual([r.code, r.enhanced], [code, enh], name);
    }
    assert.deepEqual(reply("NO_SUCH_USER", "unknown <x@y>"), {
      code: 550,
      enhanced: "5.1.1",
      text: "unknown <x@y>",
    });
  });
});

describe("reply parser", () => {
  test("single and multi-line replies with enhanced codes", () => {
    const p = new ReplyParser();
    assert.deepEqual(p.push("220 mx.example ESMTP\r\n250-2.0.0 a\r\n250-2.0.0 b\r\n"), [
      { code: 220, enhanced: null, lines: ["mx.example ESMTP"] },
    ]);
    assert.equal(p.pending, true);
    const [r] = p.push("250 2.0.0 c\r\n");
    assert.deepEqual(r, { code: 250, enhanced: "2.0.0", lines: ["a", "b", "c"] });
    assert.equal(replyText(r), "a\nb\nc");
    assert.equal(p.pending, false);
  });
  test("a bare code line, bare LF line ends, split across pushes", () => {
    const p = new ReplyParser();
    assert.deepEqual(p.push("35"), []);
    assert.deepEqual(p.push("4\n2"), [{ code: 354, enhanced: null, lines: [""] }]);
    assert.deepEqual(p.push("21 2.0.0 bye\r\n"), [{ code: 221, enhanced: "2.0.0", lines: ["bye"] }]);
  });
  test("an enhanced code of the wrong class stays text", () => {
    assert.deepEqual(parseReplyLines(["250 5.1.1 odd"]), { code: 250, enhanced: null, lines: ["5.1.1 odd"] });
  });
  test("inconsistent codes and garbage are flagged, not thrown", () => {
    assert.equal(parseReplyLines(["250-a", "251 b"]).error, "inconsistent-code");
    assert.equal(parseReplyLines(["hello"]).error, "malformed");
    assert.equal(parseReplyLines(["2500 x"]).error, "malformed");
    assert.equal(parseReplyLines(["250 a", "250 b"]).error, "malformed");
    assert.equal(parseReplyLines([]).error, "malformed");
    const p = new ReplyParser();
    const out = p.push("garbage\r\n250 ok\r\n");
    assert.equal(out[0]?.error, "malformed");
    assert.deepEqual(out[1], { code: 250, enhanced: null, lines: ["ok"] });
  });
  test("over-long lines and endless multi-line replies are bounded", () => {
    const p = new ReplyParser({ maxLineLength: 100, maxLines: 5 });
    const out = p.push("250 " + "x".repeat(200));
    assert.equal(out[0]?.error, "line-too-long");
    assert.deepEqual(p.push("y".repeat(300)), []);
    assert.deepEqual(p.push("zz\r\n250 ok\r\n"), [{ code: 250, enhanced: null, lines: ["ok"] }]);
    const many = p.push("250-a\r\n".repeat(6));
    assert.equal(many[0]?.error, "too-many-lines");
  });
  test("UTF-8 split across pushes (SMTPUTF8 reply text)", () => {
    const p = new ReplyParser();
    const bytes = Buffer.from("250 2.0.0 grüß\r\n");
    assert.deepEqual(p.push(bytes.subarray(0, 13)), []);
    assert.deepEqual(p.push(bytes.subarray(13)), [{ code: 250, enhanced: "2.0.0", lines: ["grüß"] }]);
  });
  test("property: format then parse is the identity", () => {
    const text = fc.string({ unit: fc.constantFrom("a", " ", "-", "1", ".", "é", "Z"), maxLength: 20 });
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 599 }),
        fc.boolean(),
        fc.array(text, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        (code, withEnh, lines, sizes) => {
          const enhanced =
            (withEnh && code >= 400) || (withEnh && code < 300)
              ? `${Math.floor(code / 100)}.1.${code % 10}`
              : null;
          const wire = Buffer.from(formatReply(code, enhanced, lines));
          const p = new ReplyParser();
          const out = [];
          for (let i = 0, k = 0; i < wire.length; k++) {
            const n = sizes[k % sizes.length]!;
            out.push(...p.push(wire.subarray(i, i + n)));
            i += n;
          }
          assert.equal(out.length, 1);
          assert.equal(out[0]!.code, code);
          if (enhanced === null) {
            // Text that itself looks like an enhanced code would be read as one: skip those.
            if (!/^[245]\.\d/.test(lines[0]!)) assert.deepEqual(out[0]!.lines, lines);
          } else {
            assert.equal(out[0]!.enhanced, enhanced);
            assert.deepEqual(out[0]!.lines, lines);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
  test("property: random bytes never throw", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 8 }), (chunks) => {
        const p = new ReplyParser({ maxLineLength: 64, maxLines: 4 });
        for (const c of chunks) for (const r of p.push(Buffer.from(c))) assert.equal(typeof r.code, "number");
      }),
      { numRuns: 1000 },
    );
  });
});
