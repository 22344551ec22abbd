// The search indexes inside the real store: the store contract on SQLite with the FTS5
// index (postgres.test.ts runs it with pg_trgm), and real MIME messages appended through
// the MailStore API and found by their decoded text on both backends.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { DbBlobStore } from "../../src/store/blob/db.ts";
import { LocalChangeBus } from "../../src/store/bus/local.ts";
import { createMailStore, type MaintainedMailStore } from "../../src/store/mail-store.ts";
import { createSearchIndex } from "../../src/store/search/index.ts";
import type { Dialect, SqlDriver } from "../../src/store/sql.ts";
import type { Id, MailStore, SearchQuery } from "../../src/store/types.ts";
import { runContract } from "../store/contract.ts";
import { inbox, input, ok } from "../store/helpers.ts";
import { PG_URL, postgresAvailable } from "./fixture.ts";

async function openSqliteStore(dir: string): Promise<MaintainedMailStore> {
  const driver = openSqlite(join(dir, "mail.sqlite"), { synchronous: "NORMAL" });
  return createMailStore({
    driver,
    blobs: new DbBlobStore(driver),
    bus: new LocalChangeBus(),
    search: createSearchIndex("sqlite"),
    clock: systemClock,
    logger: silentLogger(),
  });
}

runContract("sqlite, fts5 search", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-search-store-"));
  let store = await openSqliteStore(dir);
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = await openSqliteStore(dir);
      return store;
    },
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const MESSAGES = [
  [
    "From: =?utf-8?q?J=C3=BCrgen_Gro=C3=9F?= <juergen@example.de>",
    "To: Alice <alice@example.org>",
    "Subject: =?utf-8?b?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=",
    "X-Tag: =?utf-8?q?s=C3=BC=C3=9F?=",
    "Message-ID: <m1@example.de>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus dem S=C3=BCden.",
  ],
  [
    "From: Bob <bob@example.com>",
    "To: alice@example.org",
    "Subject: Quarterly report",
    "Message-ID: <m2@example.com>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/alternative; boundary="b"',
    "",
    "--b",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Revenue grew. Привет из Москвы.",
    "--b",
    "Content-Type: text/html; charset=utf-8",
    "",
    "<p>Revenue <b>grew</b>. Привет из Москвы.</p>",
    "--b--",
  ],
];

async function endToEnd(store: MailStore): Promise<void> {
  const a = await store.createAccount({ name: "alice@example.org" });
  const box = await inbox(store, a.id);
  const results = await store.appendEmails(
    a.id,
    MESSAGES.map((lines, i) =>
      input(Buffer.from(lines.join("\r\n") + "\r\n"), [box], i === 0 ? ["\\Seen"] : []),
    ),
  );
  const [first, second] = results.map(ok);
  const uids = async (q: SearchQuery, mailboxId: Id = box) =>
    (await store.search(a.id, q, { mailboxId })).map((h) => h.uid);
  const u1 = first!.uids[0]!.uid;
  const u2 = second!.uids[0]!.uid;
  assert.deepEqual(await uids({ op: "header", field: "subject", text: "GRÜSSE AUS" }), [u1]);
  assert.deepEqual(await uids({ op: "header", field: "from", text: "jürgen" }), [u1]);
  assert.deepEqual(await uids({ op: "header", field: "x-tag", text: "süß" }), [u1]);
  assert.deepEqual(await uids({ op: "body", text: "schöne" }), [u1]);
  assert.deepEqual(await uids({ op: "body", text: "москвы" }), [u2]);
  assert.deepEqual(await uids({ op: "text", text: "quarterly" }), [u2]);
  assert.deepEqual(await uids({ op: "body", text: "quarterly" }), []);
  assert.deepEqual(await uids({ op: "not", term: { op: "keyword", keyword: "\\seen" } }), [u2]);
  assert.deepEqual(
    await uids({
      op: "or",
      terms: [
        { op: "body", text: "ü" },
        { op: "body", text: "ск" },
      ],
    }),
    [u1, u2],
  );
  // A copy into a mailbox that holds the email is a new email sharing the blob: indexed too.
  const copy = await store.copyEmails(a.id, [first!.emailId], box);
  const u3 = copy.copied[0]!.uid;
  assert.deepEqual(await uids({ op: "body", text: "schöne" }), [u1, u3]);
  assert.deepEqual(await uids({ op: "header", field: "x-tag", text: "süß" }), [u1, u3]);
  await store.destroyEmails(a.id, [first!.emailId]);
  assert.deepEqual(await uids({ op: "body", text: "schöne" }), [u3]);
  await store.destroyEmails(a.id, [copy.copied[0]!.emailId]);
  assert.deepEqual(await store.search(a.id, { op: "body", text: "schöne" }), []);
}

async function withStore(dialect: Dialect, fn: (store: MailStore) => Promise<void>): Promise<void> {
  let driver: SqlDriver;
  let dir: string | undefined;
  if (dialect === "sqlite") {
    dir = await mkdtemp(join(tmpdir(), "mailroom-search-store-"));
    driver = openSqlite(join(dir, "mail.sqlite"), { synchronous: "NORMAL" });
  } else {
    driver = await openPostgres(PG_URL, { schema: randomSchemaName(), dropSchemaOnClose: true, poolSize: 4 });
  }
  try {
    const store = await createMailStore({
      driver,
      blobs: new DbBlobStore(driver),
      bus: new LocalChangeBus(),
      search: createSearchIndex(dialect),
      clock: systemClock,
      logger: silentLogger(),
    });
    await fn(store);
  } finally {
    await driver.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

void test("real messages through the store: sqlite", () => withStore("sqlite", endToEnd));

const pgSkip = (await postgresAvailable()) ? false : "PostgreSQL is not reachable";
void test("real messages through the store: postgres", { skip: pgSkip }, () =>
  withStore("postgres", endToEnd),
);
