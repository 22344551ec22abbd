// The store contract on SQLite files (file blobs and database blobs), plus SQLite-only
// checks: the listing fast path, garbage collection, and a second process-like connection.
import { createHash } from "node:crypto";
import { QueueStore } from "../../src/queue/queue-store.ts";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ManualClock, systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { DbBlobStore } from "../../src/store/blob/db.ts";
import { openFsBlobStore } from "../../src/store/blob/fs.ts";
import { LocalChangeBus } from "../../src/store/bus/local.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { createMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import { MIGRATIONS, migrationStatements } from "../../src/store/schema.ts";
import type { ChangeEvent } from "../../src/store/types.ts";
import { runContract } from "./contract.ts";
import { append, checkInvariants, inbox, input, rawMessage } from "./helpers.ts";

async function open(dir: string, blobs: "fs" | "db" | "auto"): Promise<MaintainedMailStore> {
  return openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "mail.sqlite"),
    blobs,
    blobDir: join(dir, "blobs"),
    // "auto" with a tiny threshold: the contract's messages go both ways; and the backend's
    // search index (FTS5 in a file of its own, written by a worker after commit).
    ...(blobs === "auto" ? { inlineBlobMax: 300 } : {}),
    search: blobs === "auto" ? "backend" : "scan",
    clock: systemClock,
    logger: silentLogger(),
  });
}

for (const blobs of ["fs", "db", "auto"] as const) {
  runContract(`sqlite, ${blobs} blobs`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
    let store = await open(dir, blobs);
    return {
      get store() {
        return store;
      },
      reopen: async () => {
        await store.close();
        store = await open(dir, blobs);
        return store;
      },
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

void test("sqlite: listing 10,000 messages is one fast statement", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const store = await open(dir, "db");
  try {
    const a = await store.createAccount({ name: "big@example.org" });
    const box = await inbox(store, a.id);
    const template = rawMessage({ subject: "bulk" });
    for (let i = 0; i < 100; i++) {
      const batch = Array.from({ length: 100 }, (_, j) =>
        input(Buffer.concat([template, Buffer.from(`${i}-${j}\r\n`)]), [box], j % 2 ? ["\\Seen"] : []),
      );
      await store.appendEmails(a.id, batch);
    }
    let best = Infinity;
    let rows = 0;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const list = await store.listMessages(a.id, box);
      const env = await store.getEnvelopes(
        a.id,
        list.map((m) => m.emailId),
      );
      best = Math.min(best, performance.now() - t0);
      rows = list.length;
      assert.equal(env.size, 10_000);
    }
    assert.equal(rows, 10_000);
    // The target is well under 100 ms; the bound is loose for shared test machines.
    assert.ok(best < 1000, `listing took ${best.toFixed(1)} ms`);
    await checkInvariants(store, a.id);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("sqlite: collectGarbage deletes unreferenced blobs after the grace period", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const clock = new ManualClock(Date.now());
  const driver = openSqlite(join(dir, "gc.sqlite"));
  const blobs = await openFsBlobStore(join(dir, "blobs"));
  const store = await createMailStore({ driver, blobs, bus: new LocalChangeBus(), clock });
  try {
    const a = await store.createAccount({ name: "gc@example.org" });
    const box = await inbox(store, a.id);
    const keep = await append(store, a.id, [box]);
    const drop = await append(store, a.id, [box]);
    const stray = await blobs.put(Buffer.from("not referenced"));
    // A message waiting in the outbound queue keeps its blob.
    const queue = new QueueStore({ driver, blobs, clock });
    await queue.enqueue({
      from: "gc@example.org",
      message: Buffer.from("queued for later"),
      recipients: [{ address: "x@example.net" }],
    });
    const queuedBlob = createHash("sha256").update("queued for later").digest("hex");
    await store.destroyEmails(a.id, [drop.emailId]);
    assert.equal(await store.collectGarbage(), 0, "inside the grace period");
    clock.advance(2 * 3_600_000);
    assert.equal(await store.collectGarbage(), 2);
    assert.equal(await blobs.has(keep.blobId), true);
    assert.equal(await blobs.has(drop.blobId), false);
    assert.equal(await blobs.has(stray), false);
    assert.equal(await blobs.has(queuedBlob), true, "the queued message's blob stays");
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("sqlite: db blobs are collected atomically; two stores on one file see each other", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const path = join(dir, "two.sqlite");
  const d1 = openSqlite(path);
  const s1 = await createMailStore({
    driver: d1,
    blobs: new DbBlobStore(d1),
    bus: new LocalChangeBus(),
    clock: systemClock,
  });
  const d2 = openSqlite(path);
  const s2 = await createMailStore({
    driver: d2,
    blobs: new DbBlobStore(d2),
    bus: new LocalChangeBus(),
    clock: systemClock,
  });
  try {
    const a = await s1.createAccount({ name: "multi@example.org" });
    const box = await inbox(s1, a.id);
    // Writers on two connections to one file (as the CLI beside a running server).
    await Promise.all([
      ...Array.from({ length: 5 }, () => append(s1, a.id, [box])),
      ...Array.from({ length: 5 }, () => append(s2, a.id, [box])),
    ]);
    assert.equal((await s2.listMessages(a.id, box)).length, 10);
    await checkInvariants(s1, a.id);
    const r = (await s1.listMessages(a.id, box))[0]!;
    await s2.destroyEmails(a.id, [r.emailId]);
    assert.equal(await s1.collectGarbage({ graceMs: 0 }), 1);
    assert.equal(await s1.collectGarbage({ graceMs: 0 }), 0);
  } finally {
    await s1.close();
    await s2.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("sqlite: compactChanges raises the floor; older states get LIMIT", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const store = await open(dir, "fs");
  try {
    const a = await store.createAccount({ name: "cmp@example.org" });
    const box = await inbox(store, a.id);
    const r1 = await append(store, a.id, [box]);
    await store.expunge(a.id, box, [r1.uids[0]!.uid]);
    const mid = await store.currentModSeq(a.id);
    const r2 = await append(store, a.id, [box]);
    await store.compactChanges(a.id, mid);
    await assert.rejects(store.changesSince(a.id, mid - 1), /cannot calculate/);
    const { changes } = await store.changesSince(a.id, mid);
    assert.ok(changes.some((c) => c.id === r2.emailId));
    assert.ok(!changes.some((c) => c.id === r1.emailId));
    // the expunge's tombstone went too: from before it, the store no longer knows
    await assert.rejects(store.expungedSince(a.id, box, 0), /no longer known/);
    assert.deepEqual(await store.expungedSince(a.id, box, mid), []);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("sqlite: an older database is upgraded in place (migration 3 moves parsed metadata)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const path = join(dir, "old.sqlite");
  try {
    // A database at schema version 2 holding one email with its metadata inline.
    const old = openSqlite(path);
    await old.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    await old.transaction(async (tx) => {
      for (const i of [0, 1]) for (const sql of migrationStatements("sqlite", i)) await tx.run(sql);
      await tx.run("INSERT INTO meta (key, value) VALUES ('schema.version', '2')");
      await tx.run(
        "INSERT INTO accounts (id, name, kind, roles, created_at) VALUES ('a1', 'old', 'individual', '[]', 0)",
      );
      await tx.run("INSERT INTO threads (id, account_num) VALUES ('t1', 1)");
      await tx.run(
        `INSERT INTO emails (id, account_num, thread_num, blob_id, size, received_at, keywords, modseq, base_subject, envelope, meta)
         VALUES ('e1', 1, 1, 'b', 1, 0, '[]', 1, '', ?, ?)`,
        [JSON.stringify({ subject: "kept" }), JSON.stringify({ subject: "kept" })],
      );
    });
    await old.close();
    const driver = openSqlite(path);
    const store = await createMailStore({
      driver,
      blobs: new DbBlobStore(driver),
      bus: new LocalChangeBus(),
      clock: systemClock,
    });
    try {
      assert.equal((await store.getEnvelopes("a1", ["e1"])).get("e1")?.subject, "kept");
      assert.equal((await store.getParsed("a1", ["e1"])).get("e1")?.subject, "kept");
      assert.deepEqual(await driver.get("SELECT value FROM meta WHERE key = 'schema.version'"), {
        value: String(MIGRATIONS.length),
      });
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("sqlite: switching to the backend index indexes the stored emails at open; reindex() still works", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const openWith = (search: "scan" | "backend"): Promise<MaintainedMailStore> =>
    openStore({
      backend: "sqlite",
      sqlitePath: join(dir, "mail.sqlite"),
      blobs: "fs",
      search,
      clock: systemClock,
      logger: silentLogger(),
    });
  try {
    let store = await openWith("scan");
    assert.equal(store.searchIndexStale, false);
    const a = await store.createAccount({ name: "ri@example.org" });
    const r = await append(store, a.id, [await inbox(store, a.id)], { body: "findable words" });
    await store.close();
    store = await openWith("backend");
    try {
      // The index of a database file fills itself from the messages (see sqlite-deferred.ts).
      assert.equal(store.searchIndexStale, false);
      assert.deepEqual(await store.search(a.id, { op: "body", text: "findable" }), [{ emailId: r.emailId }]);
      assert.equal(await store.reindex({ batch: 1 }), 1);
      assert.equal(store.searchIndexStale, false);
      const hits = await store.search(a.id, { op: "body", text: "findable" });
      assert.deepEqual(hits, [{ emailId: r.emailId }]);
    } finally {
      await store.close();
    }
    store = await openWith("backend");
    assert.equal(store.searchIndexStale, false);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("sqlite: a watching store publishes what another process wrote", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  const path = join(dir, "w.sqlite");
  const d1 = openSqlite(path);
  const server = await createMailStore({
    driver: d1,
    blobs: new DbBlobStore(d1),
    bus: new LocalChangeBus(),
    clock: systemClock,
    watchExternalChangesMs: 10,
  });
  const d2 = openSqlite(path);
  const cli = await createMailStore({
    driver: d2,
    blobs: new DbBlobStore(d2),
    bus: new LocalChangeBus(),
    clock: systemClock,
  });
  try {
    const a = await server.createAccount({ name: "watch@example.org" });
    const box = await inbox(server, a.id);
    const events: ChangeEvent[] = [];
    server.changes.subscribe(a.id, (e) => events.push(e));
    await append(server, a.id, [box]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events.length, 1, "own commits are published once");
    const r = await append(cli, a.id, [box]);
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(events.length, 2);
    const ev = events[1]!;
    assert.equal(ev.modseq, r.modseq);
    assert.deepEqual(ev.mailboxIds, [box]);
    assert.ok(ev.changes.some((c) => c.type === "Email" && c.id === r.emailId && c.op === "created"));
  } finally {
    await server.close();
    await cli.close();
    await rm(dir, { recursive: true, force: true });
  }
});
