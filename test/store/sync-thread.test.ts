// The WAL sync thread (src/store/backends/sqlite/sync-thread.ts): a commit is told it is on
// disk by a look at shared memory while the event loop is busy, and by a message while it is
// idle; a process does not end before its last commit is on disk; a process that cannot start
// the thread syncs from its event loop.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SyncThread } from "../../src/store/backends/sqlite/sync-thread.ts";

const driverModule = JSON.stringify(join(import.meta.dirname, "../../src/store/backends/sqlite/driver.ts"));

/** Runs node with `args`; its exit code and what it printed. */
function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

void test("a sync is told by poll() while the event loop is busy, and by a message while it is idle", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-sync-"));
  const wal = join(dir, "x.sqlite-wal");
  await writeFile(wal, "frames");
  const thread = new SyncThread(wal);
  try {
    // idle: the thread's message settles it
    await thread.sync();
    assert.equal(thread.pending, 0);
    // busy: no turn of the event loop until poll() has settled it
    let settled = false;
    const p = thread.sync().then(() => (settled = true));
    const until = performance.now() + 5000;
    while (thread.pending > 0 && performance.now() < until) thread.poll();
    assert.equal(thread.pending, 0, "settled by poll() alone");
    assert.equal(settled, false, "its callbacks run at the next microtask checkpoint");
    await p;
    // many at once: all settled, in order
    const order: number[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => thread.sync().then(() => order.push(i))));
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
  } finally {
    await thread.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("no WAL file yet: a sync has nothing to write and resolves", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-sync-"));
  const thread = new SyncThread(join(dir, "none.sqlite-wal"));
  try {
    await thread.sync();
  } finally {
    await thread.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("a process does not end before its last commit is on disk, and close() returns", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-sync-"));
  try {
    // Nothing but the commits' own waits keeps the script going: the last one is not awaited,
    // and the database is not closed.
    const script = join(dir, "commit.mjs");
    await writeFile(
      script,
      `import { openSqlite } from ${driverModule};
       const db = openSqlite(${JSON.stringify(join(dir, "c.sqlite"))});
       await db.run("CREATE TABLE t (x INTEGER)");
       for (let i = 0; i < 20; i++) await db.run("INSERT INTO t (x) VALUES (?)", [i]);
       void db.run("INSERT INTO t (x) VALUES (20)").then(() => process.stdout.write("durable\\n"));`,
    );
    const r = await run([script]);
    assert.equal(r.code, 0);
    assert.equal(r.out, "durable\n");
    // and one that closes the database: close() waits for the thread to stop, then returns
    const closing = join(dir, "close.mjs");
    await writeFile(
      closing,
      `import { openSqlite } from ${driverModule};
       const db = openSqlite(${JSON.stringify(join(dir, "d.sqlite"))});
       await db.run("CREATE TABLE t (x INTEGER)");
       await db.close();
       process.stdout.write("closed\\n");`,
    );
    const c = await run([closing]);
    assert.equal(c.code, 0);
    assert.equal(c.out, "closed\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("a process whose worker threads cannot load a file syncs from its event loop", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-sync-"));
  try {
    const script = `
      import { openSqlite } from ${driverModule};
      const db = openSqlite(${JSON.stringify(join(dir, "e.sqlite"))});
      await db.run("CREATE TABLE t (x INTEGER)");
      await db.run("INSERT INTO t (x) VALUES (1)");
      process.stdout.write(String(db.stats().syncs) + "\\n");
      await db.close();`;
    const r = await run(["--input-type=module", "-e", script]);
    assert.equal(r.code, 0);
    assert.equal(r.out, "2\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
