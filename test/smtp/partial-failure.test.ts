// One SMTP reply per message (RFC 5321 §4.2.5): when one local copy fails after others were
// committed, the message gets 250 and the failed copy goes to the queue (retried, or bounced
// with a DSN), so the client does not send the committed copies again; when nothing was
// committed, the failure stands.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MemoryOutbound, RawClient, message, show, startSmtp, type TestServer } from "./helpers.ts";

let t: TestServer;
const outbound = new MemoryOutbound();
before(async () => {
  t = await startSmtp({ service: { outbound } });
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

void test("alice's copy is stored, carol's (over quota) is queued, and the message gets 250", async () => {
  const c = await RawClient.connect(t.port("smtp"));
  assert.match(show(await c.reply()), /^220/);
  await c.cmd("EHLO client.example");
  assert.match(await c.cmd("MAIL FROM:<s@sender.example>"), /^250/);
  assert.match(await c.cmd("RCPT TO:<alice@example.org>"), /^250/);
  assert.match(await c.cmd("RCPT TO:<Carol@example.org> NOTIFY=FAILURE"), /^250/);
  assert.match(await c.cmd("DATA"), /^354/);
  c.write(`${message("partial", "y".repeat(800) + "\r\n")}.\r\n`);
  assert.match(show(await c.reply()), /^250 2\.0\.0/);
  assert.equal((await t.inbox(t.accounts.alice)).length, 1);
  assert.equal(outbound.queued.length, 1);
  const q = outbound.queued[0]!;
  assert.equal(q.from, "s@sender.example");
  assert.deepEqual(
    q.recipients.map((r) => [r.address, r.params.notify, r.params.orcpt]),
    [["carol@example.org", ["FAILURE"], { addrType: "rfc822", address: "Carol@example.org" }]],
  );
  assert.match(q.message.toString(), /^Received: /);

  // Only carol, over quota: nothing was committed, so the client hears the failure.
  assert.match(await c.cmd("MAIL FROM:<s@sender.example>"), /^250/);
  assert.match(await c.cmd("RCPT TO:<carol@example.org>"), /^250/);
  assert.match(await c.cmd("DATA"), /^354/);
  c.write(`${message("alone", "z".repeat(800) + "\r\n")}.\r\n`);
  assert.match(show(await c.reply()), /^452 4\.2\.2/);
  assert.equal(outbound.queued.length, 1);
  await c.cmd("QUIT");
});
