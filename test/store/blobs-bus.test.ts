// Blob stores (files, database) and the in-process change bus.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { DbBlobStore } from "../../src/store/blob/db.ts";
import { openFsBlobStore } from "../../src/store/blob/fs.ts";
import type { ListableBlobStore } from "../../src/store/blob/fs.ts";
import { LocalChangeBus } from "../../src/store/bus/local.ts";
import { migrate } from "../../src/store/migrate.ts";
import type { ChangeEvent } from "../../src/store/types.ts";

async function exercise(b: ListableBlobStore): Promise<void> {
  const data = Buffer.from("hello blob");
  const id = createHash("sha256").update(data).digest("hex");
  assert.equal(await b.has(id), false);
  assert.equal(await b.get(id), null);
  assert.equal(await b.put(data), id);
  assert.equal(await b.put(data), id, "idempotent");
  assert.deepEqual(await b.get(id), data);
  assert.equal(await b.has(id), true);
  const other = await b.put(Buffer.alloc(100_000, 7));
  const listed: string[] = [];
  for await (const x of b.list()) listed.push(x);
  assert.deepEqual(listed.sort(), [id, other].sort());
  await b.delete(id);
  await b.delete(id);
  assert.equal(await b.has(id), false);
  assert.equal(await b.get("../../etc/passwd"), null);
}

void test("file blobs: content-addressed, idempotent, fanned out, temp files swept", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-blobs-"));
  try {
    const b = await openFsBlobStore(dir);
    await exercise(b);
    const id = await b.put(Buffer.from("x"));
    assert.ok((await readdir(join(dir, id.slice(0, 2)))).includes(id));
    await mkdir(join(dir, "tmp"), { recursive: true });
    await writeFile(join(dir, "tmp", "stale"), "partial");
    await utimes(join(dir, "tmp", "stale"), new Date(0), new Date(0));
    await writeFile(join(dir, "tmp", "fresh"), "in progress");
    assert.equal(await b.sweepTemp(Date.now() - 60_000), 1);
    assert.deepEqual(await readdir(join(dir, "tmp")), ["fresh"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("database blobs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-blobs-"));
  const db = openSqlite(join(dir, "b.sqlite"));
  try {
    await migrate(db);
    await exercise(new DbBlobStore(db));
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("local bus: per account and '*', failing listeners isolated, unsubscribe", () => {
  const errors: unknown[] = [];
  const bus = new LocalChangeBus({ onError: (e) => errors.push(e) });
  const got: string[] = [];
  const ev = (accountId: string, modseq: number): ChangeEvent => ({
    accountId,
    modseq,
    changes: [],
    mailboxIds: [],
  });
  const off1 = bus.subscribe("a", () => {
    throw new Error("listener bug");
  });
  const off2 = bus.subscribe("a", (e) => got.push(`a${e.modseq}`));
  const off3 = bus.subscribe("*", (e) => got.push(`*${e.accountId}${e.modseq}`));
  bus.publish(ev("a", 1));
  bus.publish(ev("b", 2));
  assert.deepEqual(got, ["a1", "*a1", "*b2"]);
  assert.equal(errors.length, 1);
  off1();
  off2();
  off3();
  bus.publish(ev("a", 3));
  assert.equal(got.length, 3);
});
