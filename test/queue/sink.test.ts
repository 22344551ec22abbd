// The queue delivering to Postfix's smtp-sink on other loopback addresses, found through a
// DNS server on loopback: a peer that takes the mail, one that refuses the recipient (5xx:
// failure DSN with the peer's reply), one that answers 4xx and one that drops the connection
// at DATA (both retried later); MX fallback to a second host when the first refuses to talk.
// RFC 2852 DELIVERBY against a peer without it: R returned (5.4.7), N with trace relayed
// with a "relayed" DSN, an N deadline that passed reported once with a "delayed" DSN.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { systemResolver } from "../../src/dns/resolver.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import { SmtpQueueTransport } from "../../src/protocols/smtp/client/queue-transport.ts";
import { QueueRunner } from "../../src/queue/runner.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { localParts, queueFixture, type QueueFixture } from "./helpers.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { freeSharedPort, startSink, type SinkProcess } from "../helpers/smtp-sink.ts";

const T0 = Date.UTC(2026, 10, 22, 9);
let fx: QueueFixture;
let store: MaintainedMailStore;
let dns: TestDnsServer;
let port = 0;
const sinks: SinkProcess[] = [];

before(async () => {
  fx = await queueFixture("mailroom-sink-queue-", T0);
  store = fx.store;
  const hosts = {
    ok: "127.0.0.2",
    hard: "127.0.0.3",
    soft: "127.0.0.4",
    drop: "127.0.0.5",
    refuse: "127.0.0.6",
  };
  port = await freeSharedPort(Object.values(hosts));
  sinks.push(await startSink(hosts.ok, port));
  sinks.push(await startSink(hosts.hard, port, ["-f", "rcpt"]));
  sinks.push(await startSink(hosts.soft, port, ["-r", "rcpt"]));
  sinks.push(await startSink(hosts.drop, port, ["-q", "data"]));
  sinks.push(await startSink(hosts.refuse, port, ["-Q", "connect"]));
  dns = await startDnsServer({
    "ok.test": { MX: [{ exchange: "mx.ok.test", priority: 10 }] },
    "mx.ok.test": { A: [hosts.ok] },
    "hard.test": { MX: [{ exchange: "mx.hard.test", priority: 10 }] },
    "mx.hard.test": { A: [hosts.hard] },
    "soft.test": { MX: [{ exchange: "mx.soft.test", priority: 10 }] },
    "mx.soft.test": { A: [hosts.soft] },
    "drop.test": { MX: [{ exchange: "mx.drop.test", priority: 10 }] },
    "mx.drop.test": { A: [hosts.drop] },
    // The preferred MX refuses service (421): the backup takes the mail.
    "backup.test": {
      MX: [
        { exchange: "mx1.backup.test", priority: 10 },
        { exchange: "mx2.backup.test", priority: 20 },
      ],
    },
    "mx1.backup.test": { A: [hosts.refuse] },
    "mx2.backup.test": { A: [hosts.ok] },
  });
});
after(async () => {
  for (const s of sinks) await s.stop();
  await dns.close();
  await fx.cleanup();
});

function runnerFor(clock: ManualClock, holder: string): QueueRunner {
  const { queue, local, returnMail } = localParts(store, clock);
  return new QueueRunner({
    queue,
    resolver: systemResolver([dns.address], { timeoutMs: 1000, tries: 1 }),
    transport: new SmtpQueueTransport({
      helo: "mx.local.test",
      timeouts: { connectMs: 3000, greetingMs: 5000 },
    }),
    clock,
    logger: silentLogger(),
    hostname: "mx.local.test",
    holder,
    port,
    local,
    returnMail,
  });
}

/** The per-recipient part of each DSN in the account's INBOX. */
async function dsnTexts(account: string): Promise<string[]> {
  const a = await store.getAccountByName(account);
  assert.ok(a);
  const box = await store.getMailboxByPath(a.id, "INBOX");
  assert.ok(box);
  const out: string[] = [];
  for (const r of await store.listMessages(a.id, box.id)) {
    const raw = (await store.getRaw(a.id, r.emailId))!;
    const status = parseMessage(raw).root.parts?.[1];
    assert.ok(status);
    out.push(raw.subarray(status.bodyStart, status.bodyEnd).toString());
  }
  return out;
}

void test("DELIVERBY to a peer without it: R returned with 5.4.7, N traced as relayed, N past its deadline delayed", async () => {
  const clock = new ManualClock(T0);
  await store.createAccount({ name: "by@local.test" });
  const runner = runnerFor(clock, "by-test");
  const { queue } = localParts(store, clock);
  const msg = (subject: string): Buffer =>
    Buffer.from(`From: by@local.test\r\nSubject: ${subject}\r\n\r\nhello\r\n`);
  const r = await queue.enqueue({
    from: "by@local.test",
    message: msg("by R"),
    recipients: [{ address: "r@ok.test" }],
    params: { deliverByMode: "R" },
    deliverBy: T0 + 600_000,
  });
  const n = await queue.enqueue({
    from: "by@local.test",
    message: msg("by N trace"),
    recipients: [{ address: "n@ok.test" }],
    params: { deliverByMode: "N", deliverByTrace: true },
    deliverBy: T0 + 600_000,
  });
  const late = await queue.enqueue({
    from: "by@local.test",
    message: msg("by N late"),
    recipients: [{ address: "late@soft.test" }],
    params: { deliverByMode: "N" },
    deliverBy: T0 - 1_000,
  });
  assert.equal(await runner.runOnce(), 3);
  assert.equal(await queue.get(r), null);
  assert.equal(await queue.get(n), null);
  assert.equal((await queue.get(late))?.recipients[0]?.status, "pending");
  const texts = await dsnTexts("by@local.test");
  assert.equal(texts.length, 3, texts.join("\n----\n"));
  const find = (rcpt: string): string => texts.find((t) => t.includes(`rfc822;${rcpt}`)) ?? "";
  assert.match(find("r@ok.test"), /Action: failed\r\nStatus: 5\.4\.7\r\n/);
  assert.match(find("n@ok.test"), /Action: relayed\r\n/);
  assert.match(find("late@soft.test"), /Action: delayed\r\nStatus: 4\.4\.7\r\n/);
  // The delayed DSN is sent once: the next attempt (still refused) adds none.
  clock.advance(3_600_000);
  assert.equal(await runner.runOnce(), 1);
  assert.equal((await dsnTexts("by@local.test")).length, 3);
  await queue.cancel(late);
  await runner.stop();
});

void test("delivered, bounced with the peer's reply, or kept for a retry, as the peers answer", async () => {
  const clock = new ManualClock(T0);
  const runner = runnerFor(clock, "sink-test");
  const { queue } = localParts(store, clock);
  const id = await queue.enqueue({
    from: "sender@local.test",
    message: Buffer.from("From: sender@local.test\r\nSubject: to the sinks\r\n\r\nhello\r\n"),
    recipients: [
      { address: "a@ok.test" },
      { address: "b@hard.test" },
      { address: "c@soft.test" },
      { address: "d@drop.test" },
      { address: "e@backup.test" },
    ],
  });
  assert.equal(await runner.runOnce(), 1);
  const m = await queue.get(id);
  assert.ok(m);
  assert.deepEqual(
    m.recipients.map((r) => [r.address, r.status, r.remoteMta]),
    [
      ["a@ok.test", "delivered", "mx.ok.test"],
      ["b@hard.test", "failed", "mx.hard.test"],
      ["c@soft.test", "pending", "mx.soft.test"],
      ["d@drop.test", "pending", "mx.drop.test"],
      ["e@backup.test", "delivered", "mx2.backup.test"],
    ],
  );
  assert.match(m.recipients[1]!.lastError ?? "", /^5\d\d /);
  assert.match(m.recipients[2]!.lastError ?? "", /^4\d\d /);
  // One failure DSN went to the sender, naming the refusing host and its reply.
  const sender = await store.getAccountByName("sender@local.test");
  assert.ok(sender);
  const box = await store.getMailboxByPath(sender.id, "INBOX");
  assert.ok(box);
  const rows = await store.listMessages(sender.id, box.id);
  assert.equal(rows.length, 1);
  const dsn = (await store.getRaw(sender.id, rows[0]!.emailId))!;
  const status = parseMessage(dsn).root.parts?.[1];
  assert.ok(status);
  const text = dsn.subarray(status.bodyStart, status.bodyEnd).toString();
  assert.match(
    text,
    /Final-Recipient: rfc822;b@hard\.test\r\nAction: failed\r\nStatus: 5\.\d\.\d+\r\nRemote-MTA: dns; mx\.hard\.test\r\nDiagnostic-Code: smtp; 5\d\d /,
  );
  await runner.stop();
});
