// Modseqs after an unclean stop (src/store/modseq-gap.ts): flag changes are answered before
// their WAL sync, so a server that did not close may have lost modseqs clients were told.
// The next server skips every account's modseq ahead and raises every mailbox's
// HIGHESTMODSEQ; after a clean close nothing skips; the CLI (not the server) leaves the mark.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { MODSEQ_GAP } from "../../src/store/modseq-gap.ts";
import { openStore } from "../../src/store/open.ts";
import { append, inbox } from "./helpers.ts";

async function open(dir: string, server: boolean): Promise<MaintainedMailStore> {
  return openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "mail.sqlite"),
    blobs: "db",
    search: "scan",
    clock: systemClock,
    logger: silentLogger(),
    server,
  });
}

async function accountModseq(store: MaintainedMailStore, name: string): Promise<number> {
  const row = await store.driver.get<{ modseq: number }>("SELECT modseq FROM accounts WHERE name = ?", [
    name,
  ]);
  assert.ok(row);
  return Number(row.modseq);
}

void test("modseqs skip ahead after a server that did not stop cleanly, not after a clean stop", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-modseq-gap-"));
  try {
    let store = await open(dir, true);
    const a = await store.createAccount({ name: "gap@example.test" });
    const box = await inbox(store, a.id);
    const sent = await append(store, a.id, [box]);
    // answered before its sync, as an IMAP STORE is
    const told = await store.setKeywords(a.id, [sent.emailId], { add: ["\\Seen"] }, { waitDurable: false });
    // a process that dies: the store is never closed, only its database
    await store.driver.close();

    store = await open(dir, true);
    const after = await accountModseq(store, "gap@example.test");
    assert.ok(after >= told.modseq + MODSEQ_GAP, `account modseq ${after} skipped past ${told.modseq}`);
    const mailbox = await store.getMailbox(a.id, box);
    assert.equal(mailbox?.highestModSeq, after, "HIGHESTMODSEQ raised with it");
    const next = await store.setKeywords(a.id, [sent.emailId], { add: ["\\Flagged"] });
    assert.ok(next.modseq > told.modseq + MODSEQ_GAP);
    await store.close();

    // a clean close: no skip
    store = await open(dir, true);
    assert.equal(await accountModseq(store, "gap@example.test"), next.modseq);
    // the CLI beside the running server neither skips nor clears the server's mark
    const cli = await open(dir, false);
    assert.equal(await accountModseq(cli, "gap@example.test"), next.modseq);
    await cli.close();
    await store.driver.close();
    store = await open(dir, true);
    assert.ok((await accountModseq(store, "gap@example.test")) >= next.modseq + MODSEQ_GAP);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("a server killed with SIGKILL leaves its mark: the next start skips modseqs ahead", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-modseq-kill-"));
  try {
    let store = await open(dir, false);
    const a = await store.createAccount({ name: "kill@example.test" });
    await append(store, a.id, [await inbox(store, a.id)]);
    await store.close();
    const before = await (async () => {
      const s = await open(dir, false);
      try {
        return await accountModseq(s, "kill@example.test");
      } finally {
        await s.close();
      }
    })();
    // a child process opens the store as the server, says so, and is killed
    const script = `
      import { systemClock } from ${JSON.stringify(join(import.meta.dirname, "../../src/core/clock.ts"))};
      import { silentLogger } from ${JSON.stringify(join(import.meta.dirname, "../../src/core/logger.ts"))};
      import { openStore } from ${JSON.stringify(join(import.meta.dirname, "../../src/store/open.ts"))};
      await openStore({ backend: "sqlite", sqlitePath: ${JSON.stringify(join(dir, "mail.sqlite"))}, blobs: "db",
        search: "scan", clock: systemClock, logger: silentLogger(), server: true });
      process.stdout.write("open\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        if (d.toString().includes("open")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGKILL");
    await exited;
    store = await open(dir, true);
    assert.ok((await accountModseq(store, "kill@example.test")) >= before + MODSEQ_GAP);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
