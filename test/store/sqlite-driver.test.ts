// The SQLite driver: transactions (commit, rollback, afterCommit), isolation of reads from
// uncommitted writes, the writer mutex, and the statement cache bound.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { openSqlite, WalSync } from "../../src/store/backends/sqlite/driver.ts";
import type { SqlExecutor } from "../../src/store/sql.ts";

let dir: string;
let db: ReturnType<typeof openSqlite>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailroom-driver-"));
  db = openSqlite(join(dir, "d.sqlite"), { statementCacheSize: 4 });
  await db.exec(
    "CREATE TABLE kv (k TEXT PRIMARY KEY, n INTEGER NOT NULL, b BLOB); CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
  );
  await db.run("INSERT INTO c (id, n) VALUES (1, 0)");
});
after(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

void test("WAL, NORMAL sync plus our own WAL fdatasync, foreign keys on, a memory map on the writer only", async () => {
  assert.deepEqual(await db.get("PRAGMA journal_mode"), { journal_mode: "wal" });
  const fk = await db.transaction((tx) => tx.get("PRAGMA foreign_keys"));
  assert.deepEqual(fk, { foreign_keys: 1 });
  const sync = await db.transaction((tx) => tx.get("PRAGMA synchronous"));
  assert.deepEqual(sync, { synchronous: 1 });
  // The writer maps the file; the reader (reads while a transaction is open) does not.
  const maps = await db.transaction(async (tx) => [
    await tx.get("PRAGMA mmap_size"),
    await db.get("PRAGMA mmap_size"),
  ]);
  assert.deepEqual(maps, [{ mmap_size: 268435456 }, { mmap_size: 0 }]);
});

void test("commits wait for a WAL sync, concurrent commits share one, events keep commit order", async () => {
  const before = db.stats();
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      db.transaction((tx) => tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", [`sync${i}`, i]), {
        afterCommit: () => order.push(i),
      }),
    ),
  );
  const after = db.stats();
  assert.equal(after.commits - before.commits, 20);
  assert.ok(after.syncs - before.syncs >= 1);
  assert.ok(after.syncs - before.syncs < 20, `syncs ${after.syncs - before.syncs} for 20 commits`);
  assert.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

void test("WAL syncs overlap: a later sync settles the commits of earlier ones, in commit order", async () => {
  // Syncs finish when the test says so, in any order.
  const syncs: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  const ws = new WalSync(
    join(dir, "none-wal"),
    () => new Promise((resolve, reject) => syncs.push({ resolve, reject })),
    2,
  );
  const events: string[] = [];
  const commit = (name: string): Promise<string> =>
    ws
      .sync(() => events.push(name))
      .then(
        () => `${name} durable`,
        (e: Error) => `${name} failed: ${e.message}`,
      );
  const a = commit("a"); // sync 1 starts
  const b = commit("b"); // sync 2 starts at once (two may run)
  const c = commit("c"); // waits for a free slot
  const d = commit("d");
  assert.equal(syncs.length, 2);
  assert.equal(ws.unsynced, 4);
  // Sync 2 started after a's commit: it covers a and b, in commit order.
  syncs[1]?.resolve();
  assert.deepEqual(await Promise.all([a, b]), ["a durable", "b durable"]);
  assert.deepEqual(events, ["a", "b"]);
  assert.equal(ws.unsynced, 2);
  // c and d share sync 3, started when sync 2 ended; sync 1 ending later changes nothing.
  assert.equal(syncs.length, 3);
  syncs[0]?.resolve();
  syncs[2]?.reject(new Error("EIO"));
  assert.deepEqual(await Promise.all([c, d]), ["c failed: EIO", "d failed: EIO"]);
  assert.deepEqual(events, ["a", "b"]);
  // A failed sync fails only its own commits: the next commit gets a sync of its own.
  const e = commit("e");
  const f = commit("f");
  assert.equal(syncs.length, 5);
  syncs[4]?.reject(new Error("EIO"));
  assert.equal(await f, "f failed: EIO");
  syncs[3]?.resolve();
  assert.equal(await e, "e durable");
  assert.deepEqual(events, ["a", "b", "e"]);
  assert.equal(ws.syncs, 3);
  assert.equal(ws.unsynced, 0, "settled and failed commits are no longer counted");
  await ws.close();
});

void test("values round-trip: integers as numbers, blobs as Buffer, RETURNING", async () => {
  const row = await db.transaction((tx) =>
    tx.get<{ k: string; n: number }>("INSERT INTO kv (k, n, b) VALUES (?, ?, ?) RETURNING k, n", [
      "a",
      2 ** 40,
      Buffer.from([1, 2]),
    ]),
  );
  assert.deepEqual(row, { k: "a", n: 2 ** 40 });
  const back = await db.get<{ b: Buffer }>("SELECT b FROM kv WHERE k = ?", ["a"]);
  assert.ok(Buffer.isBuffer(back?.b));
  assert.deepEqual([...back.b], [1, 2]);
  const r = await db.transaction((tx) => tx.run("UPDATE kv SET n = n + 1 WHERE k = ? RETURNING n", ["a"]));
  assert.equal(r.changes, 1);
});

void test("rollback on throw; reads never see uncommitted writes; afterCommit only on commit", async () => {
  const seen: string[] = [];
  await assert.rejects(
    db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["gone", 1]);
        throw new Error("boom");
      },
      { afterCommit: () => seen.push("wrong") },
    ),
    /boom/,
  );
  assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["gone"]), undefined);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let inserted!: () => void;
  const didInsert = new Promise<void>((r) => (inserted = r));
  const tx = db.transaction(
    async (t) => {
      await t.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["iso", 1]);
      inserted();
      await gate;
    },
    { afterCommit: () => seen.push("committed") },
  );
  await didInsert;
  assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["iso"]), undefined);
  release();
  await tx;
  assert.deepEqual(await db.get("SELECT k FROM kv WHERE k = ?", ["iso"]), { k: "iso" });
  assert.deepEqual(seen, ["committed"]);
});

void test("async transaction bodies are serialized: no lost update", async () => {
  await Promise.all(
    Array.from({ length: 30 }, () =>
      db.transaction(async (tx) => {
        const row = await tx.get<{ n: number }>("SELECT n FROM c WHERE id = 1");
        await new Promise((r) => setImmediate(r));
        await tx.run("UPDATE c SET n = ? WHERE id = 1", [row!.n + 1]);
      }),
    ),
  );
  assert.deepEqual(await db.get("SELECT n FROM c WHERE id = 1"), { n: 30 });
});

void test("a transaction executor cannot be used after its transaction", async () => {
  let leaked: SqlExecutor | undefined;
  await db.transaction(async (tx) => {
    leaked = tx;
  });
  await assert.rejects(leaked!.get("SELECT 1"), /after the transaction ended/);
});

void test("the statement cache stays bounded and still answers", async () => {
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(await db.get(`SELECT ${i} AS v`), { v: i });
  }
  assert.deepEqual(await db.get("SELECT 3 AS v"), { v: 3 });
});

void test("between transactions reads run where they can: attached files on the reader, writes refused", async () => {
  const dir2 = await mkdtemp(join(tmpdir(), "mailroom-driver-attach-"));
  const side = openSqlite(join(dir2, "side.db"));
  try {
    await side.exec("CREATE TABLE notes (t TEXT)");
    await side.run("INSERT INTO notes (t) VALUES (?)", ["on the side"]);
    await side.close();
    db.attachToReader(join(dir2, "side.db"), "side");
    // a table only the reader sees, named with and without its schema
    assert.deepEqual(await db.get("SELECT t FROM side.notes"), { t: "on the side" });
    assert.deepEqual(await db.all("SELECT t FROM notes"), [{ t: "on the side" }]);
    // reads follow commits at once, on whichever connection
    await db.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["between", 7]);
    assert.deepEqual(await db.get("SELECT n FROM kv WHERE k = ?", ["between"]), { n: 7 });
    // a write made through a read method is refused, as it always was
    await assert.rejects(db.get("INSERT INTO kv (k, n) VALUES ('sneaky', 1) RETURNING k"));
    assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["sneaky"]), undefined);
  } finally {
    await rm(dir2, { recursive: true, force: true });
  }
});

void test("a write lock held elsewhere (another process, a RESTART checkpoint) is waited for without stopping the event loop", async () => {
  const other = new Database(join(dir, "d.sqlite"), { timeout: 0 });
  try {
    other.prepare("BEGIN IMMEDIATE").run();
    other.prepare("UPDATE c SET n = n + 1 WHERE id = 1").run();
    let last = Date.now();
    let longest = 0;
    const timer = setInterval(() => {
      longest = Math.max(longest, Date.now() - last);
      last = Date.now();
    }, 2);
    const write = db.transaction((tx) => tx.run("UPDATE c SET n = n + 10 WHERE id = 1"));
    // reads between transactions go on meanwhile
    assert.ok(await db.get("SELECT n FROM c WHERE id = 1"));
    await new Promise((r) => setTimeout(r, 60));
    other.prepare("COMMIT").run();
    await write;
    clearInterval(timer);
    // (SQLite's own busy wait would have slept the loop for up to 100 ms at a time)
    assert.ok(longest < 40, `the event loop ran while the lock was held (longest gap ${longest} ms)`);
    // both writes are there
    const row = await db.get<{ n: number }>("SELECT n FROM c WHERE id = 1");
    assert.ok(row !== undefined && row.n >= 11);
  } finally {
    if (other.inTransaction) other.prepare("ROLLBACK").run();
    other.close();
  }
});

void test("a WAL past its restart size is restarted while writes go on, and stays small", async () => {
  const file = join(dir, "restart.sqlite");
  const d = openSqlite(file, { walRestartBytes: 256 * 1024 });
  try {
    await d.exec("CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    const blob = Buffer.alloc(8 * 1024, 7);
    let largest = 0;
    const watch = setInterval(() => (largest = Math.max(largest, statSync(`${file}-wal`).size)), 5);
    // writes back to back, never a pause in which a passive checkpoint would catch up
    let n = 0;
    const until = Date.now() + 1500;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) {
          await d.transaction((tx) => tx.run("INSERT INTO b (data) VALUES (?)", [blob]));
          n++;
        }
      }),
    );
    clearInterval(watch);
    // megabytes written: without restarts the WAL holds them all
    assert.ok(n * blob.length > 8 * 1024 * 1024, `${n} writes`);
    // (restarted: 11 MB of 107 MB written; never restarted: 176 MB of 85 MB)
    assert.ok(largest < (n * blob.length) / 3, `the WAL file reached ${largest} bytes (${n} writes)`);
    assert.deepEqual(await d.get("SELECT count(*) AS n FROM b"), { n });
  } finally {
    await d.close();
  }
});

void test("addPoll: what the store's threads finished is looked at before every statement and transaction", async () => {
  let polls = 0;
  db.addPoll(() => polls++);
  await db.get("SELECT n FROM c WHERE id = 1");
  await db.all("SELECT n FROM c");
  await db.transaction(async (tx) => {
    await tx.run("UPDATE c SET n = n WHERE id = 1");
  });
  assert.equal(polls, 3);
});
