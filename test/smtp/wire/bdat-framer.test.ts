import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BdatReader, encodeBdat } from "../../../src/protocols/smtp/wire/bdat.ts";
import { DataReader } from "../../../src/protocols/smtp/wire/data.ts";
import { InputFramer } from "../../../src/protocols/smtp/wire/framer.ts";
import { parseCommand } from "../../../src/protocols/smtp/wire/commands.ts";

const B = (s: string) => Buffer.from(s, "latin1");

type Seen = { kind: string; text: string };

/** A minimal session loop over the framer: what a server would see, in order. */
function drive(input: Buffer, sizes: number[], maxSize = Infinity): Seen[] {
  const f = new InputFramer();
  const bdat = new BdatReader({ maxSize });
  const seen: Seen[] = [];
  let pos = 0;
  let k = 0;
  while (pos < input.length) {
    const n = Math.max(1, sizes[k++ % sizes.length] ?? 1);
    f.push(input.subarray(pos, pos + n));
    pos += n;
    for (let e = f.next(); e; e = f.next()) {
      if (e.type === "line") {
        const r = parseCommand(e.line);
        if (!r.ok) {
          seen.push({ kind: "error", text: String(r.reply.code) });
          continue;
        }
        const c = r.command;
        seen.push({ kind: "cmd", text: c.verb });
        if (c.verb === "DATA") f.startData(new DataReader({ maxSize }));
        if (c.verb === "BDAT") {
          bdat.begin(c.size, c.last);
          f.startBdat(bdat);
        }
      } else if (e.type === "data")
        seen.push({ kind: "data", text: e.done.error ?? e.done.message.toString("latin1") });
      else if (e.type === "bdat") {
        if (e.result.done)
          seen.push({
            kind: "message",
            text: e.result.done.error ?? e.result.done.message.toString("latin1"),
          });
        else seen.push({ kind: "chunk", text: "" });
      } else seen.push({ kind: "too-long", text: "" });
    }
  }
  return seen;
}

describe("BDAT reader", () => {
  test("exactly n octets per chunk, any bytes, joined at LAST", () => {
    const r = new BdatReader();
    r.begin(5, false);
    let f = r.feed(B("a\0\n.\rREST"));
    assert.deepEqual(f, { consumed: 5, chunkDone: true });
    r.begin(3, true);
    f = r.feed(B("xy"));
    assert.deepEqual(f, { consumed: 2, chunkDone: false });
    assert.equal(r.remaining, 1);
    f = r.feed(B("zQUIT"));
    assert.equal(f.consumed, 1);
    assert.equal(f.done?.message.toString("latin1"), "a\0\n.\rxyz");
    assert.equal(f.done?.size, 8);
    assert.equal(r.size, 0); // reset after the message
  });
  test("BDAT 0 LAST completes at once", () => {
    const r = new BdatReader();
    r.begin(0, true);
    const f = r.feed(Buffer.alloc(0));
    assert.equal(f.chunkDone, true);
    assert.equal(f.done?.message.length, 0);
  });
  test("size accounting across chunks; too big reported at LAST", () => {
    const r = new BdatReader({ maxSize: 10 });
    r.begin(6, false);
    r.feed(B("123456"));
    assert.equal(r.tooBig, false);
    r.begin(6, true);
    const f = r.feed(B("7890ab"));
    assert.equal(f.done?.error, "too-big");
    assert.equal(f.done?.size, 12);
  });
  test("discarded chunks are read but not counted", () => {
    const r = new BdatReader();
    r.begin(4, true, true);
    const f = r.feed(B("abcdEHLO"));
    assert.deepEqual(f, { consumed: 4, chunkDone: true });
    assert.equal(r.size, 0);
  });
  test("begin with an open chunk is a caller bug", () => {
    const r = new BdatReader();
    r.begin(4, false);
    assert.throws(() => r.begin(1, true), RangeError);
  });
  test("encodeBdat", () => {
    assert.equal(encodeBdat(B("abc"), true).toString(), "BDAT 3 LAST\r\nabc");
  });
});

describe("framer: pipelining, DATA and BDAT", () => {
  const pipeline = B(
    "EHLO x.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nBDAT 12\r\nRSET\r\nQUIT\r\n" +
      "BDAT 10 LAST\r\n\0\n.\n\r\r\n.\r\nNOOP\r\nMAIL FROM:<c@x.example>\r\nRCPT TO:<d@y.example>\r\nDATA\r\n" +
      "line\r\n..dot\r\n.\r\nQUIT\r\n",
  );
  const expected: Seen[] = [
    { kind: "cmd", text: "EHLO" },
    { kind: "cmd", text: "MAIL" },
    { kind: "cmd", text: "RCPT" },
    { kind: "cmd", text: "BDAT" },
    { kind: "chunk", text: "" },
    { kind: "cmd", text: "BDAT" },
    { kind: "message", text: "RSET\r\nQUIT\r\n\0\n.\n\r\r\n.\r\n" },
    { kind: "cmd", text: "NOOP" },
    { kind: "cmd", text: "MAIL" },
    { kind: "cmd", text: "RCPT" },
    { kind: "cmd", text: "DATA" },
    { kind: "data", text: "line\r\n.dot\r\n" },
    { kind: "cmd", text: "QUIT" },
  ];
  test("commands inside BDAT chunks are body, never commands", () => {
    assert.deepEqual(drive(pipeline, [pipeline.length]), expected);
  });
  test("same result fed byte by byte and in random chunks", () => {
    assert.deepEqual(drive(pipeline, [1]), expected);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        assert.deepEqual(drive(pipeline, sizes), expected);
      }),
      { numRuns: 300 },
    );
  });
  test("over-long lines are reported once, at their end, and the stream goes on", () => {
    const input = B("NOOP " + "x".repeat(20000) + "\r\nQUIT\r\n");
    const want = [
      { kind: "too-long", text: "" },
      { kind: "cmd", text: "QUIT" },
    ];
    assert.deepEqual(drive(input, [input.length]), want);
    assert.deepEqual(drive(input, [7]), want);
    assert.deepEqual(drive(input, [6000]), want);
    // Under the framer's memory bound, the 512-octet command limit is parseCommand's.
    assert.deepEqual(drive(B("NOOP " + "x".repeat(2000) + "\r\nQUIT\r\n"), [100]), [
      { kind: "error", text: "500" },
      { kind: "cmd", text: "QUIT" },
    ]);
  });
  test("a smuggled DATA end does not split the message", () => {
    const input = B("DATA\r\nhello\n.\nMAIL FROM:<evil@x.example>\r\n.\r\nQUIT\r\n");
    assert.deepEqual(drive(input, [input.length]), [
      { kind: "cmd", text: "DATA" },
      { kind: "data", text: "bare-lf" },
      { kind: "cmd", text: "QUIT" },
    ]);
  });
  test("BDAT 0 LAST ends a message at once; an empty chunk between others", () => {
    const input = B("BDAT 3\r\nabcBDAT 0\r\nBDAT 0 LAST\r\nQUIT\r\n");
    const want = [
      { kind: "cmd", text: "BDAT" },
      { kind: "chunk", text: "" },
      { kind: "cmd", text: "BDAT" },
      { kind: "chunk", text: "" },
      { kind: "cmd", text: "BDAT" },
      { kind: "message", text: "abc" },
      { kind: "cmd", text: "QUIT" },
    ];
    assert.deepEqual(drive(input, [input.length]), want);
    assert.deepEqual(drive(input, [1]), want);
  });
  test("bare LF command lines reach parseCommand, which refuses them", () => {
    assert.deepEqual(drive(B("NOOP\nQUIT\r\n"), [3]), [
      { kind: "error", text: "500" },
      { kind: "cmd", text: "QUIT" },
    ]);
  });
  test("STARTTLS: discardBuffered drops pipelined input (RFC 3207 §6)", () => {
    const f = new InputFramer();
    f.push(B("STARTTLS\r\nMAIL FROM:<injected@x>\r\n"));
    const e = f.next();
    assert.equal(e?.type, "line");
    assert.equal(f.discardBuffered(), 24);
    assert.equal(f.next(), null);
    f.push(B("EHLO a\r\n"));
    const e2 = f.next();
    assert.equal(e2?.type === "line" && e2.line.toString(), "EHLO a\r\n");
  });
  test("property: random input never throws", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 5 }),
        (b, s) => {
          drive(Buffer.from(b), s, 50);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
