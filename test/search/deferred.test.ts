// The SQLite search index kept in a file of its own and written by a worker thread after
// commit (src/store/search/sqlite-deferred.ts): read-your-writes for searches, copies and
// removals in commit order, and recovery of entries lost with the process.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import { SearchQueryThread } from "../../src/store/search/query-thread.ts";
import { usesTextIndex } from "../../src/store/search/sqlite-deferred.ts";
import { append, inbox, input, ok, rawMessage } from "../store/helpers.ts";

let dir: string;
const path = (): string => join(dir, "mail.sqlite");
const open = (file = path()): Promise<MaintainedMailStore> =>
  openStore({
    backend: "sqlite",
    sqlitePath: file,
    blobs: "auto",
    clock: systemClock,
    logger: silentLogger(),
  });

/** Body rows in the index file of the store at `file`. */
function countBodies(file: string): number {
  const db = new Database(`${file}.fts`, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM search_body").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Rows of email `num` in an index table of the shared store, once gone or after 4 s. */
async function rowsLeft(table: string, num: number): Promise<number> {
  const count = (): number => {
    const d = new Database(`${path()}.fts`, { readonly: true });
    try {
      return d.prepare(`SELECT count(*) FROM ${table} WHERE rowid = ?`).pluck().get(num) as number;
    } finally {
      d.close();
    }
  };
  let n = count();
  for (let i = 0; i < 200 && n > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    n = count();
  }
  return n;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailroom-deferred-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test("a search right after an append finds it; copies and expunges are seen in order", async () => {
  const store = await open();
  try {
    const a = await store.createAccount({ name: "d1@example.org" });
    const box = await inbox(store, a.id);
    const other = (await store.createMailbox(a.id, { name: "Other" })).id;
    // Many appends in flight: every one is searchable as soon as it resolved.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        append(store, a.id, [box], { subject: `batch ${i}`, body: `word${i}zz` }),
      ),
    );
    for (const i of [0, 17, 49]) {
      const hits = await store.search(a.id, { op: "body", text: `word${i}zz` });
      assert.deepEqual(hits, [{ emailId: results[i]!.emailId }]);
    }
    assert.equal((await store.search(a.id, { op: "header", field: "subject", text: "batch" })).length, 50);
    const copied = await store.copyEmails(a.id, [results[3]!.emailId], other);
    const hits = await store.search(a.id, { op: "text", text: "word3zz" }, { mailboxId: other });
    assert.deepEqual(
      hits.map((h) => h.emailId),
      copied.copied.map((c) => c.emailId),
    );
    await store.expunge(a.id, box, [results[5]!.uids[0]!.uid]);
    assert.deepEqual(await store.search(a.id, { op: "body", text: "word5zz" }), []);
    // Tests without text never wait for the index.
    assert.equal(usesTextIndex({ op: "and", terms: [{ op: "keyword", keyword: "\\Seen" }] }), false);
    assert.equal(usesTextIndex({ op: "not", term: { op: "header", field: "x", text: "" } }), true);
  } finally {
    await store.close();
  }
});

void test("a search waits for its own account's entries, not for another account's backlog", async () => {
  const store = await open();
  try {
    const a = await store.createAccount({ name: "d4@example.org" });
    const b = await store.createAccount({ name: "d5@example.org" });
    const boxA = await inbox(store, a.id);
    const boxB = await inbox(store, b.id);
    const mine = await append(store, a.id, [boxA], { subject: "mine", body: "ownword" });
    // a backlog for b: 600 messages of about 20 KB each
    const body = Array.from({ length: 300 }, (_, i) => `line ${i} of some backlog text`).join("\r\n");
    await store.appendEmails(
      b.id,
      Array.from({ length: 600 }, (_, i) =>
        input(rawMessage({ subject: `bulk ${i}`, body: `${body} tail${i}` }), [boxB]),
      ),
    );
    const t0 = performance.now();
    const ownHits = store
      .search(a.id, { op: "body", text: "ownword" })
      .then((h) => ({ h, ms: performance.now() - t0 }));
    const bulkHits = store
      .search(b.id, { op: "body", text: "tail599" })
      .then((h) => ({ h, ms: performance.now() - t0 }));
    const [own, bulk] = await Promise.all([ownHits, bulkHits]);
    assert.deepEqual(own.h, [{ emailId: mine.emailId }]);
    assert.equal(bulk.h.length, 1);
    // b's search waited for its 600 entries; a's did not
    assert.ok(own.ms < bulk.ms / 2, `a's search took ${own.ms} ms, b's ${bulk.ms} ms`);
  } finally {
    await store.close();
  }
});

void test("the index thread merges segments while idle: many small batches leave few segments", async () => {
  const store = await open();
  const segments = (): { fts: number; body: number } => {
    const db = new Database(`${path()}.fts`, { readonly: true });
    try {
      const n = (t: string): number =>
        db.prepare(`SELECT count(DISTINCT segid) FROM ${t}_idx`).pluck().get() as number;
      return { fts: n("search_fts"), body: n("search_body") };
    } finally {
      db.close();
    }
  };
  try {
    const a = await store.createAccount({ name: "merge@example.org" });
    const box = await inbox(store, a.id);
    // One message per batch: each search posts the account's entry as a batch of its own, and
    // each batch is a transaction that adds a segment to both tables.
    for (let i = 0; i < 40; i++) {
      await append(store, a.id, [box], { subject: `merge ${i}`, body: `merge body ${i} qq` });
      assert.equal((await store.search(a.id, { op: "body", text: `body ${i} qq` })).length, 1);
    }
    // FTS5 merges a level at once only at 64 segments; idle steps keep levels under 4.
    let seen = segments();
    for (let i = 0; i < 100 && (seen.fts >= 8 || seen.body >= 8); i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = segments();
    }
    assert.ok(seen.fts < 8 && seen.body < 8, `segments after 40 batches: ${JSON.stringify(seen)}`);
    assert.equal((await store.search(a.id, { op: "header", field: "subject", text: "merge" })).length, 40);
  } finally {
    await store.close();
  }
});

void test("removals wait for idle time: searches go first, the rows go later, a reindex keeps its rows", async () => {
  const store = await open();
  const rows = (): number => countBodies(path());
  try {
    const a = await store.createAccount({ name: "removals@example.org" });
    const box = await inbox(store, a.id);
    const gone = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        append(store, a.id, [box], { subject: `gone ${i}`, body: `gone ${i} xx` }),
      ),
    );
    // a search waits for the account's entries: all 30 are indexed then
    assert.equal((await store.search(a.id, { op: "body", text: "xx" })).length, 30);
    const before = rows();
    await store.expunge(
      a.id,
      box,
      gone.map((g) => g.uids[0]!.uid),
    );
    const kept = await append(store, a.id, [box], { subject: "kept", body: "kept body yy" });
    assert.deepEqual(await store.search(a.id, { op: "body", text: "kept body yy" }), [
      { emailId: kept.emailId },
    ]);
    assert.deepEqual(await store.search(a.id, { op: "body", text: "xx" }), []);
    // the expunged emails' rows are deleted while the index thread is idle
    let n = rows();
    for (let i = 0; i < 200 && n !== before - 30 + 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      n = rows();
    }
    assert.equal(n, before - 30 + 1);
    // a reindex removes and indexes the same emails: their rows stay
    await store.reindex();
    // (body rows are written after header rows, a chunk at a time)
    n = rows();
    for (let i = 0; i < 200 && n !== before - 30 + 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      n = rows();
    }
    assert.equal(n, before - 30 + 1);
    assert.deepEqual(await store.search(a.id, { op: "body", text: "kept body yy" }), [
      { emailId: kept.emailId },
    ]);
  } finally {
    await store.close();
  }
});

void test("removals still waiting when the process ends are carried out at the next open", async () => {
  const fts = (): InstanceType<typeof Database> => new Database(`${path()}.fts`);
  const stray = 9_000_001;
  let store = await open();
  const a = await store.createAccount({ name: "stray@example.org" });
  const box = await inbox(store, a.id);
  await append(store, a.id, [box], { subject: "stays", body: "stays here ww" });
  await store.close();
  const db = fts();
  try {
    db.prepare("INSERT INTO search_body (rowid, body) VALUES (?, 'lost removal')").run(stray);
    db.prepare("INSERT INTO search_headers (email_num, seq, name, value) VALUES (?, 0, 'x', 'y')").run(stray);
    // as a stop (or a crash) leaves a removal the thread had no idle time for
    db.prepare("INSERT INTO search_removals (num) VALUES (?)").run(stray);
  } finally {
    db.close();
  }
  store = await open();
  try {
    assert.equal(await rowsLeft("search_body", stray), 0);
    assert.equal((await store.search(a.id, { op: "body", text: "stays here ww" })).length, 1);
  } finally {
    await store.close();
  }
});

void test("rows of emails that are gone, whose removal was lost, are removed at the next open", async () => {
  const fts = (): InstanceType<typeof Database> => new Database(`${path()}.fts`);
  const stray = 9_000_002;
  let store = await open();
  const a = await store.createAccount({ name: "orphan@example.org" });
  const box = await inbox(store, a.id);
  await append(store, a.id, [box], { subject: "remains", body: "remains here oo" });
  await store.close();
  const db = fts();
  try {
    // what a removal lost in flight leaves: index rows of an email number no email has
    db.prepare(
      "INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers) VALUES (?, 'x', 'y', '', '', 'lost', '')",
    ).run(stray);
    db.prepare("INSERT INTO search_body (rowid, body) VALUES (?, 'lost removal body')").run(stray);
    db.prepare("INSERT INTO search_headers (email_num, seq, name, value) VALUES (?, 0, 'x', 'y')").run(stray);
  } finally {
    db.close();
  }
  store = await open();
  try {
    assert.equal(await rowsLeft("search_fts", stray), 0);
    assert.equal((await store.search(a.id, { op: "body", text: "remains here oo" })).length, 1);
  } finally {
    await store.close();
  }
});

void test("entries lost with the process are indexed again at the next open", async () => {
  let store = await open();
  const a = await store.createAccount({ name: "d2@example.org" });
  const box = await inbox(store, a.id);
  const rs = await store.appendEmails(
    a.id,
    Array.from({ length: 30 }, (_, i) => input(rawMessage({ body: `lost${i}qq` }), [box])),
  );
  assert.equal(rs.length, 30);
  await store.close();
  // What a crash before the worker's commit leaves: emails without index rows.
  const fts = new Database(`${path()}.fts`);
  fts.exec("DELETE FROM search_body; DELETE FROM search_fts; DELETE FROM search_headers");
  fts.close();
  store = await open();
  try {
    assert.equal((await store.search(a.id, { op: "body", text: "lost7qq" })).length, 1);
    assert.equal((await store.search(a.id, { op: "text", text: "qq" })).length, 30);
  } finally {
    await store.close();
  }
});

void test("a reindex's removal held back behind the rows it indexed again does not remove them", async () => {
  const file = join(dir, "held.sqlite");
  const store = await open(file);
  const removalsLeft = (): number => {
    const d = new Database(`${file}.fts`, { readonly: true });
    try {
      return d.prepare("SELECT count(*) FROM search_removals").pluck().get() as number;
    } finally {
      d.close();
    }
  };
  let spin: ReturnType<typeof setInterval> | undefined;
  try {
    const a = await store.createAccount({ name: "held@example.org" });
    const box = await inbox(store, a.id);
    await store.appendEmails(
      a.id,
      Array.from({ length: 20 }, (_, i) => input(rawMessage({ body: `held${i}zz` }), [box])),
    );
    assert.equal((await store.search(a.id, { op: "text", text: "zz" })).length, 20);
    // A busy event loop: the index operations are held. The search posts its account's
    // (the rows indexed again) ahead of the removal, which none waits for.
    spin = setInterval(() => {
      const t = performance.now();
      while (performance.now() - t < 15);
    }, 1);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(await store.reindex(), 20);
    assert.equal((await store.search(a.id, { op: "text", text: "zz" })).length, 20);
    clearInterval(spin);
    spin = undefined;
    // the held removal goes out once the loop quiets down, and idle time carries it out
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 200 && removalsLeft() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(removalsLeft(), 0);
    assert.equal((await store.search(a.id, { op: "text", text: "zz" })).length, 20);
  } finally {
    if (spin !== undefined) clearInterval(spin);
    await store.close();
  }
});

void test("header rows come first: a header search does not wait for the bodies; a body search does", async () => {
  // a file of its own: the other tests' removals change the counts of the shared one
  const file = join(dir, "phases.sqlite");
  const store = await open(file);
  const bodies = (): number => countBodies(file);
  try {
    const a = await store.createAccount({ name: "phases@example.org" });
    const box = await inbox(store, a.id);
    const base = bodies();
    // 3 MB of body text: its trigrams take the thread far longer than the header rows
    const body = Array.from({ length: 2000 }, (_, i) => `word${i} lorem ipsum dolor sit amet ${i * 7}`).join(
      "\n",
    );
    const rs = await store.appendEmails(
      a.id,
      Array.from({ length: 40 }, (_, i) =>
        input(
          rawMessage({
            from: `sender${i}@phases.example`,
            subject: `phase ${i}`,
            body: `${body}\nend${i}zz`,
          }),
          [box],
        ),
      ),
    );
    assert.equal(rs.length, 40);
    const from = await store.search(a.id, { op: "header", field: "from", text: "sender17@phases" });
    const pending = bodies() - base;
    assert.deepEqual(from, [{ emailId: ok(rs[17]!).emailId }]);
    assert.ok(pending < 40, `the header search came back before every body was indexed (${pending} of 40)`);
    assert.equal((await store.search(a.id, { op: "body", text: "end23zz" })).length, 1);
    assert.equal(bodies() - base, 40);
  } finally {
    await store.close();
  }
});

void test("an email whose header rows are indexed but not its body (a crash between the two) is indexed again", async () => {
  let store = await open();
  const a = await store.createAccount({ name: "halfway@example.org" });
  const box = await inbox(store, a.id);
  const r = await append(store, a.id, [box], { subject: "halfway there", body: "halfway body vv" });
  await store.close();
  const fts = new Database(`${path()}.fts`);
  fts.exec("DELETE FROM search_body");
  fts.close();
  store = await open();
  try {
    assert.deepEqual(await store.search(a.id, { op: "body", text: "halfway body vv" }), [
      { emailId: r.emailId },
    ]);
    assert.deepEqual(await store.search(a.id, { op: "header", field: "subject", text: "halfway there" }), [
      { emailId: r.emailId },
    ]);
  } finally {
    await store.close();
  }
});

void test("two stores on one file (a server and the CLI) both index into the shared index file", async () => {
  const s1 = await open();
  const s2 = await open();
  try {
    const a = await s1.createAccount({ name: "d3@example.org" });
    const box = await inbox(s1, a.id);
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => append(s1, a.id, [box], { body: `one${i}xx` })),
      ...Array.from({ length: 20 }, (_, i) => append(s2, a.id, [box], { body: `two${i}xx` })),
    ]);
    await s2.close();
    assert.equal((await s1.search(a.id, { op: "body", text: "xx" })).length, 40);
  } finally {
    await s1.close();
    await s2.close();
  }
});

void test("text searches run on a thread of their own: SQL errors come back, queries in flight keep their rows", async () => {
  const store = await open();
  const q = new SearchQueryThread(path(), `${path()}.fts`);
  try {
    const a = await store.createAccount({ name: "d9@example.org" });
    const box = await inbox(store, a.id);
    await append(store, a.id, [box], { subject: "thread test", body: "threaded7zz" });
    assert.equal((await store.search(a.id, { op: "body", text: "threaded7zz" })).length, 1);
    // the thread reads the store's tables and the index's, committed data only
    const rows = await q.all<{ n: number }>(
      "SELECT count(*) AS n FROM emails e JOIN search_body b ON b.rowid = e.num WHERE b.body GLOB '*threaded7zz*'",
      [],
    );
    assert.deepEqual(rows, [{ n: 1 }]);
    await assert.rejects(q.all("SELECT nope FROM nowhere", []), /no such table/);
    // the connection is read-only
    await assert.rejects(q.all("DELETE FROM emails RETURNING num", []), (e: Error & { code?: string }) =>
      String(e.code).startsWith("SQLITE_READONLY"),
    );
    // queries in flight together are answered each with its own rows
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => q.all<{ v: number }>("SELECT ? AS v", [i])),
    );
    assert.deepEqual(
      many.map((r) => r[0]?.v),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal((await store.search(a.id, { op: "text", text: "thread test" })).length, 1);
    // on a busy event loop, poll() (run before each statement of the driver) takes the rows
    // without a turn of the loop
    let rowsIn: unknown[] | null = null;
    const polled = q.all<{ v: number }>("SELECT 42 AS v", []).then((r) => (rowsIn = r));
    const until = performance.now() + 5000;
    while (q.pending > 0 && performance.now() < until) q.poll();
    assert.equal(q.pending, 0, "answered by poll() alone");
    assert.equal(rowsIn, null, "its callbacks run at the next microtask checkpoint");
    assert.deepEqual(await polled, [{ v: 42 }]);
  } finally {
    await q.close();
    await store.close();
  }
  await assert.rejects(q.all("SELECT 1", []), /closed/);
});

void test("a query thread that cannot start fails its queries; the next query starts another", async () => {
  const q = new SearchQueryThread(join(dir, "missing.sqlite"), join(dir, "missing.sqlite.fts"));
  try {
    // not ready: the caller (DeferredFtsIndex.search) asks the store's reader instead
    assert.equal(q.tryAll("SELECT 1", []), null);
    await assert.rejects(q.all("SELECT 1", []), /^Error: search query thread (failed|exited)/);
    await assert.rejects(q.all("SELECT 2", []), /^Error: search query thread (failed|exited)/);
  } finally {
    await q.close();
  }
});
