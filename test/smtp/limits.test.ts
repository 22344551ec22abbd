// Session limits: limits.smtpMaxTextLineLength (RFC 5321 §4.5.3.1.6; a longer DATA line
// refuses the whole message after the data with 552 5.6.0, never split; BDAT is not held to
// it) and limits.commandsPerMinute (a client over the rate is slowed down, per connection).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient, ehloSession, message, show, startSmtp, type TestServer } from "./helpers.ts";

void describe("text line limit", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp({ limits: { smtpMaxTextLineLength: 1000 } });
  });
  after(async () => {
    await t.stop();
  });

  const hello = (): Promise<RawClient> => ehloSession(t.port("smtp"));

  void test("DATA: a line over the limit refuses the message, whole; at the limit it passes", async () => {
    const c = await hello();
    const long = `${"x".repeat(999)}\r\n`; // 1001 octets with CRLF
    c.write(`MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n`);
    assert.match((await c.replies(3))[2] ?? "", /^354/);
    // What follows the long line is still body, never commands.
    c.write(`${message("too long", `${long}MAIL FROM:<x@y.example>\r\n`)}.\r\n`);
    assert.equal(show(await c.reply()), "552 5.6.0 Message refused: a text line is longer than 1000 octets");
    // The session goes on; a line of exactly 1000 octets (with CRLF) is accepted, and a
    // dot-stuffed line counts without its transparency dot.
    const at = `${"y".repeat(998)}\r\n`;
    c.write(`MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n`);
    assert.match((await c.replies(3))[2] ?? "", /^354/);
    c.write(`${message("at the limit", `${at}..${"z".repeat(997)}\r\n`)}.\r\n`);
    assert.match(show(await c.reply()), /^250 2\.0\.0/);
    await c.cmd("QUIT");
    const inbox = (await t.inbox(t.accounts.alice)).map((m) => m.toString("latin1"));
    assert.equal(inbox.filter((m) => m.includes("Subject: too long")).length, 0);
    const stored = inbox.find((m) => m.includes("Subject: at the limit"));
    assert.ok(stored?.includes(`\r\n${at}.${"z".repeat(997)}\r\n`));
  });

  void test("BDAT has no line structure: long lines are stored as sent", async () => {
    const c = await hello();
    const m = message("bdat long line", `${"w".repeat(5000)}\r\n`);
    c.write(`MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT ${m.length} LAST\r\n${m}`);
    assert.deepEqual(
      (await c.replies(3)).map((r) => r.slice(0, 9)),
      ["250 2.1.0", "250 2.1.5", "250 2.0.0"],
    );
    await c.close();
    assert.ok((await t.inbox(t.accounts.bob)).some((x) => x.toString().includes("w".repeat(5000))));
  });
});

void describe("commands per minute", () => {
  let t: TestServer;
  before(async () => {
    // 1200 a minute: a burst of 120 commands, then 20 a second.
    t = await startSmtp({ limits: { commandsPerMinute: 1200 } });
  });
  after(async () => {
    await t.stop();
  });

  void test("a connection over the rate is slowed down, not refused; another one is not", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    const started = Date.now();
    c.write("NOOP\r\n".repeat(150));
    const replies = await c.replies(150).then(
      (r) => r,
      (e: unknown) => [String(e)],
    );
    const elapsed = Date.now() - started;
    assert.ok(
      replies.every((r) => r.startsWith("250 2.0.0")),
      replies.find((r) => !r.startsWith("250")),
    );
    // 30 commands past the burst at 20 a second: about 1.5 s.
    assert.ok(elapsed >= 1300, `150 commands took ${elapsed} ms`);
    assert.ok(elapsed < 10_000, `150 commands took ${elapsed} ms`);

    const d = await RawClient.connect(t.port("smtp"));
    await d.reply();
    const s2 = Date.now();
    d.write("NOOP\r\n".repeat(100));
    await d.replies(100);
    assert.ok(Date.now() - s2 < 1000, "a fresh connection has its own burst");
    await c.close();
    await d.close();
  });
});
