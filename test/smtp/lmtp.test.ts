// LMTP (RFC 2033): LHLO, one reply per accepted recipient after DATA and after BDAT LAST;
// 10 recipients with one over quota give 9 successes and one 452 4.2.2; a message that
// could never fit gives 552 5.2.2; nodemailer's LMTP client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { RawClient, message, show, startSmtp, type TestServer } from "./helpers.ts";

void describe("LMTP", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp();
    for (let i = 0; i < 9; i++) await t.store.createAccount({ name: `u${i}@example.org` });
    // carol (quota 2000 octets) is nearly full.
    await t.server.ctx.ingest.ingest({
      accountId: t.accounts.carol.id,
      raw: Buffer.from(message("filler", "x".repeat(1500) + "\r\n")),
      source: "import",
    });
  });
  after(async () => {
    await t.stop();
  });

  void test("LHLO only; 10 recipients, one over quota: 9 x 250 and one 452 4.2.2, in RCPT order", async () => {
    const c = await RawClient.connect(t.port("lmtp"));
    assert.match(show(await c.reply()), /^220 mx\.example\.org LMTP/);
    assert.match(await c.cmd("EHLO x.example"), /^500 5\.5\.1/);
    assert.match(await c.cmd("LHLO x.example"), /PIPELINING/);
    const rcpts = [
      ...Array.from({ length: 5 }, (_, i) => `u${i}@example.org`),
      "carol@example.org",
      ...Array.from({ length: 4 }, (_, i) => `u${i + 5}@example.org`),
    ];
    c.write(`MAIL FROM:<s@sender.example>\r\n${rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join("")}DATA\r\n`);
    const r = await c.replies(12);
    assert.ok(
      r.slice(0, 11).every((x) => x.startsWith("250")),
      r.join("\n"),
    );
    assert.match(r[11] ?? "", /^354/);
    c.write(`${message("lmtp", "y".repeat(400) + "\r\n")}.\r\n`);
    const after = await c.replies(10);
    assert.deepEqual(
      after.map((x) => x.slice(0, 9)),
      [
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "452 4.2.2",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
      ],
    );
    for (let i = 0; i < 9; i++) {
      const a = await t.store.getAccountByName(`u${i}@example.org`);
      assert.ok(a !== null);
      const inbox = await t.inbox(a);
      assert.equal(inbox.length, 1);
      assert.match(
        inbox[0]?.toString() ?? "",
        new RegExp(
          `^Return-Path: <s@sender\\.example>\\r\\nDelivered-To: u${i}@example\\.org\\r\\nReceived: from x\\.example \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mx\\.example\\.org \\(Mailroom\\) with LMTP id`,
        ),
      );
    }
    // BDAT LAST: one reply per recipient too; a message that can never fit is 552 5.2.2.
    const big = message("big", "z".repeat(3000) + "\r\n");
    c.write(
      `MAIL FROM:<>\r\nRCPT TO:<u0@example.org>\r\nRCPT TO:<carol@example.org>\r\nBDAT ${big.length} LAST\r\n${big}`,
    );
    const r2 = await c.replies(5);
    assert.deepEqual(
      r2.map((x) => x.slice(0, 9)),
      ["250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.0.0", "552 5.2.2"],
    );
    await c.close();
  });

  void test("nodemailer LMTP client", async () => {
    const transport = nodemailer.createTransport({
      lmtp: true,
      host: "127.0.0.1",
      port: t.port("lmtp"),
      name: "client.example",
    });
    const info = await transport.sendMail({
      envelope: { from: "s@sender.example", to: ["u1@example.org", "u2@example.org"] },
      raw: message("nodemailer lmtp"),
    });
    assert.deepEqual(info.accepted, ["u1@example.org", "u2@example.org"]);
    transport.close();
    const a = await t.store.getAccountByName("u2@example.org");
    assert.ok(a !== null);
    assert.ok((await t.inbox(a)).some((m) => m.toString().includes("Subject: nodemailer lmtp")));
  });
});
