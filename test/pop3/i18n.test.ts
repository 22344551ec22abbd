// RFC 6856 over real sockets: LANG (§3) and the downgrade of messages with UTF-8 header fields
// for clients that did not issue UTF8 (§2, RFC 6857); the downgrade itself is tested in
// downgrade.test.ts.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { decodeWords } from "../../src/mail/headers.ts";
import { unstuff } from "../../src/protocols/pop3/wire/message.ts";
import { RawPop3, startPop3, type Pop3Fixture } from "./helpers.ts";

const INTL = Buffer.from(
  [
    "From: Jöran Müller <jöran@exämple.test>",
    "To: alice@example.test",
    "Subject: Grüße aus Köln",
    "Message-ID: <grüße@exämple.test>",
    "",
    "Body with ümlauts, sent as it is.",
    "",
  ].join("\r\n"),
  "utf8",
);

async function retr(c: RawPop3, n: number): Promise<{ status: string; msg: Buffer }> {
  const r = await c.multi(`RETR ${n}`);
  return { status: r.status, msg: unstuff(r.body.subarray(0, r.body.length - 3)) };
}

void describe("POP3 RFC 6856", () => {
  let f: Pop3Fixture;
  before(async () => {
    f = await startPop3();
    await f.deliver(INTL);
  });
  after(async () => {
    await f.stop();
  });

  void test("LANG is advertised, lists English, selects by range, refuses unknown tags", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    const caps = (await c.multi("CAPA")).body.toString().split("\r\n");
    assert.ok(caps.includes("LANG"), caps.join("|"));
    const list = await c.multi("LANG");
    assert.match(list.status, /^\+OK/);
    assert.equal(list.body.toString(), "en English\r\n.\r\n");
    assert.match(await c.cmd("LANG *"), /^\+OK en /);
    assert.match(await c.cmd("LANG en-GB"), /^\+OK en /);
    assert.match(await c.cmd("LANG EN"), /^\+OK en /);
    assert.match(await c.cmd("LANG de"), /^-ERR en unknown language de/);
    assert.match(await c.cmd("LANG en_US"), /^-ERR /);
    assert.match(await c.login(f.user), /^\+OK/);
    // Valid in TRANSACTION too, and still advertised there.
    assert.ok((await c.multi("CAPA")).body.toString().split("\r\n").includes("LANG"));
    assert.match(await c.cmd("LANG *"), /^\+OK en /);
    await c.cmd("QUIT");
  });

  void test("without UTF8 a message with UTF-8 header fields is downgraded to 7-bit", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    await c.login(f.user);
    const { status, msg } = await retr(c, 1);
    assert.equal(status, `+OK ${msg.length} octets`);
    const bodyAt = msg.indexOf("\r\n\r\n") + 4;
    const header = msg.subarray(0, bodyAt);
    assert.ok(
      header.every((x) => x < 0x80),
      header.toString("latin1"),
    );
    const text = header.toString("latin1");
    assert.match(text, /^From: =\?UTF-8\?B\?[^\r\n]*\?= :;\r\n/m);
    assert.equal(
      decodeWords(/^From: (.*) :;\r$/m.exec(text)?.[1] ?? ""),
      "Jöran Müller <jöran@exämple.test>",
    );
    assert.equal(decodeWords(/^Subject: (.*)\r$/m.exec(text)?.[1] ?? ""), "Grüße aus Köln");
    assert.match(text, /^Downgraded-Message-ID: =\?UTF-8\?B\?/m);
    assert.ok(!/^Message-ID:/m.test(text));
    assert.match(text, /^To: alice@example\.test\r$/m);
    // The body is not touched.
    assert.ok(msg.subarray(bodyAt).equals(INTL.subarray(INTL.indexOf("\r\n\r\n") + 4)));
    // TOP n 0: the downgraded header.
    const t = await c.multi("TOP 1 0");
    assert.equal(t.body.toString("latin1"), `${text}.\r\n`);
    await c.cmd("QUIT");
  });

  void test("after UTF8 the message goes out as stored", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.equal(await c.cmd("UTF8"), "+OK UTF8 enabled");
    await c.login(f.user);
    const { status, msg } = await retr(c, 1);
    assert.equal(status, `+OK ${INTL.length} octets`);
    assert.ok(msg.equals(INTL));
    await c.cmd("QUIT");
  });
});
