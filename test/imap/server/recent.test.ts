// IMAP4rev1 \Recent (RFC 3501 §2.3.2) kept in the store: the first rev1 session that SELECTs a
// mailbox takes its new messages as \Recent and no other session does, EXAMINE and rev2
// sessions claim nothing, a message that arrives while the mailbox is selected goes to the
// session that hears of it first, STATUS (RECENT) counts what nobody took; and all of that
// holds across a restart on the same SQLite data folder and between two server instances on
// one PostgreSQL database.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { systemClock } from "../../../src/core/clock.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { Ingest } from "../../../src/delivery/ingest.ts";
import { imapProtocol } from "../../../src/protocols/imap/index.ts";
import { openPostgres, randomSchemaName } from "../../../src/store/backends/postgres/driver.ts";
import { openStore } from "../../../src/store/open.ts";
import type { MailStore } from "../../../src/store/types.ts";
import { message, startTestServer, type TestServer } from "../../helpers/server.ts";
import { PASSWORD, RawImap } from "./helpers.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const USER = "alice@example.test";

function start(opts: { dataDir?: string; postgres?: { url: string; schema: string } }): Promise<TestServer> {
  return startTestServer({
    prefix: "mailroom-imap-recent-",
    listeners: { imap: { allowPlaintextAuth: true } },
    protocols: { imap: imapProtocol },
    ...opts,
  });
}

/** Delivers `n` messages to INBOX through the ingest path of `store`; returns their UIDs. */
async function deliver(store: MailStore, ingest: Ingest, n: number, subject: string): Promise<number[]> {
  const account = await store.getAccountByName(USER);
  assert.ok(account);
  const uids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await ingest.ingest({
      accountId: account.id,
      raw: Buffer.from(message(`${subject} ${i}`)),
      source: "import",
    });
    uids.push(r.uids[0]?.uid ?? 0);
  }
  return uids;
}

async function login(t: TestServer): Promise<RawImap> {
  const c = await RawImap.connect(t.port("imap"));
  await c.greeting();
  assert.match(await c.cmd(`LOGIN "${USER}" "${PASSWORD}"`), /^A\d+ OK/m);
  return c;
}

/** The `* n RECENT` of a reply; null when there is none. */
function recentCount(reply: string): number | null {
  const m = /^\* (\d+) RECENT\r$/m.exec(reply);
  return m ? Number(m[1]) : null;
}

async function statusRecent(c: RawImap): Promise<number> {
  const r = await c.cmd("STATUS INBOX (RECENT)");
  const m = /^\* STATUS INBOX \(RECENT (\d+)\)\r$/m.exec(r);
  assert.ok(m, r);
  return Number(m[1]);
}

/** UIDs this session sees as \Recent (RFC 3501 §6.4.4 SEARCH RECENT). */
async function recentUids(c: RawImap): Promise<number[]> {
  const r = await c.cmd("UID SEARCH RECENT");
  const m = /^\* SEARCH((?: \d+)*)\r$/m.exec(r);
  assert.ok(m, r);
  return (m[1] ?? "")
    .split(" ")
    .filter((x) => x !== "")
    .map(Number);
}

/** Each UID of `all` is recent to exactly one of the sessions, whose `* n RECENT` agree. */
function assertOneOwner(all: number[], seen: Array<{ count: number | null; uids: number[] }>): void {
  const owners = new Map<number, number>();
  for (const [i, s] of seen.entries()) {
    assert.equal(s.count, s.uids.length, `session ${i}: RECENT ${s.count} for ${s.uids.join(",")}`);
    for (const u of s.uids) {
      assert.ok(!owners.has(u), `UID ${u} recent to sessions ${owners.get(u)} and ${i}`);
      owners.set(u, i);
    }
  }
  assert.deepEqual(
    [...owners.keys()].sort((a, b) => a - b),
    all,
  );
}

void describe("IMAP \\Recent kept in the store", () => {
  void test("SQLite: one session takes each message; EXAMINE and rev2 do not; a restart keeps it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-imap-recent-"));
    let t = await start({ dataDir: dir });
    const clients: RawImap[] = [];
    const open = async (): Promise<RawImap> => {
      const c = await login(t);
      clients.push(c);
      return c;
    };
    try {
      await t.store.createDomain("example.test");
      await t.addAccount(USER, PASSWORD);
      await deliver(t.store, t.server.ctx.ingest, 2, "first");
      const s = await open();
      assert.equal(await statusRecent(s), 2);

      const a = await open();
      const selA = await a.cmd("SELECT INBOX");
      assert.equal(recentCount(selA), 2);
      assert.match(
        await a.cmd("FETCH 1:* FLAGS"),
        /\* 1 FETCH \(FLAGS \(\\Recent\)\)\r\n\* 2 FETCH \(FLAGS \(\\Recent\)\)/,
      );
      assert.deepEqual(await recentUids(a), [1, 2]);
      assert.equal(await statusRecent(s), 0);
      // RFC 3501 §2.3.2: a second session does not see them as recent
      const b = await open();
      assert.equal(recentCount(await b.cmd("SELECT INBOX")), 0);
      assert.doesNotMatch(await b.cmd("FETCH 1:* FLAGS"), /\\Recent/);

      // a third message: EXAMINE shows it as recent without taking it (RFC 3501 §6.3.2)
      await deliver(t.store, t.server.ctx.ingest, 1, "second");
      assert.equal(await statusRecent(s), 1);
      const e = await open();
      assert.equal(recentCount(await e.cmd("EXAMINE INBOX")), 1);
      assert.deepEqual(await recentUids(e), [3]);
      assert.equal(await statusRecent(s), 1);
      // a rev2 session has no \Recent and takes nothing (RFC 9051 Appendix E)
      const r2 = await open();
      assert.match(await r2.cmd("ENABLE IMAP4rev2"), /\* ENABLED IMAP4REV2/i);
      assert.equal(recentCount(await r2.cmd("SELECT INBOX")), null);
      assert.equal(await statusRecent(s), 1);

      // a and b had INBOX selected when it came: the first to hear of it takes it
      // (RECENT counts every message recent to the session: 1 to 3 for a, none for b)
      assert.match(await a.cmd("NOOP"), /\* 3 EXISTS\r\n\* 3 RECENT\r\n/);
      assert.match(await b.cmd("NOOP"), /\* 3 EXISTS\r\n\* 0 RECENT\r\n/);
      assert.deepEqual(await recentUids(a), [1, 2, 3]);
      assert.deepEqual(await recentUids(b), []);
      assert.equal(await statusRecent(s), 0);
      for (const c of clients.splice(0)) c.close();
      await t.stop();

      // delivered while the server is down
      const down = await openStore({
        backend: "sqlite",
        sqlitePath: join(dir, "mail.db"),
        blobs: "fs",
        blobDir: join(dir, "blobs"),
        clock: systemClock,
        logger: silentLogger(),
      });
      try {
        const ingest = new Ingest({
          store: down,
          clock: systemClock,
          logger: silentLogger(),
          maxMessageSize: 1 << 20,
        });
        assert.deepEqual(await deliver(down, ingest, 1, "while down"), [4]);
      } finally {
        await down.close();
      }

      t = await start({ dataDir: dir });
      const s2 = await open();
      assert.equal(await statusRecent(s2), 1);
      const c = await open();
      const sel = await c.cmd("SELECT INBOX");
      assert.match(sel, /\* 4 EXISTS\r\n/);
      assert.equal(recentCount(sel), 1);
      assert.deepEqual(await recentUids(c), [4]);
      assert.equal(recentCount(await (await open()).cmd("SELECT INBOX")), 0);
      assert.equal(await statusRecent(s2), 0);
      // and one delivered after the restart, for the next session
      await deliver(t.store, t.server.ctx.ingest, 1, "after");
      assert.equal(await statusRecent(s2), 1);
      const d = await open();
      assert.equal(recentCount(await d.cmd("SELECT INBOX")), 1);
      assert.deepEqual(await recentUids(d), [5]);
      assert.equal(await statusRecent(s2), 0);
    } finally {
      for (const c of clients) c.close();
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test("PostgreSQL: sessions on two server instances never both take a message", async () => {
    const schema = randomSchemaName("recent");
    const servers: TestServer[] = [];
    const clients: RawImap[] = [];
    try {
      for (let i = 0; i < 2; i++) servers.push(await start({ postgres: { url: PG_URL, schema } }));
      const [p1, p2] = servers as [TestServer, TestServer];
      await p1.store.createDomain("example.test");
      await p1.addAccount(USER, PASSWORD);
      const first = await deliver(p1.store, p1.server.ctx.ingest, 6, "first");
      const watcher = await login(p2);
      clients.push(watcher);
      assert.equal(await statusRecent(watcher), 6);

      // four sessions on each instance SELECT at once
      for (let i = 0; i < 8; i++) clients.push(await login(i % 2 ? p2 : p1));
      const sessions = clients.slice(1);
      const race = async (): Promise<Array<{ count: number | null; uids: number[] }>> =>
        Promise.all(
          sessions.map(async (c) => {
            const count = recentCount(await c.cmd("SELECT INBOX"));
            return { count, uids: await recentUids(c) };
          }),
        );
      assertOneOwner(first, await race());
      assert.equal(await statusRecent(watcher), 0);

      // more mail, then all of them SELECT again: only the new messages, each to one session
      const more = await deliver(p2.store, p2.server.ctx.ingest, 5, "more");
      assert.equal(await statusRecent(watcher), 5);
      for (const c of sessions) await c.cmd("UNSELECT");
      assertOneOwner(more, await race());
      assert.equal(await statusRecent(watcher), 0);

      // mail arriving while selected: the sessions of the instance that delivered it hear of it
      // (each instance has its own change bus) and poll at once; one of them takes it
      const late = await deliver(p2.store, p2.server.ctx.ingest, 3, "late");
      const onP2 = sessions.filter((_, i) => i % 2 === 1);
      const polled = await Promise.all(
        onP2.map(async (c) => {
          const count = recentCount(await c.cmd("NOOP"));
          return { count, uids: await recentUids(c) };
        }),
      );
      // RECENT counts all the session's recent messages, those of the SELECT with the new ones
      for (const p of polled) assert.equal(p.count, p.uids.length);
      assertOneOwner(
        late,
        polled.map((p) => {
          const uids = p.uids.filter((u) => late.includes(u));
          return { count: uids.length, uids };
        }),
      );
      assert.equal(await statusRecent(watcher), 0);
    } finally {
      for (const c of clients) c.close();
      for (const s of servers) await s.stop();
      const admin = await openPostgres(PG_URL, { poolSize: 1 });
      try {
        await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.close();
      }
    }
  });
});
