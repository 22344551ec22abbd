// The session state machine over a real socket: greeting, EHLO keywords, sequence errors
// (503 5.5.1), the error limit, line-length limit, RSET/NOOP/HELP/VRFY/EXPN/QUIT, the idle
// timeout, graceful shutdown, and a delivery with its trace headers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient, message, show, startSmtp, type TestServer } from "./helpers.ts";

void describe("SMTP session", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp({ service: { timeoutMs: 400, maxErrors: 8 } });
  });
  after(async () => {
    await t.stop();
  });

  void test("greeting, EHLO keywords, HELO", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    assert.match(show(await c.reply()), /^220 mx\.example\.org ESMTP/);
    const ehlo = await c.cmd("EHLO client.example");
    for (const k of [
      "PIPELINING",
      "SIZE 52428800",
      "8BITMIME",
      "CHUNKING",
      "BINARYMIME",
      "ENHANCEDSTATUSCODES",
      "DSN",
      "STARTTLS",
      "SMTPUTF8",
      "MT-PRIORITY",
      "DELIVERBY",
      "NO-SOLICITING",
      "LIMITS RCPTMAX=500 MAILMAX=1000",
      "HELP",
    ])
      assert.ok(ehlo.includes(` ${k}`) || ehlo.includes(`| ${k}`), `${k} in ${ehlo}`);
    // No AUTH on the inbound MTA, no REQUIRETLS before TLS, FUTURERELEASE on submission only.
    assert.doesNotMatch(ehlo, /AUTH|REQUIRETLS|FUTURERELEASE/);
    assert.match(await c.cmd("HELO client.example"), /^250 mx\.example\.org Hello/);
    assert.match(await c.cmd("QUIT"), /^221 2\.0\.0/);
    assert.equal(await c.reply(), null);
  });

  void test("sequence errors are 503 5.5.1; RSET, NOOP, HELP, VRFY and EXPN", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    assert.match(await c.cmd("MAIL FROM:<a@b.example>"), /^503 5\.5\.1/);
    await c.cmd("EHLO c.example");
    assert.match(await c.cmd("RCPT TO:<bob@example.org>"), /^503 5\.5\.1/);
    assert.match(await c.cmd("DATA"), /^503 5\.5\.1/);
    assert.match(await c.cmd("MAIL FROM:<a@b.example>"), /^250 2\.1\.0/);
    assert.match(await c.cmd("MAIL FROM:<a@b.example>"), /^503 5\.5\.1/);
    assert.match(await c.cmd("RSET"), /^250 2\.0\.0/);
    assert.match(await c.cmd("RCPT TO:<bob@example.org>"), /^503 5\.5\.1/);
    assert.match(await c.cmd("NOOP"), /^250 2\.0\.0/);
    assert.match(await c.cmd("HELP"), /^214 2\.0\.0/);
    assert.match(await c.cmd("VRFY bob"), /^252 2\.5\.0/);
    assert.match(await c.cmd("EXPN list"), /^252 2\.5\.0/);
    assert.match(await c.cmd("AUTH PLAIN"), /^502 5\.5\.1/);
    await c.close();
  });

  void test("unknown commands count towards the error limit, then 421", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    c.write("FOO\r\n".repeat(8) + "NOOP\r\n");
    const r = await c.replies(9);
    assert.deepEqual(
      r.map((x) => x.slice(0, 9)),
      [...Array<string>(8).fill("500 5.5.1"), "421 4.7.0"],
    );
    assert.equal(await c.reply(), null);
  });

  void test("over-long command line: 500 5.5.2, the session goes on", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    assert.match(await c.cmd(`EHLO ${"a".repeat(5000)}`), /^500 5\.5\.2/);
    assert.match(await c.cmd(`NOOP ${"a".repeat(20000)}`), /^500 5\.5\.2/);
    assert.match(await c.cmd("EHLO ok.example"), /^250/);
    await c.close();
  });

  void test("idle timeout: 421 4.4.2 and close", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    assert.match(show(await c.reply(3000)), /^421 4\.4\.2/);
    assert.equal(await c.reply(), null);
  });

  void test("relay denied, unknown user, alias, subaddress, catch-all; trace headers at delivery", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    await c.cmd("EHLO sender.example");
    assert.match(await c.cmd("MAIL FROM:<x@sender.example> SIZE=100"), /^250/);
    assert.match(await c.cmd("RCPT TO:<someone@elsewhere.example>"), /^550 5\.7\.1/);
    assert.match(await c.cmd("RCPT TO:<nobody@example.org>"), /^550 5\.1\.1/);
    assert.match(await c.cmd("RCPT TO:<sales@example.org>"), /^250 2\.1\.5/);
    assert.match(await c.cmd("RCPT TO:<alice+tag@example.org>"), /^250 2\.1\.5/);
    assert.match(await c.cmd("RCPT TO:<anything@catchall.example>"), /^250 2\.1\.5/);
    assert.match(await c.cmd("DATA"), /^354/);
    const before = (await t.inbox(t.accounts.bob)).length;
    c.write(`${message("trace")}.\r\n`);
    assert.match(show(await c.reply()), /^250 2\.0\.0/);
    const bob = await t.inbox(t.accounts.bob);
    assert.equal(bob.length, before + 1); // sales@ and the catch-all: one copy for bob
    const raw = (bob.at(-1) ?? Buffer.alloc(0)).toString();
    assert.match(
      raw,
      /^Return-Path: <x@sender\.example>\r\nDelivered-To: (sales@example\.org|anything@catchall\.example)\r\nReceived: from sender\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.org \(Mailroom\) with ESMTP id \S+;\r\n\t\w{3}, /,
    );
    assert.ok(raw.endsWith(message("trace")));
    const alice = await t.inbox(t.accounts.alice);
    assert.ok(alice.some((m) => m.toString().includes("Subject: trace")));
    await c.close();
  });

  void test('domains.subaddressSeparator "": no subaddressing, user+tag is unknown', async () => {
    const t2 = await startSmtp({ config: { domains: { subaddressSeparator: "" } } });
    try {
      const c = await RawClient.connect(t2.port("smtp"));
      await c.reply();
      await c.cmd("EHLO sender.example");
      assert.match(await c.cmd("MAIL FROM:<x@sender.example>"), /^250/);
      assert.match(await c.cmd("RCPT TO:<alice+tag@example.org>"), /^550 5\.1\.1/);
      assert.match(await c.cmd("RCPT TO:<alice@example.org>"), /^250 2\.1\.5/);
      await c.close();
    } finally {
      await t2.stop();
    }
  });

  void test("graceful shutdown: 421 4.3.2 to an idle session", async () => {
    const t2 = await startSmtp();
    const c = await RawClient.connect(t2.port("smtp"));
    await c.reply();
    await c.cmd("EHLO a.example");
    const stopping = t2.stop();
    assert.match(show(await c.reply()), /^421 4\.3\.2/);
    await stopping;
  });
});
