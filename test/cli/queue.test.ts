// `mailroom queue list|show|retry|hold|release|cancel` through the real CLI, on a data
// folder whose queue was filled through the store.
import assert from "node:assert/strict";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openDataDir, openDataStore } from "../../src/cli/data-dir.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import { runCli, tempDir } from "../helpers/cli.ts";

void test("the queue commands list, show, hold, release, retry and cancel queued mail", async () => {
  const { dir, cleanup } = await tempDir("mailroom-queue-cli-");
  try {
    assert.equal((await runCli(["queue", "list", "--data", dir])).stdout, "the queue is empty\n");
    const dd = await openDataDir({ dir });
    const store = await openDataStore(dd.config.current(), silentLogger());
    const q = QueueStore.fromStore(store, systemClock);
    assert.ok(q);
    const id = await q.enqueue({
      from: "admin@localhost",
      message: Buffer.from("Subject: out\r\n\r\nhi\r\n"),
      recipients: [{ address: "friend@remote.example" }, { address: "other@remote.example" }],
      params: { envid: "E1" },
    });
    await store.close();

    const list = await runCli(["queue", "list", "--data", dir]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`${id}\\s+queued .*<admin@localhost>\\s+friend@remote.example, other@remote.example`),
    );
    const show = await runCli(["queue", "show", id, "--data", dir]);
    assert.match(show.stdout, /status:\s+queued/);
    assert.match(show.stdout, /parameters:\s+\{"envid":"E1"\}/);
    assert.match(show.stdout, /<other@remote.example> pending/);

    assert.equal((await runCli(["queue", "hold", id, "--data", dir])).stdout, `${id} held\n`);
    assert.match((await runCli(["queue", "show", id, "--data", dir])).stdout, /status:\s+held/);
    const retryHeld = await runCli(["queue", "retry", id, "--data", dir]);
    assert.equal(retryHeld.code, 1);
    assert.match(retryHeld.stderr, /not in a state for retry/);
    assert.equal((await runCli(["queue", "release", id, "--data", dir])).stdout, `${id} released\n`);
    assert.equal((await runCli(["queue", "retry", id, "--data", dir])).stdout, `${id} is due now\n`);
    const cancel = await runCli(["queue", "cancel", id, "Qmissing", "--data", dir]);
    assert.equal(cancel.stdout, `${id} removed\n`);
    assert.equal(cancel.code, 1);
    assert.match(cancel.stderr, /Qmissing/);
    assert.equal((await runCli(["queue", "list", "--data", dir])).stdout, "the queue is empty\n");
    assert.equal((await runCli(["queue", "show", id, "--data", dir])).code, 1);
  } finally {
    await cleanup();
  }
});
