import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DataReader,
  DotStuffer,
  dotStuff,
  encodeData,
  normalizeLineEnds,
} from "../../../src/protocols/smtp/wire/data.ts";
import type { DataDone, DataReaderOptions } from "../../../src/protocols/smtp/wire/data.ts";

const B = (s: string) => Buffer.from(s, "latin1");

/** Feeds the input in the given chunk sizes; answers the result and the unconsumed rest. */
function read(
  input: Buffer,
  sizes: number[] = [input.length],
  opts?: number | DataReaderOptions,
): { done?: DataDone; rest: Buffer } {
  const r = new DataReader(typeof opts === "number" ? { maxSize: opts } : (opts ?? {}));
  let pos = 0;
  let k = 0;
  while (pos < input.length) {
    const n = Math.max(1, sizes[k++ % sizes.length] ?? 1);
    const chunk = input.subarray(pos, Math.min(input.length, pos + n));
    const f = r.feed(chunk);
    assert.ok(f.consumed <= chunk.length);
    if (f.done)
      return {
        done: f.done,
        rest: Buffer.concat([chunk.subarray(f.consumed), input.subarray(pos + chunk.length)]),
      };
    assert.equal(f.consumed, chunk.length);
    pos += chunk.length;
  }
  return { rest: Buffer.alloc(0) };
}

function bytewise(input: Buffer): { done?: DataDone; rest: Buffer } {
  return read(input, [1]);
}

describe("DATA reader", () => {
  test("simple message, terminator, rest left for the next command", () => {
    const { done, rest } = read(B("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n"));
    assert.equal(done?.message.toString(), "Subject: x\r\n\r\nhello\r\n");
    assert.equal(done?.error, undefined);
    assert.equal(done?.size, 21);
    assert.equal(rest.toString(), "QUIT\r\n");
  });
  test("empty message: the DATA line's CRLF starts the first line", () => {
    const { done, rest } = read(B(".\r\nRSET\r\n"));
    assert.equal(done?.message.length, 0);
    assert.equal(rest.toString(), "RSET\r\n");
  });
  test("dot-unstuffing (RFC 5321 §4.5.2)", () => {
    const { done } = read(B("..hidden\r\n...\r\n.x\r\na.b\r\n..\r\n.\r\n"));
    assert.equal(done?.message.toString(), ".hidden\r\n..\r\nx\r\na.b\r\n.\r\n");
  });
  test("the terminator split across every chunk boundary gives the same result", () => {
    const input = B("a\r\n..b\r\nc\r\n.\r\nNEXT");
    const whole = read(input);
    for (let cut = 1; cut < input.length; cut++) {
      const r = read(input, [cut, input.length]);
      assert.deepEqual(r.done, whole.done, `cut ${cut}`);
      assert.deepEqual(r.rest, whole.rest, `cut ${cut}`);
    }
    assert.deepEqual(bytewise(input), whole);
  });
  test("no end yet: consumes everything, no result", () => {
    const r = new DataReader();
    assert.deepEqual(r.feed(B("abc\r\n.")), { consumed: 6 });
    assert.deepEqual(r.feed(B("\r")), { consumed: 1 });
    const f = r.feed(B("\nX"));
    assert.equal(f.consumed, 1);
    assert.equal(f.done?.message.toString(), "abc\r\n");
    assert.deepEqual(r.feed(B("more")), { consumed: 0 });
    assert.equal(r.done, true);
  });
  test("binary octets and NUL pass through; 8-bit untouched", () => {
    const body = Buffer.from([0, 1, 2, 255, 0x80, 0x2e, 13, 10]);
    const { done } = read(Buffer.concat([body, B(".\r\n")]));
    assert.deepEqual(done?.message, body);
  });
});

describe("SMTP smuggling set", () => {
  // Each case: input after DATA; the only end is the final CRLF.CRLF; the error expected.
  const cases: [string, string, string][] = [
    ["\\n.\\n", "a\n.\nMAIL FROM:<evil@x>\r\n.\r\n", "bare-lf"],
    ["\\r.\\r", "a\r.\rMAIL FROM:<evil@x>\r\n.\r\n", "bare-cr"],
    ["\\n.\\r\\n", "a\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n", "bare-lf"],
    ["\\r\\n.\\n", "a\r\n.\nMAIL FROM:<evil@x>\r\n.\r\n", "bare-lf"],
    ["\\r.\\r\\n", "a\r.\r\nMAIL FROM:<evil@x>\r\n.\r\n", "bare-cr"],
    ["\\r\\n.\\r", "a\r\n.\rMAIL FROM:<evil@x>\r\n.\r\n", "bare-cr"],
    ["bare LF in a line", "line one\nline two\r\n.\r\n", "bare-lf"],
    ["bare CR in a line", "line one\rline two\r\n.\r\n", "bare-cr"],
    ["LF at start", "\nx\r\n.\r\n", "bare-lf"],
    ["CRCRLF", "x\r\r\n.\r\n", "bare-cr"],
    ["CR at the end of data line before the dot", "x\r\r\n.\r\n", "bare-cr"],
    [".\\n inside", "x\r\n.\ny\r\n.\r\n", "bare-lf"],
  ];
  for (const [name, text, error] of cases) {
    test(`${name}: refused after reading to the real end, never split`, () => {
      const input = B(text + "QUIT\r\n");
      const whole = read(input);
      assert.equal(whole.done?.error, error);
      assert.equal(whole.done?.message.length, 0);
      assert.equal(whole.rest.toString(), "QUIT\r\n");
      assert.deepEqual(bytewise(input), whole);
      for (let cut = 1; cut < input.length; cut++)
        assert.deepEqual(read(input, [cut, 1000]), whole, `cut ${cut}`);
    });
  }
  test("the size counts the whole message even when refused", () => {
    const { done } = read(B("ab\ncd\r\n.\r\n"));
    assert.equal(done?.size, 7);
  });
});

describe("size limit", () => {
  test("keeps reading past the limit, then reports too-big at the end", () => {
    const body = "x".repeat(100) + "\r\n";
    const { done, rest } = read(B(body.repeat(10) + ".\r\nNEXT"), [7], 500);
    assert.equal(done?.error, "too-big");
    assert.equal(done?.size, 1020);
    assert.equal(done?.message.length, 0);
    assert.equal(rest.toString(), "NEXT");
  });
  test("exactly at the limit is accepted", () => {
    const { done } = read(B("12345678\r\n.\r\n"), [3], 10);
    assert.equal(done?.error, undefined);
    assert.equal(done?.message.toString(), "12345678\r\n");
  });
  test("smuggling wins over too-big", () => {
    const { done } = read(B("x".repeat(50) + "\n.\r\n.\r\n"), [4], 10);
    assert.equal(done?.error, "bare-lf");
  });
  test("onData streams pieces instead of storing", () => {
    const pieces: Buffer[] = [];
    const r = new DataReader({ onData: (p) => pieces.push(Buffer.from(p)) });
    r.feed(B("a\r\n..b"));
    const f = r.feed(B("\r\n.\r\n"));
    assert.equal(f.done?.message.length, 0);
    assert.equal(Buffer.concat(pieces).toString(), "a\r\n.b\r\n");
  });
});

describe("dot-stuffing (client)", () => {
  test("stuffing and terminator", () => {
    assert.equal(dotStuff(B(".a\r\n.b\r\nc.\r\n")).toString(), "..a\r\n..b\r\nc.\r\n");
    assert.equal(encodeData(B("x\r\n")).toString(), "x\r\n.\r\n");
    assert.equal(encodeData(B("x")).toString(), "x\r\n.\r\n");
    assert.equal(encodeData(B("")).toString(), ".\r\n");
    assert.equal(encodeData(B(".")).toString(), "..\r\n.\r\n");
  });
  test("streaming stuffer across chunk boundaries", () => {
    const s = new DotStuffer();
    const out = Buffer.concat([
      s.push(B("a\r\n")),
      s.push(B(".b\r")),
      s.push(B("\n")),
      s.push(B(".")),
      s.end(),
    ]);
    assert.equal(out.toString(), "a\r\n..b\r\n..\r\n.\r\n");
  });
  test("normalizeLineEnds", () => {
    assert.equal(normalizeLineEnds(B("a\nb\rc\r\nd")).toString(), "a\r\nb\r\nc\r\nd");
  });
  const crlfMessage = fc
    .array(fc.string({ unit: fc.constantFrom(".", "a", " ", "\0", "é", "\t", "\xff"), maxLength: 12 }), {
      maxLength: 20,
    })
    .map((lines) => B(lines.map((l) => l + "\r\n").join("")));
  test("property: stuff then read gives the message back, however chunked", () => {
    fc.assert(
      fc.property(
        crlfMessage,
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        (msg, sizes) => {
          const wire = Buffer.concat([encodeData(msg), B("NEXT")]);
          const r = read(wire, sizes);
          assert.equal(r.done?.error, undefined);
          assert.deepEqual(r.done?.message, msg);
          assert.equal(r.rest.toString(), "NEXT");
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe("property: the DATA reader", () => {
  const bytes = fc.uint8Array({ maxLength: 300 });
  const smtpish = fc
    .array(fc.constantFrom("\r", "\n", ".", "\r\n", "\r\n.\r\n", "\n.\n", "a", "\0", "..", "\r\n."), {
      maxLength: 60,
    })
    .map((a) => B(a.join("")));
  const sizes = fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 6 });
  test("never throws on random bytes", () => {
    fc.assert(
      fc.property(bytes, sizes, (b, s) => {
        read(Buffer.from(b), s);
      }),
      { numRuns: 2000 },
    );
  });
  test("the result never depends on the chunking", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          smtpish,
          bytes.map((b) => Buffer.from(b)),
        ),
        sizes,
        fc.option(fc.integer({ min: 0, max: 40 })),
        (b, s, max) => {
          const m = max ?? undefined;
          const whole = read(b, [b.length || 1], m);
          assert.deepEqual(read(b, s, m), whole);
          assert.deepEqual(read(b, [1], m), whole);
        },
      ),
      { numRuns: 2000 },
    );
  });
  test("only CRLF.CRLF ends: the end is the first CRLF.CRLF (or a leading .CRLF)", () => {
    fc.assert(
      fc.property(smtpish, (b) => {
        const r = read(b);
        const s = b.toString("latin1");
        const i = s.indexOf("\r\n.\r\n");
        const end = s.startsWith(".\r\n") ? 3 : i < 0 ? -1 : i + 5;
        if (end < 0) assert.equal(r.done, undefined);
        else {
          assert.ok(r.done);
          assert.equal(r.rest.toString("latin1"), s.slice(end));
          if (!/\r(?!\n)|(?<!\r)\n/.test(s.slice(0, end))) assert.equal(r.done.error, undefined);
          else assert.ok(r.done.error === "bare-cr" || r.done.error === "bare-lf");
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("speed", () => {
  test("10 MB in 64 KiB chunks well under a second", () => {
    const line = B("x".repeat(76) + "\r\n");
    const msg = Buffer.concat([Buffer.concat(Array.from({ length: 131072 }, () => line)), B(".\r\n")]);
    const t = performance.now();
    const { done } = read(msg, [65536]);
    const ms = performance.now() - t;
    assert.equal(done?.size, msg.length - 3);
    assert.ok(ms < 1000, `${ms} ms`);
  });
});

/** The DATA reader with a text line limit, the rest as text. */
function readLimited(
  input: Buffer,
  maxLineLength: number,
  sizes: number[],
): { done?: DataDone; rest: string } {
  const r = read(input, sizes, { maxLineLength });
  return r.done === undefined ? { rest: "" } : { done: r.done, rest: r.rest.toString("latin1") };
}

// RFC 5321 §4.5.3.1.6: CRLF counted, the transparency dot not; a longer line marks the message
// refused whatever the chunking, and reading goes on to the terminator.
const SPLITS = [[1_000_000], [1], [2], [3], [7], [1000], [999, 1, 2]];

describe("DATA text line limit", () => {
  test("a line of exactly the limit (CRLF included) passes; one octet more is refused", () => {
    const max = 1000;
    const at = `${"a".repeat(max - 2)}\r\n`;
    const over = `${"a".repeat(max - 1)}\r\n`;
    for (const sizes of SPLITS) {
      const ok = readLimited(B(`Subject: x\r\n\r\n${at}.\r\nNOOP\r\n`), max, sizes);
      assert.equal(ok.done?.error, undefined, `split ${sizes.join(",")}`);
      assert.equal(ok.done?.message.toString("latin1"), `Subject: x\r\n\r\n${at}`);
      assert.equal(ok.rest, "NOOP\r\n");
      const bad = readLimited(B(`Subject: x\r\n\r\n${over}more\r\n.\r\nNOOP\r\n`), max, sizes);
      assert.equal(bad.done?.error, "line-too-long", `split ${sizes.join(",")}`);
      assert.equal(bad.done?.message.length, 0);
      assert.equal(bad.rest, "NOOP\r\n", "read on to the real terminator");
    }
  });

  test("the transparency dot is not counted; a line without its end is judged as it grows", () => {
    const max = 1000;
    const dotted = `..${"b".repeat(max - 3)}\r\n`; // max + 1 octets on the wire, max unstuffed
    for (const sizes of SPLITS) {
      const r = readLimited(B(`${dotted}.\r\n`), max, sizes);
      assert.equal(r.done?.error, undefined);
      assert.equal(r.done?.message.toString("latin1"), dotted.slice(1));
    }
    // A line ending with a CR at a chunk edge; one running over many chunks.
    const r = readLimited(B(`${"c".repeat(5000)}\r\n.\r\n`), max, [998, 1, 1]);
    assert.equal(r.done?.error, "line-too-long");
  });

  test("bare LF seen first stays the reason; the limit applies to the first and last lines too", () => {
    assert.equal(readLimited(B(`a\nb${"x".repeat(2000)}\r\n.\r\n`), 1000, [5]).done?.error, "bare-lf");
    assert.equal(readLimited(B(`${"x".repeat(1000)}\r\n.\r\n`), 1000, [64]).done?.error, "line-too-long");
    assert.equal(readLimited(B(`ok\r\n${"x".repeat(999)}\r\n.\r\n`), 1000, [64]).done?.error, "line-too-long");
  });

  test("property: refused exactly when an unstuffed line is over the limit, for any chunking", () => {
    const line = fc.record({ dot: fc.boolean(), len: fc.nat({ max: 40 }) });
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        fc.integer({ min: 3, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }),
        (lines, max, sizes) => {
          const text = lines.map((l) => `${l.dot ? "." : ""}${"y".repeat(l.len)}\r\n`).join("");
          const longest = Math.max(0, ...lines.map((l) => l.len + (l.dot ? 1 : 0) + 2));
          const r = readLimited(Buffer.concat([encodeData(B(text)), B("QUIT\r\n")]), max, sizes);
          assert.equal(r.rest, "QUIT\r\n");
          if (longest > max) assert.equal(r.done?.error, "line-too-long");
          else {
            assert.equal(r.done?.error, undefined);
            assert.equal(r.done?.message.toString("latin1"), text);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
