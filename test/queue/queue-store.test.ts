// The queue's delivery bookkeeping on SQLite and PostgreSQL: claims under leases (one winner
// of several nodes, taken over after expiry), FUTURERELEASE and admin holds, outcomes
// recorded per recipient, requeue with the next attempt time, removal when all are final.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import { randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const T0 = Date.UTC(2026, 10, 22, 12);

async function suite(open: () => Promise<MaintainedMailStore>): Promise<void> {
  const store = await open();
  try {
    const clock = new ManualClock(T0);
    const q = QueueStore.fromStore(store, clock);
    assert.ok(q);
    const msg = Buffer.from("Subject: q\r\n\r\nbody\r\n");
    const a = await q.enqueue({
      from: "s@example.org",
      message: msg,
      recipients: [{ address: "a@x.example" }, { address: "b@y.example" }],
    });
    const held = await q.enqueue({
      from: "s@example.org",
      message: msg,
      recipients: [{ address: "c@x.example" }],
      holdUntil: T0 + 60_000,
    });
    const urgent = await q.enqueue({
      from: "s@example.org",
      message: msg,
      recipients: [{ address: "d@x.example" }],
      priority: 5,
    });

    // Two nodes claim at once: each message goes to exactly one, the urgent one first.
    const [n1, n2] = await Promise.all([q.claim("node1", 60_000, 10), q.claim("node2", 60_000, 10)]);
    const ids = [...n1, ...n2].map((m) => m.id).sort();
    assert.deepEqual(ids, [a, urgent].sort());
    const mine = n1.length > 0 ? "node1" : "node2";
    const other = mine === "node1" ? "node2" : "node1";
    assert.equal([...n1, ...n2][0]?.id, urgent);
    assert.deepEqual(await q.claim("node3", 60_000, 10), []);

    // The lease expires: another node takes the messages over, and the first one's writes
    // are refused from then on.
    clock.advance(61_000);
    const taken = await q.claim(other, 60_000, 10);
    assert.deepEqual(taken.map((m) => m.id).sort(), [a, held, urgent].sort());
    assert.equal(
      await q.record(a, mine, [
        { index: 0, status: "delivered", error: null, remoteMta: "mx", dsnStatus: "2.0.0" },
      ]),
      false,
    );
    // The new holder records one final outcome early and the other as pending at the end.
    assert.equal(
      await q.record(a, other, [
        { index: 0, status: "delivered", error: null, remoteMta: "mx.x", dsnStatus: "2.0.0" },
      ]),
      true,
    );
    assert.equal(
      await q.finishAttempt(
        a,
        other,
        [{ index: 1, status: "pending", error: "451 4.3.0 later", remoteMta: "mx.y", dsnStatus: "4.3.0" }],
        { nextAttemptAt: clock.now() + 300_000, delayNotified: true },
      ),
      true,
    );
    const after1 = await q.get(a);
    assert.ok(after1);
    assert.equal(after1.status, "queued");
    assert.equal(after1.attempts, 1);
    assert.equal(after1.delayNotified, true);
    assert.equal(after1.nextAttemptAt, clock.now() + 300_000);
    assert.deepEqual(
      after1.recipients.map((r) => [r.status, r.remoteMta, r.dsnStatus, r.lastError]),
      [
        ["delivered", "mx.x", "2.0.0", null],
        ["pending", "mx.y", "4.3.0", "451 4.3.0 later"],
      ],
    );
    await q.finishAttempt(
      urgent,
      other,
      [{ index: 0, status: "delivered", error: null, remoteMta: "mx.x", dsnStatus: "2.0.0" }],
      {
        nextAttemptAt: 0,
      },
    );
    assert.equal(await q.get(urgent), null);
    await q.finishAttempt(
      held,
      other,
      [{ index: 0, status: "pending", error: "x", remoteMta: null, dsnStatus: "4.0.0" }],
      {
        nextAttemptAt: clock.now() + 3_600_000,
      },
    );
    // Not due before its time; then due, and finished: the message leaves the queue.
    assert.deepEqual(await q.claim("node1", 60_000, 10), []);
    clock.advance(300_000);
    assert.deepEqual(
      (await q.claim("node1", 60_000, 10)).map((m) => m.id),
      [a],
    );
    await q.finishAttempt(
      a,
      "node1",
      [{ index: 1, status: "failed", error: "550 5.1.1 no", remoteMta: "mx.y", dsnStatus: "5.1.1" }],
      { nextAttemptAt: 0 },
    );
    assert.equal(await q.get(a), null);

    // Admin operations: hold keeps a message out of claims until release; retry makes a
    // waiting one due; cancel drops it.
    assert.equal(await q.retry(held), true);
    assert.equal(await q.hold(held), true);
    assert.deepEqual(await q.claim("node1", 60_000, 10), []);
    assert.equal((await q.get(held))?.status, "held");
    assert.equal(await q.release(held), true);
    assert.deepEqual(
      (await q.claim("node1", 60_000, 10)).map((m) => m.id),
      [held],
    );
    assert.equal(await q.cancel(held), false, "a message being sent is not cancelled");
    await q.finishAttempt(
      held,
      "node1",
      [{ index: 0, status: "pending", error: "x", remoteMta: null, dsnStatus: "4.0.0" }],
      {
        nextAttemptAt: clock.now() + 60_000,
      },
    );
    assert.equal(await q.cancel(held), true);
    assert.equal(await q.get(held), null);
    assert.equal(await q.hold("Qnone"), false);
  } finally {
    await store.close();
  }
}

describe("queue delivery bookkeeping", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  void test("SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-queue-"));
    dirs.push(dir);
    await suite(() =>
      openStore({
        backend: "sqlite",
        sqlitePath: join(dir, "mail.sqlite"),
        blobs: "auto",
        clock: new ManualClock(T0),
        logger: silentLogger(),
      }),
    );
  });
  void test("PostgreSQL", async () => {
    await suite(async () => {
      const s = await openStore({
        backend: "postgres",
        postgresUrl: PG_URL,
        postgresSchema: randomSchemaName("queue"),
        blobs: "db",
        clock: new ManualClock(T0),
        logger: silentLogger(),
      });
      return s;
    });
  });
});
