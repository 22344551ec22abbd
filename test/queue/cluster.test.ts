// Two delivery agents on one PostgreSQL database (two Mailroom nodes) work off one queue
// together: every recipient is delivered exactly once (smtp-sink's dump counts the copies),
// because a message is claimed under a lease by one node only.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { systemResolver } from "../../src/dns/resolver.ts";
import { SmtpQueueTransport } from "../../src/protocols/smtp/client/queue-transport.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import { QueueRunner } from "../../src/queue/runner.ts";
import { randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { freeSharedPort, startSink, type SinkProcess } from "../helpers/smtp-sink.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = randomSchemaName("cluster");
let dir: string;
let dns: TestDnsServer;
let sink: SinkProcess;
const stores: MaintainedMailStore[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailroom-cluster-"));
  const port = await freeSharedPort(["127.0.0.7"]);
  sink = await startSink("127.0.0.7", port, ["-D", join(dir, "dump")]);
  dns = await startDnsServer({
    "one.test": { MX: [{ exchange: "mx.sink.test", priority: 10 }] },
    "two.test": { MX: [{ exchange: "mx.sink.test", priority: 10 }] },
    "mx.sink.test": { A: ["127.0.0.7"] },
  });
  for (let i = 0; i < 2; i++)
    stores.push(
      await openStore({
        backend: "postgres",
        postgresUrl: PG_URL,
        postgresSchema: schema,
        blobs: "db",
        clock: systemClock,
        logger: silentLogger(),
      }),
    );
});
after(async () => {
  for (const s of stores) await s.close();
  await sink.stop();
  await dns.close();
  await rm(dir, { recursive: true, force: true });
});

void test("two nodes deliver 60 messages to 2 domains each: every copy exactly once", async () => {
  const q0 = QueueStore.fromStore(stores[0]!, systemClock);
  assert.ok(q0);
  const N = 60;
  for (let i = 0; i < N; i++)
    await q0.enqueue({
      from: "sender@local.test",
      message: Buffer.from(`From: sender@local.test\r\nSubject: cluster-${i}-end\r\n\r\nbody ${i}\r\n`),
      recipients: [{ address: `a${i}@one.test` }, { address: `b${i}@two.test` }],
    });
  const port = sink.port;
  const runners = stores.map(
    (s, i) =>
      new QueueRunner({
        queue: QueueStore.fromStore(s, systemClock)!,
        resolver: systemResolver([dns.address], { timeoutMs: 1000, tries: 1 }),
        transport: new SmtpQueueTransport({ helo: `node${i}.local.test` }),
        clock: systemClock,
        logger: silentLogger(),
        hostname: `node${i}.local.test`,
        holder: `node-${i}`,
        port,
        concurrency: 5,
        returnMail: async () => {
          throw new Error("no DSN expected");
        },
      }),
  );
  const deadline = Date.now() + 60_000;
  const claimed = [0, 0];
  while ((await q0.list({ limit: 1 })).length > 0 && Date.now() < deadline) {
    const got = await Promise.all(runners.map((r) => r.runOnce()));
    got.forEach((n, i) => (claimed[i]! += n));
  }
  for (const r of runners) await r.stop();
  assert.deepEqual(await q0.list(), []);
  assert.ok(claimed[0]! > 0 && claimed[1]! > 0, `both nodes worked: ${claimed.join(" / ")}`);
  assert.equal(claimed[0]! + claimed[1]!, N);
  // The sink saw each message once per domain.
  await new Promise((r) => setTimeout(r, 200));
  const dump = await readFile(join(dir, "dump"), "utf8");
  for (let i = 0; i < N; i++) {
    const copies = dump.split(`Subject: cluster-${i}-end\n`).length - 1;
    assert.equal(copies, 2, `message ${i}: ${copies} copies`);
  }
});
