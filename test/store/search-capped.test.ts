// The body text the search index leaves out of large messages (src/store/search-capped.ts):
// the scan's chunks, and the text_capped mark an email gets when stored, from migration 14
// and from reindex. The searches themselves are in the store contract (every backend).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { openStore } from "../../src/store/open.ts";
import { migrationStatements } from "../../src/store/schema.ts";
import { holdsFolded } from "../../src/store/search-capped.ts";
import { fold } from "../../src/store/search/text.ts";
import { inbox, input, ok, rawMessage } from "./helpers.ts";

const CHUNK = 1 << 20;

void test("the scan finds a string across its chunks, folded as the index folds", () => {
  for (const at of [0, CHUNK - 3, CHUNK - 1, CHUNK, 2 * CHUNK - 2]) {
    const text = "a".repeat(at) + "Zebra \ufb01sh GRÜSSE" + "b".repeat(10);
    assert.ok(holdsFolded(text, fold("zebra fish grüße")), `at ${at}`);
  }
  assert.equal(holdsFolded("a".repeat(2 * CHUNK), "ab"), false);
  assert.ok(holdsFolded("", ""));
});

async function marks(path: string): Promise<Map<string, number>> {
  const db = openSqlite(path);
  try {
    const rows = await db.all<{ id: string; text_capped: number }>("SELECT id, text_capped FROM emails");
    return new Map(rows.map((r) => [r.id, Number(r.text_capped)]));
  } finally {
    await db.close();
  }
}

void test("text_capped: set when the text or a header is cut, not for a large attachment; reindex tells it exactly", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-capped-"));
  const path = join(dir, "mail.sqlite");
  const store = await openStore({
    backend: "sqlite",
    sqlitePath: path,
    blobs: "db",
    search: "backend",
    clock: systemClock,
    logger: silentLogger(),
  });
  try {
    const a = await store.createAccount({ name: "m@example.org" });
    const box = await inbox(store, a.id);
    const long = rawMessage({ body: "word ".repeat(450_000) + "tail" });
    // 2.7 MB, of which the text is a line: the rest is an attachment, never indexed
    const attached = Buffer.from(
      [
        "From: a@example.org",
        "Subject: scan",
        'Content-Type: multipart/mixed; boundary="b"',
        "",
        "--b",
        "Content-Type: text/plain",
        "",
        "see the scan",
        "--b",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        "",
        Buffer.alloc(2_000_000, 7).toString("base64").replace(/.{76}/g, "$&\r\n"),
        "--b--",
        "",
      ].join("\r\n"),
    );
    // a header field of 9,000 characters: the index holds 8,000
    const header = rawMessage({ references: `<${"r".repeat(9_000)}@example.org>` });
    const [r1, r2, r3] = await store.appendEmails(a.id, [
      input(long, [box]),
      input(attached, [box]),
      input(header, [box]),
    ]);
    const capped = ok(r1!).emailId;
    const whole = ok(r2!).emailId;
    const cappedHeader = ok(r3!).emailId;
    const expected = new Map([
      [capped, 1],
      [whole, 0],
      [cappedHeader, 1],
    ]);
    assert.deepEqual(await marks(path), expected);
    // what migration 14 leaves on an email stored before it: marked for its size alone
    const db = openSqlite(path);
    await db.run("UPDATE emails SET text_capped = 1");
    await db.close();
    assert.equal(await store.reindex(), 3);
    assert.deepEqual(await marks(path), expected);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("migration 14 marks the emails stored before it that are larger than the body cap", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-capped-"));
  const path = join(dir, "old.sqlite");
  try {
    const old = openSqlite(path);
    await old.transaction(async (tx) => {
      for (let i = 0; i < 13; i++) for (const sql of migrationStatements("sqlite", i)) await tx.run(sql);
      await tx.run("INSERT INTO meta (key, value) VALUES ('schema.version', '13')");
      await tx.run(
        "INSERT INTO accounts (id, name, kind, roles, created_at) VALUES ('a1', 'old', 'individual', '[]', 0)",
      );
      await tx.run("INSERT INTO threads (id, account_num) VALUES ('t1', 1)");
      for (const [id, size] of [
        ["small", 2_000_000],
        ["large", 2_000_001],
      ] as const)
        await tx.run(
          `INSERT INTO emails (id, account_num, thread_num, blob_id, size, received_at, keywords, modseq, base_subject, envelope, meta)
           VALUES (?, 1, 1, 'b', ?, 0, '[]', 1, '', '', '')`,
          [id, size],
        );
    });
    await old.close();
    const store = await openStore({
      backend: "sqlite",
      sqlitePath: path,
      blobs: "db",
      search: "scan",
      clock: systemClock,
      logger: silentLogger(),
    });
    await store.close();
    assert.deepEqual(
      await marks(path),
      new Map([
        ["small", 0],
        ["large", 1],
      ]),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
