// The delivery agent without the network: local recipients through the ingest path, routing
// failures (null MX, missing domain, DNS trouble), DSNs back to a local sender (failure once,
// delay once after 4 h, expiry after 5 days with 4.4.7), none for the null sender, and the
// backoff of the retries. Deliveries over SMTP are in the end-to-end tests.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import { QueueRunner, type Transport } from "../../src/queue/runner.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { localParts, queueFixture, type QueueFixture } from "./helpers.ts";
import type { Id } from "../../src/store/types.ts";

const T0 = Date.UTC(2026, 10, 22, 8);
let store: MaintainedMailStore;
let sender: Id;
let rcpt: Id;

/** No remote delivery happens in these tests: any attempt fails the test. */
const noRemote: Transport = {
  deliver: () => Promise.reject(new Error("no remote delivery expected")),
  close: async () => {},
};

let fx: QueueFixture;
before(async () => {
  fx = await queueFixture("mailroom-runner-", T0);
  store = fx.store;
  sender = fx.sender;
  rcpt = (await store.createAccount({ name: "rcpt@local.test" })).id;
});
after(async () => {
  await fx.cleanup();
});

async function inbox(account: Id): Promise<Buffer[]> {
  const box = await store.getMailboxByPath(account, "INBOX");
  assert.ok(box);
  const rows = await store.listMessages(account, box.id);
  const out: Buffer[] = [];
  for (const r of rows) {
    const raw = await store.getRaw(account, r.emailId);
    if (raw) out.push(raw);
  }
  return out;
}

function dsnStatus(raw: Buffer): string {
  const p = parseMessage(raw).root.parts?.[1];
  assert.ok(p);
  return raw.subarray(p.bodyStart, p.bodyEnd).toString();
}

void test("local delivery, routing failures and DSNs over the life of a message", async () => {
  const clock = new ManualClock(T0);
  const { queue, local, returnMail } = localParts(store, clock);
  const runner = new QueueRunner({
    queue,
    resolver: new StaticResolver({
      "null.test": { MX: [{ exchange: ".", priority: 0 }] },
      "broken.test": { fail: "SERVFAIL" },
    }),
    transport: noRemote,
    clock,
    logger: silentLogger(),
    hostname: "mx.local.test",
    holder: "test-node",
    local,
    returnMail,
  });
  const message = Buffer.from(
    "From: sender@local.test\r\nSubject: hello\r\nMessage-ID: <m1@local.test>\r\n\r\nbody\r\n",
  );
  const id = await queue.enqueue({
    from: "sender@local.test",
    message,
    recipients: [
      { address: "rcpt@local.test" },
      { address: "nobody@local.test" },
      { address: "x@null.test", orcpt: { addrType: "rfc822", address: "X@null.test" } },
      { address: "y@broken.test" },
      { address: "z@nowhere.test", notify: "NEVER" },
    ],
    params: { envid: "ENV1" },
  });
  assert.equal(await runner.runOnce(), 1);

  // Delivered locally with the trace fields; one failure DSN for the three failures that
  // asked for one (NOTIFY=NEVER silences z).
  const got = await inbox(rcpt);
  assert.equal(got.length, 1);
  assert.match(
    got[0]!.toString(),
    /^Return-Path: <sender@local\.test>\r\nDelivered-To: rcpt@local\.test\r\nFrom:/,
  );
  let back = await inbox(sender);
  assert.equal(back.length, 1);
  assert.equal(parseMessage(back[0]!).subject, "Undelivered Mail Returned to Sender");
  const status = dsnStatus(back[0]!);
  assert.match(status, /Original-Envelope-Id: ENV1/);
  assert.match(status, /Final-Recipient: rfc822;nobody@local\.test\r\nAction: failed\r\nStatus: 5\.1\.1/);
  assert.match(
    status,
    /Original-Recipient: rfc822;X@null\.test\r\nFinal-Recipient: rfc822;x@null\.test\r\nAction: failed\r\nStatus: 5\.1\.10/,
  );
  assert.doesNotMatch(status, /z@nowhere|y@broken/);

  // y waits: 5 minutes, then 10, ... (doubling); a pass before its time does nothing.
  let m = await queue.get(id);
  assert.deepEqual(
    m?.recipients.map((r) => [r.address, r.status]),
    [
      ["rcpt@local.test", "delivered"],
      ["nobody@local.test", "failed"],
      ["x@null.test", "failed"],
      ["y@broken.test", "pending"],
      ["z@nowhere.test", "failed"],
    ],
  );
  assert.equal(m?.nextAttemptAt, T0 + 5 * 60_000);
  assert.equal(await runner.runOnce(), 0);
  clock.advance(5 * 60_000);
  assert.equal(await runner.runOnce(), 1);
  m = await queue.get(id);
  assert.equal(m?.nextAttemptAt, clock.now() + 10 * 60_000);

  // After 4 hours: one delay DSN, and only one.
  clock.set(T0 + 4 * 3_600_000);
  await queue.retry(id);
  assert.equal(await runner.runOnce(), 1);
  back = await inbox(sender);
  assert.equal(back.length, 2);
  assert.equal(parseMessage(back[1]!).subject, "Delayed Mail (still being retried)");
  assert.match(
    dsnStatus(back[1]!),
    /Final-Recipient: rfc822;y@broken\.test\r\nAction: delayed\r\nStatus: 4\.4\.3/,
  );
  await queue.retry(id);
  assert.equal(await runner.runOnce(), 1);
  assert.equal((await inbox(sender)).length, 2);

  // After 5 days: y fails with 4.4.7 and the message leaves the queue.
  clock.set(T0 + 5 * 86_400_000);
  await queue.retry(id);
  assert.equal(await runner.runOnce(), 1);
  back = await inbox(sender);
  assert.equal(back.length, 3);
  assert.match(
    dsnStatus(back[2]!),
    /Final-Recipient: rfc822;y@broken\.test\r\nAction: failed\r\nStatus: 4\.4\.7/,
  );
  assert.equal(await queue.get(id), null);
});

void test("no DSN ever goes to the null sender", async () => {
  const clock = new ManualClock(T0);
  const { queue, local, returnMail } = localParts(store, clock);
  const before = (await queue.list()).length;
  const runner = new QueueRunner({
    queue,
    resolver: new StaticResolver({}),
    transport: noRemote,
    clock,
    logger: silentLogger(),
    hostname: "mx.local.test",
    holder: "test-node-2",
    local,
    returnMail,
  });
  await queue.enqueue({
    from: "",
    message: Buffer.from("Subject: bounce\r\n\r\nx\r\n"),
    recipients: [{ address: "gone@local.test" }],
  });
  assert.equal(await runner.runOnce(), 1);
  assert.equal((await queue.list()).length, before, "failed, removed, and nothing new queued");
});
