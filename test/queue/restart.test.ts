// A delivery agent killed (SIGKILL) in the middle of a queue run: its claims expire, another
// agent takes the messages over, and every message reaches the peer exactly once (outcomes
// are recorded as soon as the peer answers; a claimed message not yet sent is sent by the
// next holder).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { freeSharedPort, startSink, type SinkProcess } from "../helpers/smtp-sink.ts";

let dir: string;
let dns: TestDnsServer;
let sink: SinkProcess;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailroom-restart-"));
  const port = await freeSharedPort(["127.0.0.8"]);
  // -w 1: a second before answering DATA, so the kill lands while sessions are open.
  sink = await startSink("127.0.0.8", port, ["-w", "1", "-D", join(dir, "dump")]);
  dns = await startDnsServer({
    "far.test": { MX: [{ exchange: "mx.far.test", priority: 10 }] },
    "mx.far.test": { A: ["127.0.0.8"] },
  });
});
after(async () => {
  await sink.stop();
  await dns.close();
  await rm(dir, { recursive: true, force: true });
});

void test("SIGKILL during delivery: nothing lost, nothing sent twice", async () => {
  const path = join(dir, "mail.sqlite");
  let store: MaintainedMailStore = await openStore({
    backend: "sqlite",
    sqlitePath: path,
    blobs: "auto",
    clock: systemClock,
    logger: silentLogger(),
  });
  const N = 12;
  let queue = QueueStore.fromStore(store, systemClock)!;
  for (let i = 0; i < N; i++)
    await queue.enqueue({
      from: "sender@local.test",
      message: Buffer.from(`From: sender@local.test\r\nSubject: restart-${i}-end\r\n\r\nbody\r\n`),
      recipients: [{ address: `r${i}@far.test` }],
    });
  await store.close();

  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "fixtures", "runner-child.ts"), path, String(sink.port), dns.address],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  // Let it claim and start its sessions (each waits a second for the sink's DATA answer).
  await new Promise((r) => setTimeout(r, 1500));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));

  store = await openStore({
    backend: "sqlite",
    sqlitePath: path,
    blobs: "auto",
    clock: systemClock,
    logger: silentLogger(),
  });
  queue = QueueStore.fromStore(store, systemClock)!;
  const left = (await queue.list()).length;
  assert.ok(left > 0 && left < N, `the kill left ${left} of ${N} messages`);
  const runner = new QueueRunner({
    queue,
    resolver: systemResolver([dns.address], { timeoutMs: 1000, tries: 1 }),
    transport: new SmtpQueueTransport({ helo: "parent.local.test" }),
    clock: systemClock,
    logger: silentLogger(),
    hostname: "parent.local.test",
    holder: "parent",
    port: sink.port,
    concurrency: 12,
    returnMail: async () => {},
  });
  const deadline = Date.now() + 30_000;
  while ((await queue.list()).length > 0 && Date.now() < deadline) {
    await runner.runOnce();
    await new Promise((r) => setTimeout(r, 100));
  }
  await runner.stop();
  assert.deepEqual(await queue.list(), []);
  await store.close();
  await new Promise((r) => setTimeout(r, 200));
  const dump = await readFile(join(dir, "dump"), "utf8");
  for (let i = 0; i < N; i++)
    assert.equal(dump.split(`Subject: restart-${i}-end\n`).length - 1, 1, `message ${i}`);
});
