// The durable outbound queue: enqueue in one transaction and list, on SQLite and PostgreSQL;
// and a relayed submission landing in the real queue table with its DSN parameters, hold
// time (FUTURERELEASE), priority (MT-PRIORITY) and deadline (DELIVERBY).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock, systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import { openStore } from "../../src/store/open.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import { PASSWORDS, RawClient, plainAuth, startSmtp, type TestServer } from "./helpers.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

async function contract(store: MaintainedMailStore): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 10, 22));
  const q = QueueStore.fromStore(store, clock);
  assert.ok(q !== null);
  const a = await q.enqueue({
    from: "a@example.org",
    message: Buffer.from("Subject: one\r\n\r\nx\r\n"),
    recipients: [
      {
        address: "x@remote.example",
        notify: ["SUCCESS", "FAILURE"],
        orcpt: { addrType: "rfc822", address: "x@remote.example" },
      },
      { address: "y@remote.example" },
    ],
    params: { ret: "HDRS", envid: "e1", requireTls: true },
    accountId: "acc",
    priority: 2,
    deliverBy: clock.now() + 3_600_000,
  });
  const b = await q.enqueue({
    from: "",
    message: Buffer.from("Subject: two\r\n\r\ny\r\n"),
    recipients: [{ address: "z@remote.example", notify: "NEVER" }],
    holdUntil: clock.now() + 60_000,
  });
  const all = await q.list();
  assert.deepEqual(
    all.map((m) => m.id),
    [a, b],
  ); // priority 2 first
  const first = all[0];
  assert.ok(first !== undefined);
  assert.equal(first.status, "queued");
  assert.equal(first.from, "a@example.org");
  assert.deepEqual(first.params, { ret: "HDRS", envid: "e1", requireTls: true });
  assert.equal(first.deliverBy, clock.now() + 3_600_000);
  assert.deepEqual(
    first.recipients.map((r) => [r.index, r.address, r.notify, r.orcpt?.address, r.status]),
    [
      [0, "x@remote.example", ["SUCCESS", "FAILURE"], "x@remote.example", "pending"],
      [1, "y@remote.example", undefined, undefined, "pending"],
    ],
  );
  assert.equal((await q.message(first))?.toString(), "Subject: one\r\n\r\nx\r\n");
  const held = await q.get(b);
  assert.equal(held?.status, "held");
  assert.equal(held?.holdUntil, clock.now() + 60_000);
  assert.deepEqual(
    (await q.list({ due: true })).map((m) => m.id),
    [a],
  );
  clock.advance(60_000);
  assert.deepEqual(
    (await q.list({ due: true })).map((m) => m.id),
    [a, b],
  );
  await assert.rejects(q.enqueue({ from: "", message: Buffer.from("x"), recipients: [] }), RangeError);
}

void describe("outbound queue store", () => {
  void test("SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-queue-"));
    const store = await openStore({
      backend: "sqlite",
      sqlitePath: join(dir, "m.sqlite"),
      blobs: "fs",
      clock: systemClock,
      logger: silentLogger(),
      search: "scan",
    });
    try {
      await contract(store);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test("PostgreSQL", async () => {
    const schema = randomSchemaName();
    const store = await openStore({
      backend: "postgres",
      postgresUrl: PG_URL,
      postgresSchema: schema,
      blobs: "db",
      clock: systemClock,
      logger: silentLogger(),
      search: "scan",
    });
    try {
      await contract(store);
    } finally {
      await store.close();
      const admin = await openPostgres(PG_URL, { poolSize: 1 });
      await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.close();
    }
  });
});

void describe("submission into the queue table", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp();
  });
  after(async () => {
    await t.stop();
  });

  void test("a relayed message is queued with its envelope; 250 after the commit", async () => {
    const c = await RawClient.connect(t.port("submissions"), { tls: true });
    await c.reply();
    await c.cmd("EHLO client.example");
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", PASSWORDS.alice)}`), /^235/);
    const until = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
    c.write(
      `MAIL FROM:<alice@example.org> RET=FULL ENVID=x1 MT-PRIORITY=-2 HOLDUNTIL=${until} BY=600;N REQUIRETLS\r\nRCPT TO:<r1@remote.example> NOTIFY=DELAY\r\nRCPT TO:<r2@remote.example>\r\nBDAT 20 LAST\r\nSubject: q\r\n\r\nbody\r\n`,
    );
    const r = await c.replies(4);
    assert.ok(
      r.every((x) => x.startsWith("250")),
      r.join("\n"),
    );
    const q = QueueStore.fromStore(t.store, systemClock);
    assert.ok(q !== null);
    const [m] = await q.list();
    assert.ok(m !== undefined);
    assert.equal(m.status, "held");
    assert.equal(m.holdUntil, Date.parse(until));
    assert.equal(m.priority, -2);
    assert.ok(m.deliverBy !== null && m.deliverBy > Date.now() + 500_000);
    assert.deepEqual(m.params, {
      ret: "FULL",
      envid: "x1",
      requireTls: true,
      // RFC 4954 §5: the authenticated submitter (test/smtp/auth-param.test.ts).
      auth: "alice@example.org",
      deliverByMode: "N",
      deliverByTrace: false,
    });
    assert.deepEqual(
      m.recipients.map((x) => [x.address, x.notify ?? null]),
      [
        ["r1@remote.example", ["DELAY"]],
        ["r2@remote.example", null],
      ],
    );
    assert.match((await q.message(m))?.toString() ?? "", /^Received: [^]*\r\nSubject: q\r\n\r\nbody\r\n$/);
    await c.close();
  });
});
