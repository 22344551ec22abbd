import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CommandReader, LITERAL_MINUS_MAX, tagOf } from "../../../src/protocols/imap/wire/reader.ts";
import { events } from "./helpers.ts";

function commandsOf(evs: ReturnType<typeof events>) {
  return evs.filter((e) => e.type === "command").map((e) => (e.type === "command" ? e.command : null));
}

describe("CommandReader", () => {
  test("splits pipelined commands, CRLF and bare LF", () => {
    const evs = events(["a1 NOOP\r\na2 CAPABILITY\nA3 LOGOUT\r\n"]);
    assert.deepEqual(
      evs.map((e) => (e.type === "command" ? [e.command.tag, e.command.lines.map(String)] : e.type)),
      [
        ["a1", ["a1 NOOP"]],
        ["a2", ["a2 CAPABILITY"]],
        ["A3", ["A3 LOGOUT"]],
      ],
    );
  });

  test("an incomplete line waits for more input", () => {
    const r = new CommandReader();
    r.push(Buffer.from("a1 NO"));
    assert.equal(r.next(), null);
    r.push(Buffer.from("OP\r"));
    assert.equal(r.next(), null);
    r.push(Buffer.from("\n"));
    const e = r.next();
    assert.ok(e?.type === "command");
    assert.equal(e.command.lines[0]?.toString(), "a1 NOOP");
  });

  test("empty lines between commands are ignored (RFC 2683 §3.2.1)", () => {
    assert.equal(commandsOf(events(["\r\n\r\na NOOP\r\n"])).length, 1);
  });

  test("synchronizing literal: continue, then the bytes, then the rest", () => {
    // RFC 9051 §7.5 example: A001 LOGIN {11} / + Ready / FRED FOOBAR {7} / + Ready / fat man
    const r = new CommandReader();
    r.push(Buffer.from("A001 LOGIN {11}\r\n"));
    assert.deepEqual(r.next(), { type: "continue", size: 11 });
    assert.equal(r.next(), null);
    r.push(Buffer.from("FRED FOOBAR {7}\r\n"));
    assert.deepEqual(r.next(), { type: "continue", size: 7 });
    r.push(Buffer.from("fat man\r\n"));
    const e = r.next();
    assert.ok(e?.type === "command");
    assert.deepEqual(e.command.lines.map(String), ["A001 LOGIN ", " ", ""]);
    assert.deepEqual(e.command.literals.map((l) => [String(l.data), l.nonSync, l.binary]), [
      ["FRED FOOBAR", false, false],
      ["fat man", false, false],
    ]);
    assert.equal(e.command.size, "A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n".length);
  });

  test("non-synchronizing literal (LITERAL+) gives no continue", () => {
    const evs = events(["a APPEND x {3+}\r\nabc\r\n"]);
    assert.deepEqual(evs.map((e) => e.type), ["command"]);
  });

  test("literal8 keeps NUL bytes", () => {
    const data = Buffer.from([0, 1, 2, 0, 13, 10, 255]);
    const evs = events([Buffer.concat([Buffer.from("a APPEND x ~{7}\r\n"), data, Buffer.from("\r\n")])]);
    assert.equal(evs[0]?.type, "continue");
    const c = evs[1];
    assert.ok(c?.type === "command");
    assert.deepEqual(c.command.literals[0]?.data, data);
    assert.equal(c.command.literals[0]?.binary, true);
  });

  test("a literal inside one chunk is a view, not a copy", () => {
    const input = Buffer.from("a APPEND x {5+}\r\nhello\r\n");
    const r = new CommandReader();
    r.push(input);
    const e = r.next();
    assert.ok(e?.type === "command");
    const lit = e.command.literals[0]!.data;
    assert.equal(lit.buffer, input.buffer);
  });

  test("LITERAL-: a non-synchronizing literal over 4096 is refused with BAD [TOOBIG] and skipped", () => {
    const big = "x".repeat(LITERAL_MINUS_MAX + 1);
    const evs = events([`a1 APPEND INBOX {${big.length}+}\r\n${big}\r\na2 NOOP\r\n`], { nonSyncLiterals: "minus" });
    assert.deepEqual(evs[0], { type: "error", tag: "a1", status: "BAD", code: "TOOBIG", text: "Non-synchronizing literal over 4096 octets", fatal: false });
    const c = evs[1];
    assert.ok(c?.type === "command");
    assert.equal(c.command.tag, "a2");
    assert.equal(evs.length, 2);
  });

  test("LITERAL-: 4096 octets are accepted", () => {
    const ok = "y".repeat(LITERAL_MINUS_MAX);
    const evs = events([`a1 APPEND INBOX {${ok.length}+}\r\n${ok}\r\n`], { nonSyncLiterals: "minus" });
    assert.equal(evs[0]?.type, "command");
  });

  test("a synchronizing literal over the limit is refused before the client sends it", () => {
    const evs = events(["a1 APPEND INBOX {1000001}\r\na2 NOOP\r\n"], { maxLiteralSize: 1_000_000 });
    assert.equal(evs[0]?.type, "error");
    assert.ok(evs[0]?.type === "error" && evs[0].status === "NO" && evs[0].code === "TOOBIG" && evs[0].tag === "a1");
    assert.ok(evs[1]?.type === "command" && evs[1].command.tag === "a2");
  });

  test("APPEND literals have the APPENDLIMIT, other commands' literals a smaller limit", () => {
    const lim = { maxLiteralSize: 1000, maxArgLiteralSize: 100 };
    assert.equal(events(["a1 APPEND x {500}\r\n"], lim)[0]?.type, "continue");
    assert.equal(events(["a1 UID REPLACE 1 x {500}\r\n"], lim)[0]?.type, "continue");
    const e = events(["a1 LOGIN {500}\r\n"], lim)[0];
    assert.ok(e?.type === "error" && e.code === "TOOBIG" && /100/.test(e.text));
    assert.equal(events(["a1 LOGIN {100}\r\n"], lim)[0]?.type, "continue");
  });

  test("takeBuffered hands the unread input over (COMPRESS)", () => {
    const r = new CommandReader();
    r.push(Buffer.from("a COMPRESS DEFLATE\r\n\x01\x02"));
    r.push(Buffer.from([3]));
    assert.equal(r.next()?.type, "command");
    assert.deepEqual(Buffer.concat(r.takeBuffered()), Buffer.from([1, 2, 3]));
    assert.equal(r.buffered, 0);
  });

  test("non-synchronizing literals refused when not offered; the bytes are skipped", () => {
    const evs = events(["a1 LOGIN {3+}\r\nabc {2+}\r\nxy\r\na2 NOOP\r\n"], { nonSyncLiterals: "none" });
    assert.equal(evs.length, 2);
    assert.ok(evs[0]?.type === "error" && evs[0].status === "BAD");
    assert.ok(evs[1]?.type === "command" && evs[1].command.tag === "a2");
  });

  test("too many literals", () => {
    const evs = events(["a1 X {1+}\r\na {1+}\r\nb {1+}\r\nc\r\na2 NOOP\r\n"], { maxLiterals: 2 });
    assert.ok(evs[0]?.type === "error" && evs[0].code === "LIMIT");
    assert.ok(evs[1]?.type === "command" && evs[1].command.tag === "a2");
    assert.equal(evs.length, 2);
  });

  test("a line too long gives a tagged BAD and the line is skipped", () => {
    const evs = events(["a1 NOOP\r\n", "a2 SEARCH " + "x".repeat(200), "y".repeat(100) + "\r\na3 NOOP\r\n"], { maxLineLength: 100 });
    assert.equal(evs[0]?.type, "command");
    assert.ok(evs[1]?.type === "error" && evs[1].tag === "a2" && evs[1].status === "BAD");
    assert.ok(evs[2]?.type === "command" && evs[2].command.tag === "a3");
    assert.equal(evs.length, 3);
  });

  test("command size limit", () => {
    const evs = events(["a1 X {10+}\r\n0123456789 {10+}\r\n0123456789\r\na2 NOOP\r\n"], { maxCommandSize: 35 });
    assert.ok(evs[0]?.type === "error" && evs[0].code === "TOOBIG");
    assert.ok(evs.at(-1)?.type === "command");
  });

  test("a garbage first line gets BYE: TLS hello, HTTP, binary", () => {
    for (const g of [Buffer.from([0x16, 0x03, 0x01, 0x00]), Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Buffer.from("\xff\xfe", "latin1"), Buffer.from("((((\r\n")]) {
      const evs = events([g, "a1 NOOP\r\n"]);
      assert.deepEqual(
        evs.map((e) => e.type),
        ["bye"],
        String(g),
      );
    }
  });

  test("a bad tag after the first command is an untagged BAD (tag null), the session goes on", () => {
    const evs = events(["a1 NOOP\r\n+ NOOP\r\n"]);
    assert.ok(evs[1]?.type === "command" && evs[1].command.tag === null);
  });

  test("expectLine hands out the next line raw (AUTHENTICATE, DONE)", () => {
    const r = new CommandReader();
    r.push(Buffer.from("a AUTHENTICATE PLAIN\r\nAGZyZWQAZmF0IG1hbg== {5}\r\nb NOOP\r\n"));
    assert.equal(r.next()?.type, "command");
    r.expectLine();
    const l = r.next();
    assert.ok(l?.type === "line");
    assert.equal(String(l.line), "AGZyZWQAZmF0IG1hbg== {5}");
    const n = r.next();
    assert.ok(n?.type === "command" && n.command.tag === "b");
  });

  test("discardBuffered drops input sent ahead of STARTTLS", () => {
    const r = new CommandReader();
    r.push(Buffer.from("a STARTTLS\r\nb LOGIN x y\r\n"));
    assert.equal(r.next()?.type, "command");
    assert.equal(r.discardBuffered(), "b LOGIN x y\r\n".length);
    assert.equal(r.next(), null);
  });

  test("tagOf", () => {
    assert.equal(tagOf(Buffer.from("a1 NOOP")), "a1");
    assert.equal(tagOf(Buffer.from("a+ NOOP")), null);
    assert.equal(tagOf(Buffer.from("NOOP")), null);
    assert.equal(tagOf(Buffer.from("a] NOOP")), "a]");
  });

  test("a literal split at every byte gives the same events", () => {
    const input = Buffer.concat([
      Buffer.from("a1 LOGIN {4}\r\nfred {3}\r\nbar\r\na2 APPEND x (\\Seen) ~{4+}\r\n"),
      Buffer.from([0, 13, 10, 0]),
      Buffer.from("\r\na3 NOOP\r\n"),
    ]);
    const whole = JSON.stringify(events([input]));
    for (let i = 1; i < input.length; i++) {
      assert.equal(JSON.stringify(events([input.subarray(0, i), input.subarray(i)])), whole, `split at ${i}`);
    }
    const bytes: Buffer[] = [];
    for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
    assert.equal(JSON.stringify(events(bytes)), whole);
  });
});
