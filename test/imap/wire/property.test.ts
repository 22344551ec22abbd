// Property tests: the reader and the parsers never throw and never hang on any input, the
// reader's output does not depend on how the input is cut, and serialized values parse back.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CommandReader } from "../../../src/protocols/imap/wire/reader.ts";
import type { ReaderEvent } from "../../../src/protocols/imap/wire/reader.ts";
import { parseCommand } from "../../../src/protocols/imap/wire/parser.ts";
import { mailboxText, stringText } from "../../../src/protocols/imap/wire/values.ts";
import { ok } from "./helpers.ts";

const VALID = [
  "a1 CAPABILITY",
  "a2 LOGIN {4+}\r\nfred {3+}\r\nbar",
  "a3 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
  "a4 SELECT INBOX (QRESYNC (67890007 2005071519 41,43:211,214:541 (1:20,23:33 41:60,65:71)))",
  'a5 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "&AMk-t&AOk-*") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
  "a6 STATUS blurdybloop (UIDNEXT MESSAGES SIZE MAILBOXID)",
  'a7 APPEND saved (\\Seen) "07-Feb-1994 21:52:25 -0800" {5+}\r\nhello UTF8 (~{3+}\r\na\0b)',
  "a8 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> PREVIEW (LAZY) BINARY[1.2]) (CHANGEDSINCE 5 VANISHED)",
  'a9 SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR FROM "x" NOT (SEEN 1:3) MODSEQ "/flags/\\\\draft" all 620162338 YOUNGER 5',
  "b1 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
  "b2 UID MOVE 42:69 foo",
  'b3 ID ("name" "sodr" "version" NIL)',
  "b4 CREATE MySpecial (USE (\\Drafts \\Sent))",
  'b5 SETQUOTA "" (STORAGE 512)',
  "b6 ENABLE CONDSTORE UTF8=ACCEPT",
  "b7 UID EXPUNGE 3000:3002",
  "b8 RENAME a b",
  'b9 REPLACE 3 Drafts (\\Draft) "07-Feb-1994 21:52:25 -0800" {5+}\r\nhello',
  "c1 UID REPLACE * Drafts ~{3+}\r\na\0b",
];

/** Runs input through a reader in the given chunks, parsing every command. Never throws. */
function run(chunks: Buffer[], limits = {}): ReaderEvent[] {
  const r = new CommandReader({
    maxLineLength: 300,
    maxLiteralSize: 2000,
    maxCommandSize: 5000,
    maxLiterals: 8,
    maxDiscard: 10000,
    ...limits,
  });
  const out: ReaderEvent[] = [];
  let steps = 0;
  for (const c of chunks) {
    r.push(c);
    for (let e = r.next(); e !== null; e = r.next()) {
      if (++steps > 100_000) throw new Error("reader does not progress");
      out.push(e);
      if (e.type === "command") {
        const p1 = parseCommand(e.command, { utf8: false, maxDepth: 8 });
        const p2 = parseCommand(e.command, { utf8: true });
        assert.ok(typeof p1.ok === "boolean" && typeof p2.ok === "boolean");
        if (!p1.ok) assert.equal(typeof p1.error.message, "string");
      }
    }
  }
  return out;
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
}

const corpus = Buffer.from(VALID.join("\r\n") + "\r\n", "latin1");

describe("property: never throw, never hang", () => {
  test("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        run(split(Buffer.from(bytes), cuts));
        // after a valid first command the reader keeps reading garbage
        run(split(Buffer.concat([Buffer.from("a NOOP\r\n"), Buffer.from(bytes)]), cuts));
      }),
      { numRuns: 400 },
    );
  });

  test("random IMAP-ish tokens", () => {
    const token = fc.constantFrom(
      " ",
      "(",
      ")",
      "[",
      "]",
      "<",
      ">",
      '"',
      "\\",
      "{",
      "}",
      "{3}",
      "{2+}",
      "~{1+}",
      "\r\n",
      "*",
      "$",
      ":",
      ",",
      "1",
      "0",
      "4294967296",
      "NIL",
      "BODY",
      "BODY.PEEK[",
      "HEADER.FIELDS",
      "OR",
      "NOT",
      "UID",
      "FETCH",
      "SEARCH",
      "APPEND",
      "STORE",
      "LIST",
      "RETURN",
      "a1",
      "&",
      "-",
      "é",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 80 }), (tokens) => {
        run([Buffer.from("t0 NOOP\r\n" + tokens.join("") + "\r\n")]);
      }),
      { numRuns: 400 },
    );
  });

  test("mutations of valid commands", () => {
    const mutation = fc.tuple(
      fc.nat(),
      fc.constantFrom("insert", "delete", "replace", "duplicate"),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (cmd, muts, cuts) => {
          let b = Buffer.from("t0 NOOP\r\n" + cmd + "\r\n", "latin1");
          for (const [pos, kind, byte] of muts) {
            const i = 9 + (pos % Math.max(1, b.length - 9));
            if (kind === "insert") b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
            else if (kind === "delete") b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
            else if (kind === "replace")
              b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i + 1)]);
            else b = Buffer.concat([b.subarray(0, i), b.subarray(i, i + 20), b.subarray(i)]);
          }
          run(split(b, cuts));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("deep nesting stays bounded", () => {
    const deep = "a SEARCH " + "(".repeat(5000) + "ALL" + ")".repeat(5000) + "\r\n";
    const evs = run([Buffer.from(deep)], { maxLineLength: 20000 });
    assert.equal(evs.length, 1);
  });
});

describe("property: reader output does not depend on chunking", () => {
  test("the valid corpus cut anywhere", () => {
    const whole = JSON.stringify(run([corpus]));
    assert.ok(whole.includes('"command"'));
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { maxLength: 30 }),
        (cuts) => JSON.stringify(run(split(corpus, cuts))) === whole,
      ),
      { numRuns: 300 },
    );
  });

  test("random input cut anywhere", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...VALID, "x {3}", "y {2+}", "zz", "\r\n", "ab\r\n", "\0"), {
          maxLength: 20,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (parts, cuts) => {
          const input = Buffer.from("t NOOP\r\n" + parts.join("\r\n"), "latin1");
          return JSON.stringify(run([input])) === JSON.stringify(run(split(input, cuts)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

const noNul = (s: string) => !s.includes("\0") && s.isWellFormed();

describe("property: serialize then parse back", () => {
  test("mailbox names in both modes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 30 }).filter(noNul), fc.boolean(), (name, utf8) => {
        const args = ok("a SELECT " + mailboxText(name, { utf8 }), { utf8 });
        assert.ok(args.type === "select");
        assert.equal(args.mailbox, name.toUpperCase() === "INBOX" ? "INBOX" : name);
      }),
      { numRuns: 500 },
    );
  });

  test("strings (LOGIN) in both modes", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 40 }).filter(noNul),
        fc.string({ maxLength: 2000 }).filter(noNul),
        fc.boolean(),
        (user, pass, utf8) => {
          const args = ok(`a LOGIN ${stringText(user, { utf8 })} ${stringText(pass, { utf8 })}`);
          assert.deepEqual(args, { type: "login", username: user, password: pass });
        },
      ),
      { numRuns: 300 },
    );
  });

  test("flags (STORE)", () => {
    const flag = fc.oneof(fc.stringMatching(/^\\?[A-Za-z$][A-Za-z0-9$_.-]{0,10}$/));
    fc.assert(
      fc.property(fc.array(flag, { maxLength: 8 }), (flags) => {
        const args = ok(`a STORE 1 FLAGS (${flags.join(" ")})`);
        assert.ok(args.type === "store");
        assert.deepEqual(args.flags, flags);
      }),
    );
  });
});
