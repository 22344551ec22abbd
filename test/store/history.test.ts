// Retention of the change history (src/store/retention.ts, src/server/history.ts) on SQLite
// and PostgreSQL: compaction drops change rows and tombstones up to a modseq in small
// transactions and records where history is complete again (accounts.changes_floor for
// changesSince, mailboxes.expunges_floor for expungedSince: older asks get LIMIT, JMAP
// cannotCalculateChanges); only history older than the horizon goes, told by the marks of the
// accounts' modseqs; two servers on one database take turns (a lease) and may even run at once.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ConfigManager } from "../../src/config/reload.ts";
import { configSchema } from "../../src/config/schema.ts";
import { startHistoryRetention } from "../../src/server/history.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { DbBlobStore } from "../../src/store/blob/db.ts";
import { LocalChangeBus } from "../../src/store/bus/local.ts";
import { createMailStore, type MaintainedMailStore } from "../../src/store/mail-store.ts";
import { ScanSearchIndex } from "../../src/store/search-scan.ts";
import type { SqlDriver } from "../../src/store/sql.ts";
import type { Id } from "../../src/store/types.ts";
import { append, checkInvariants, dropPgSchema, inbox } from "./helpers.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const DAY = 86_400_000;

interface Fixture {
  store: MaintainedMailStore;
  clock: ManualClock;
  /** Another store on the same database (a second server process). */
  other(): Promise<MaintainedMailStore>;
  cleanup(): Promise<void>;
}

async function fixture(backend: "sqlite" | "postgres"): Promise<Fixture> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const opened: MaintainedMailStore[] = [];
  let connect: () => Promise<SqlDriver>;
  let done: () => Promise<void>;
  if (backend === "sqlite") {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-history-"));
    connect = async () => openSqlite(join(dir, "mail.sqlite"));
    done = () => rm(dir, { recursive: true, force: true });
  } else {
    const schema = randomSchemaName();
    connect = () => openPostgres(PG_URL, { schema, poolSize: 4, logger: silentLogger() });
    done = () => dropPgSchema(PG_URL, schema);
  }
  const open = async (): Promise<MaintainedMailStore> => {
    const driver = await connect();
    const store = await createMailStore({
      driver,
      blobs: new DbBlobStore(driver),
      bus: new LocalChangeBus(),
      search: new ScanSearchIndex(),
      clock,
      logger: silentLogger(),
    });
    opened.push(store);
    return store;
  };
  const store = await open();
  return {
    store,
    clock,
    other: open,
    cleanup: async () => {
      try {
        for (const s of opened) await s.close();
      } finally {
        await done();
      }
    },
  };
}

async function limit(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => (e as { code?: string }).code === "LIMIT");
}

async function count(
  store: MaintainedMailStore,
  sql: string,
  params: Array<string | number>,
): Promise<number> {
  const row = await store.driver.get<{ n: number }>(sql, params);
  return Number(row?.n ?? 0);
}

for (const backend of ["sqlite", "postgres"] as const) {
  void describe(`change history retention on ${backend}`, () => {
    test("compaction records where history is complete: per account and per mailbox", async () => {
      const f = await fixture(backend);
      try {
        const { store } = f;
        const a = await store.createAccount({ name: "h1@example.org" });
        const box = await inbox(store, a.id);
        const arch = (await store.createMailbox(a.id, { name: "Kept" })).id;
        const r1 = await append(store, a.id, [box]);
        const r2 = await append(store, a.id, [box]);
        await append(store, a.id, [arch]);
        const e1 = (await store.expunge(a.id, box, [r1.uids[0]!.uid])).modseq;
        const mid = await store.currentModSeq(a.id);
        const r3 = await append(store, a.id, [box]);
        await store.expunge(a.id, box, [r2.uids[0]!.uid]);
        await store.compactChanges(a.id, mid);
        // JMAP /changes: complete after `mid`, cannotCalculateChanges before
        const { changes } = await store.changesSince(a.id, mid);
        assert.ok(changes.some((c) => c.id === r3.emailId));
        assert.ok(!changes.some((c) => c.id === r1.emailId));
        await limit(store.changesSince(a.id, mid - 1));
        await limit(store.changesSince(a.id, 0));
        // IMAP VANISHED: the inbox's expunges are known after e1 (its newest dropped tombstone)
        assert.deepEqual(await store.expungedSince(a.id, box, e1), [r2.uids[0]!.uid]);
        assert.deepEqual(await store.expungedSince(a.id, box, mid), [r2.uids[0]!.uid]);
        await limit(store.expungedSince(a.id, box, e1 - 1));
        // mailboxDelta: the same in one call; expunged null where expungedSince is LIMIT
        const delta = await store.mailboxDelta(a.id, box, e1);
        assert.deepEqual(delta.mailbox, await store.getMailbox(a.id, box));
        assert.deepEqual(delta.expunged, [r2.uids[0]!.uid]);
        assert.deepEqual(
          delta.changed.map((r) => r.emailId),
          (await store.changedMessages(a.id, box, e1)).map((r) => r.emailId),
        );
        assert.deepEqual(
          delta.changed.map((r) => r.uid),
          [r3.uids[0]!.uid],
        );
        assert.equal((await store.mailboxDelta(a.id, box, e1 - 1)).expunged, null);
        assert.deepEqual(await store.mailboxDelta(a.id, "no-such-mailbox", 0), {
          mailbox: null,
          changed: [],
          expunged: [],
        });
        await assert.rejects(store.mailboxDelta("no-such-account", box, 0), { code: "NOTFOUND" });
        // nothing was ever expunged from Kept: it still answers from any modseq
        assert.deepEqual(await store.expungedSince(a.id, arch, 0), []);
        // compacting again, or below the floor, changes nothing
        await store.compactChanges(a.id, mid);
        await store.compactChanges(a.id, 1);
        assert.equal((await store.changesSince(a.id, mid)).changes.length, changes.length);
        // a child's parent id comes with it
        const child = await store.createMailbox(a.id, { name: "Child", parentId: arch });
        const childDelta = await store.mailboxDelta(a.id, child.id, 0);
        assert.deepEqual(childDelta.mailbox, await store.getMailbox(a.id, child.id));
        assert.equal(childDelta.mailbox?.parentId, arch);
        await checkInvariants(store, a.id);
      } finally {
        await f.cleanup();
      }
    });

    test("only history older than the horizon goes, in small transactions", async () => {
      const f = await fixture(backend);
      try {
        const { store, clock } = f;
        const horizonMs = 30 * DAY;
        const run = (o: { batch?: number; proceed?: () => boolean } = {}) =>
          store.compactHistory({ before: clock.now() - horizonMs, horizonMs, ...o });
        const a = await store.createAccount({ name: "h2@example.org" });
        const quiet = await store.createAccount({ name: "h3@example.org" });
        const box = await inbox(store, a.id);
        const first = [];
        for (let i = 0; i < 10; i++) first.push(await append(store, a.id, [box]));
        await store.expunge(
          a.id,
          box,
          first.slice(0, 5).map((r) => r.uids[0]!.uid),
        );
        const m1 = await store.currentModSeq(a.id);
        // the first run marks the modseqs of now: nothing is older than the horizon yet
        assert.deepEqual(await run(), { accounts: 0, changes: 0, tombstones: 0, finished: true });
        clock.advance(15 * DAY);
        await store.expunge(a.id, box, [first[5]!.uids[0]!.uid]);
        const m2 = await store.currentModSeq(a.id);
        assert.equal((await run()).changes, 0);
        await store.changesSince(a.id, 0);
        // a horizon after the first mark: history up to m1 goes, a few rows per transaction
        clock.advance(15 * DAY + 1);
        let asked = 0;
        const r = await run({
          batch: 3,
          proceed: () => {
            asked++;
            return true;
          },
        });
        assert.equal(r.finished, true);
        assert.equal(r.accounts, 2);
        assert.equal(r.tombstones, 5);
        assert.ok(r.changes >= 16, `changes dropped: ${r.changes}`);
        assert.ok(asked > 5, "asked between the transactions");
        await store.changesSince(a.id, m1);
        await limit(store.changesSince(a.id, m1 - 1));
        assert.deepEqual(await store.expungedSince(a.id, box, m1), [first[5]!.uids[0]!.uid]);
        await limit(store.expungedSince(a.id, box, 0));
        // the quiet account lost its history (its creation) and answers from its state of now
        await store.changesSince(quiet.id, await store.currentModSeq(quiet.id));
        await limit(store.changesSince(quiet.id, 0));
        // again at once: nothing more to do
        assert.deepEqual(await run(), { accounts: 0, changes: 0, tombstones: 0, finished: true });
        // a run told to stop stops between two transactions
        clock.advance(15 * DAY);
        assert.equal((await run({ proceed: () => false })).finished, false);
        await store.changesSince(a.id, m1);
        const done = await run();
        assert.equal(done.tombstones, 1);
        await limit(store.changesSince(a.id, m2 - 1));
        assert.deepEqual(await store.expungedSince(a.id, box, m2), []);
        // one mark is left per account (the one used), plus none for a quiet account
        assert.equal(
          await count(
            store,
            "SELECT COUNT(*) AS n FROM history_marks m JOIN accounts a ON a.num = m.account_num WHERE a.id = ?",
            [a.id],
          ),
          1,
        );
        await store.deleteAccount(a.id);
        assert.equal(await count(store, "SELECT COUNT(*) AS n FROM history_marks", []), 1);
      } finally {
        await f.cleanup();
      }
    });

    test("two servers on one database: one compacts at a time; at once is harmless too", async () => {
      const f = await fixture(backend);
      try {
        const { store, clock } = f;
        const second = await f.other();
        const config = new ConfigManager(configSchema.parse({ store: { historyDays: 1 } }));
        const logger = silentLogger();
        const one = startHistoryRetention({ config, store, clock, logger });
        const two = startHistoryRetention({ config, store: second, clock, logger });
        assert.ok(one && two);
        const ids: Id[] = [];
        for (let i = 0; i < 3; i++) ids.push((await store.createAccount({ name: `t${i}@example.org` })).id);
        const write = async (id: Id, n: number): Promise<void> => {
          const box = await inbox(store, id);
          for (let i = 0; i < n; i++) await append(store, id, [box]);
          const rows = await store.listMessages(id, box);
          await store.expunge(
            id,
            box,
            rows.slice(0, 2).map((r) => r.uid),
          );
        };
        for (const id of ids) await write(id, 6);
        const before = await Promise.all(ids.map((id) => store.currentModSeq(id)));
        await one.compactNow();
        clock.advance(DAY + 1);
        // a lease held by someone else: this server leaves the work to it
        assert.ok(await store.leases.acquire("history-compact", "someone", 60_000));
        assert.equal(await one.compactNow(), null);
        await store.leases.release("history-compact", "someone");
        // both at once, while the accounts keep changing: one or both run, all is consistent
        const [r1, r2] = await Promise.all([
          one.compactNow(),
          two.compactNow(),
          ...ids.map((id) => write(id, 3)),
        ]);
        assert.ok(r1 !== null || r2 !== null);
        // and the same work done twice at once, without the lease, only repeats no-ops
        await Promise.all([
          store.compactHistory({ before: clock.now() - DAY, horizonMs: DAY }),
          second.compactHistory({ before: clock.now() - DAY, horizonMs: DAY }),
        ]);
        for (const [k, id] of ids.entries()) {
          await limit(store.changesSince(id, before[k]! - 1));
          const { changes } = await store.changesSince(id, before[k]!);
          assert.ok(changes.length > 0);
          await checkInvariants(store, id);
        }
        await one.stop();
        await two.stop();
      } finally {
        await f.cleanup();
      }
    });
  });
}
