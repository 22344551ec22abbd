// Crash safety on SQLite: a child process appends in a loop and prints every acknowledged
// email id; we SIGKILL it mid-way and reopen the store. The database must open, pass
// PRAGMA integrity_check, hold every acknowledged email exactly once with its blob, and
// keep counters equal to the real counts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import { append, checkInvariants, inbox } from "./helpers.ts";

const NODE = process.execPath;
const SCRIPT = join(import.meta.dirname, "fixtures", "crash-writer.ts");

async function open(dir: string, blobs: "fs" | "db"): Promise<MaintainedMailStore> {
  return openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "mail.sqlite"),
    blobs,
    blobDir: join(dir, "blobs"),
    search: "scan",
    clock: systemClock,
    logger: silentLogger(),
  });
}

/** Runs the writer until it acknowledged at least `min` ids, then kills it; returns the acked ids. */
async function runAndKill(
  dir: string,
  accountId: string,
  mailboxId: string,
  blobs: string,
  min: number,
): Promise<string[]> {
  const child = spawn(NODE, [SCRIPT, dir, accountId, mailboxId, blobs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acked: string[] = [];
  let buf = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer too slow; stderr: ${stderr}`)), 30_000);
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("e")) acked.push(line);
        else if (line !== "ready") assert.fail(`unexpected line ${line}`);
      }
      if (acked.length >= min) {
        clearTimeout(timer);
        // Mid-flight: the next batch is being written when the signal lands.
        child.kill("SIGKILL");
        resolve();
      }
    });
    child.on("exit", (code) => {
      if (acked.length < min) {
        clearTimeout(timer);
        reject(new Error(`writer exited early (${code}): ${stderr}`));
      }
    });
  });
  await exited;
  return acked;
}

for (const blobs of ["fs", "db"] as const) {
  void test(`crash: SIGKILL during appends loses no acknowledged message (${blobs} blobs)`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-crash-"));
    try {
      let store = await open(dir, blobs);
      const a = await store.createAccount({ name: "crash@example.org" });
      const box = await inbox(store, a.id);
      await store.close();
      const acked: string[] = [];
      for (const min of [40, 25]) {
        acked.push(...(await runAndKill(dir, a.id, box, blobs, min)));
        store = await open(dir, blobs);
        assert.deepEqual(await store.driver.all("PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
        const list = await store.listMessages(a.id, box);
        const count = new Map<string, number>();
        for (const m of list) count.set(m.emailId, (count.get(m.emailId) ?? 0) + 1);
        for (const id of acked) assert.equal(count.get(id), 1, `acknowledged ${id} present once`);
        for (const id of acked.slice(-5)) assert.ok(await store.getRaw(a.id, id), `blob of ${id}`);
        await checkInvariants(store, a.id);
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

void test("two processes append to one SQLite file at the same time", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-crash-"));
  try {
    const store = await open(dir, "fs");
    try {
      const a = await store.createAccount({ name: "multi@example.org" });
      const box = await inbox(store, a.id);
      const mine: string[] = [];
      const writeMine = async (): Promise<void> => {
        for (let i = 0; i < 30; i++) mine.push((await append(store, a.id, [box], { size: 3000 })).emailId);
      };
      const [theirs] = await Promise.all([runAndKill(dir, a.id, box, "fs", 30), writeMine()]);
      const list = await store.listMessages(a.id, box);
      const ids = new Set(list.map((m) => m.emailId));
      for (const id of [...mine, ...theirs]) assert.ok(ids.has(id), `${id} present`);
      assert.equal(ids.size, list.length);
      await checkInvariants(store, a.id);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
