// The pure POP3 wire layer: command parser, replies, byte-stuffing, TOP, the line reader.
// Property tests (fast-check): random input never throws; stuffing round-trips.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseAuthLine, parseCommand, MAX_COMMAND_LINE } from "../../src/protocols/pop3/wire/command.ts";
import { err, multiline, ok, parseStatus } from "../../src/protocols/pop3/wire/reply.ts";
import {
  headerEnd,
  joinParts,
  stuffMessage,
  stuffTop,
  unstuff,
} from "../../src/protocols/pop3/wire/message.ts";
import { LineReader } from "../../src/protocols/pop3/wire/line-reader.ts";

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const stuffed = (s: string): string => joinParts(stuffMessage(b(s))).toString("utf8");
const top = (s: string, n: number): string => joinParts(stuffTop(b(s), n)).toString("utf8");

void describe("POP3 command parser", () => {
  void test("RFC 1939 commands and arguments", () => {
    assert.deepEqual(parseCommand(b("user alice@example.test")), {
      ok: true,
      command: { name: "USER", user: "alice@example.test" },
    });
    assert.deepEqual(parseCommand(b("PASS two words ")), {
      ok: true,
      command: { name: "PASS", password: "two words " },
    });
    assert.deepEqual(parseCommand(b("LIST")), { ok: true, command: { name: "LIST" } });
    assert.deepEqual(parseCommand(b("list 12")), { ok: true, command: { name: "LIST", msg: 12 } });
    assert.deepEqual(parseCommand(b("TOP 1 0")), { ok: true, command: { name: "TOP", msg: 1, lines: 0 } });
    assert.deepEqual(parseCommand(b("UIDL 3")), { ok: true, command: { name: "UIDL", msg: 3 } });
    assert.deepEqual(parseCommand(b("AUTH plain =")), {
      ok: true,
      command: { name: "AUTH", mechanism: "PLAIN", initialResponse: "=" },
    });
    assert.deepEqual(parseCommand(b("AUTH")), { ok: true, command: { name: "AUTH" } });
    assert.deepEqual(parseCommand(b("APOP mrose c4c9334bac560ecc979e58001b3e22fb")), {
      ok: true,
      command: { name: "APOP", user: "mrose", digest: "c4c9334bac560ecc979e58001b3e22fb" },
    });
    assert.deepEqual(parseCommand(b("USER jöran@exämple.test")), {
      ok: true,
      command: { name: "USER", user: "jöran@exämple.test" },
    });
  });

  void test("malformed commands are refused with a reason", () => {
    for (const line of [
      "",
      "RETR",
      "RETR 0",
      "RETR -1",
      "RETR +1",
      "RETR 1 2",
      "RETR  1",
      "TOP 1",
      "TOP 1 x",
      "STAT 1",
      "QUIT now",
      "LIST 1234567890",
      "XYZZY",
      "PASS",
      "USER",
      "USER a b",
      "AUTH PLAIN a b c",
      "AUTH PL@IN",
      "AUTH PLAIN !!",
    ]) {
      const r = parseCommand(b(line));
      assert.equal(r.ok, false, line);
    }
    const bad = parseCommand(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff, 0xfe]));
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.code, "UTF8");
    assert.equal(parseCommand(b(`NOOP${" ".repeat(MAX_COMMAND_LINE)}`)).ok, false);
  });

  void test("AUTH continuation lines", () => {
    assert.deepEqual(parseAuthLine(b("*")), { type: "cancel" });
    assert.deepEqual(parseAuthLine(b("")), { type: "data", data: Buffer.alloc(0) });
    assert.deepEqual(parseAuthLine(b("AGZvbwBiYXI=")), { type: "data", data: Buffer.from("\0foo\0bar") });
    assert.deepEqual(parseAuthLine(b("not base64!")), { type: "invalid" });
  });

  void test("property: random bytes never throw and give a result", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const r = parseCommand(Buffer.from(bytes));
        assert.equal(typeof r.ok, "boolean");
        parseAuthLine(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  void test("property: mutated valid commands never throw; valid ones parse", () => {
    const cmd = fc.oneof(
      fc.constantFrom(
        "STAT",
        "NOOP",
        "RSET",
        "QUIT",
        "CAPA",
        "STLS",
        "UTF8",
        "LIST",
        "UIDL",
        "AUTH",
        "LANG",
        "LANG *",
        "LANG en-GB",
      ),
      fc
        .tuple(fc.constantFrom("RETR", "DELE", "LIST", "UIDL"), fc.integer({ min: 1, max: 99999 }))
        .map(([c, n]) => `${c} ${n}`),
      fc
        .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 9999 }))
        .map(([m, n]) => `TOP ${m} ${n}`),
      fc.stringMatching(/^[a-z0-9.@-]{1,40}$/).map((u) => `USER ${u}`),
    );
    fc.assert(
      fc.property(cmd, fc.string({ maxLength: 8 }), fc.nat(60), (c, junk, at) => {
        assert.equal(parseCommand(b(c)).ok, true, c);
        const i = Math.min(at, c.length);
        parseCommand(b(c.slice(0, i) + junk + c.slice(i)));
      }),
      { numRuns: 2000 },
    );
  });
});

void describe("POP3 replies", () => {
  void test("status lines with response codes, multi-line with stuffing", () => {
    assert.equal(ok(), "+OK\r\n");
    assert.equal(ok("2 320"), "+OK 2 320\r\n");
    assert.equal(err("maildrop locked", "IN-USE"), "-ERR [IN-USE] maildrop locked\r\n");
    assert.equal(err("a\r\nb"), "-ERR a b\r\n");
    assert.ok(err("x".repeat(1000)).length <= 512);
    assert.equal(multiline("caps", ["TOP", ".hidden"]), "+OK caps\r\nTOP\r\n..hidden\r\n.\r\n");
    assert.deepEqual(parseStatus("-ERR [SYS/TEMP] later"), { ok: false, code: "SYS/TEMP", text: "later" });
    assert.deepEqual(parseStatus("+OK"), { ok: true, text: "" });
  });
});

void describe("byte-stuffing and TOP", () => {
  void test("lines starting with a dot are stuffed; the end is CRLF.CRLF", () => {
    assert.equal(stuffed("a\r\n.b\r\n.\r\n..c\r\n"), "a\r\n..b\r\n..\r\n...c\r\n.\r\n");
    assert.equal(stuffed(".first\r\n"), "..first\r\n.\r\n");
    assert.equal(stuffed("no final newline"), "no final newline\r\n.\r\n");
    assert.equal(stuffed(""), ".\r\n");
    assert.equal(stuffed("bare\n.lf\nend"), "bare\r\n..lf\r\nend\r\n.\r\n");
    assert.equal(stuffed("cr at end\r"), "cr at end\r\n.\r\n");
  });

  void test("TOP n 0 is exactly the header and the blank line", () => {
    const msg = "Subject: x\r\nFrom: y\r\n\r\nbody 1\r\n.body 2\r\nbody 3\r\n";
    assert.equal(top(msg, 0), "Subject: x\r\nFrom: y\r\n\r\n.\r\n");
    assert.equal(top(msg, 2), "Subject: x\r\nFrom: y\r\n\r\nbody 1\r\n..body 2\r\n.\r\n");
    assert.equal(top(msg, 100), stuffed(msg));
    assert.equal(top("Subject: only header\r\n", 0), "Subject: only header\r\n\r\n.\r\n");
    assert.equal(top("Subject: no eol", 3), "Subject: no eol\r\n\r\n.\r\n");
    assert.equal(top("\r\nbody", 0), "\r\n.\r\n");
    assert.equal(headerEnd(b("A: b\n\nbody")), 6);
  });

  void test("property: unstuff(stuff(m)) is m with CRLF lines", () => {
    const line = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ""));
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            line,
            fc.constant("."),
            line.map((l) => `.${l}`),
          ),
          { maxLength: 30 },
        ),
        (lines) => {
          const msg = lines.map((l) => `${l}\r\n`).join("");
          const out = joinParts(stuffMessage(b(msg)));
          assert.ok(out.subarray(out.length - 3).equals(b(".\r\n")));
          const bodyOnly = out.subarray(0, out.length - 3);
          assert.equal(unstuff(bodyOnly).toString(), msg);
          // No line of the stuffed body is a lone "." (it would end the response early).
          assert.ok(!`\r\n${bodyOnly.toString()}`.includes("\r\n.\r\n"));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

void describe("line reader", () => {
  void test("splits CRLF and LF lines across chunks; overlong lines reported once", () => {
    const r = new LineReader(10);
    assert.deepEqual(r.push(b("STAT\r\nLI")), [{ type: "line", line: b("STAT") }]);
    assert.deepEqual(r.push(b("ST 1\nNO")), [{ type: "line", line: b("LIST 1") }]);
    assert.deepEqual(r.push(b("OP\r\n")), [{ type: "line", line: b("NOOP") }]);
    assert.deepEqual(r.push(b("x".repeat(30))), []);
    assert.deepEqual(r.push(b("y".repeat(30))), []);
    assert.deepEqual(r.push(b("z\r\nQUIT\r\n")), [{ type: "too-long" }, { type: "line", line: b("QUIT") }]);
    assert.deepEqual(r.push(b(`${"a".repeat(20)}\r\n`)), [{ type: "too-long" }]);
  });

  void test("property: chunking does not change the lines", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(300), { maxLength: 10 }),
        (bytes, cuts) => {
          const data = Buffer.from(bytes);
          const whole = new LineReader(64).push(data);
          const r = new LineReader(64);
          const pieces: ReturnType<LineReader["push"]> = [];
          let at = 0;
          for (const c of [...cuts.map((x) => Math.min(x, data.length))].sort((x, y) => x - y)) {
            pieces.push(...r.push(data.subarray(at, c)));
            at = c;
          }
          pieces.push(...r.push(data.subarray(at)));
          assert.deepEqual(pieces, whole);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
