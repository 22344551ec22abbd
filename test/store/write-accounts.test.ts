// writeAccounts (src/store/context.ts): the writes of several accounts in one transaction, on
// SQLite and PostgreSQL: one modseq per account, events only after the commit and in account
// id order, all or nothing, and no deadlock between transactions naming accounts in opposite
// orders (each locks them in one global order).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { DbBlobStore } from "../../src/store/blob/db.ts";
import { LocalChangeBus } from "../../src/store/bus/local.ts";
import { writeAccounts, type StoreContext } from "../../src/store/context.ts";
import { createMailStore, type MaintainedMailStore } from "../../src/store/mail-store.ts";
import { ScanSearchIndex } from "../../src/store/search-scan.ts";
import type { SqlDriver } from "../../src/store/sql.ts";
import type { ChangeEvent, Id } from "../../src/store/types.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

interface Fixture {
  store: MaintainedMailStore;
  ctx: StoreContext;
  ids: Id[];
  events: ChangeEvent[];
  cleanup(): Promise<void>;
}

async function fixture(backend: "sqlite" | "postgres"): Promise<Fixture> {
  let driver: SqlDriver;
  let done: () => Promise<void>;
  if (backend === "sqlite") {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-write-accounts-"));
    driver = openSqlite(join(dir, "mail.sqlite"));
    done = () => rm(dir, { recursive: true, force: true });
  } else {
    const schema = randomSchemaName();
    // No retries: a deadlock (40P01) fails the transaction instead of running it again.
    driver = await openPostgres(PG_URL, { schema, poolSize: 4, maxAttempts: 1, logger: silentLogger() });
    done = async () => {
      const admin = await openPostgres(PG_URL, { poolSize: 1 });
      try {
        await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.close();
      }
    };
  }
  const bus = new LocalChangeBus();
  const search = new ScanSearchIndex();
  const logger = silentLogger();
  const blobs = new DbBlobStore(driver);
  const store = await createMailStore({ driver, blobs, bus, search, clock: systemClock, logger });
  const ctx: StoreContext = { driver, blobs, bus, search, clock: systemClock, logger };
  const ids: Id[] = [];
  for (const n of ["wa1", "wa2", "wa3"])
    ids.push((await store.createAccount({ name: `${n}@example.org` })).id);
  ids.sort();
  const events: ChangeEvent[] = [];
  bus.subscribe("*", (e) => events.push(e));
  return {
    store,
    ctx,
    ids,
    events,
    cleanup: async () => {
      try {
        await store.close();
      } finally {
        await done();
      }
    },
  };
}

for (const backend of ["sqlite", "postgres"] as const) {
  void describe(`writeAccounts on ${backend}`, () => {
    test("one transaction: a modseq per account, events after it in account id order", async () => {
      const f = await fixture(backend);
      try {
        const before = await Promise.all(f.ids.map((id) => f.store.currentModSeq(id)));
        // Given in reverse order: results come back in the order given.
        const given = [...f.ids].reverse();
        const seen: number[] = [];
        const out = await writeAccounts(
          f.ctx,
          given.map((accountId, i) => ({
            accountId,
            fn: async (w) => {
              assert.equal(f.events.length, 0, "nothing published inside the transaction");
              w.record("Mailbox", `m-${accountId}`, "updated");
              w.record("Mailbox", `n-${accountId}`, "created");
              seen.push(i);
              return { i };
            },
          })),
        );
        assert.deepEqual(seen, [2, 1, 0], "bodies run in account id order");
        assert.deepEqual(
          out.map((r) => r.i),
          [0, 1, 2],
        );
        for (const [k, id] of f.ids.entries()) {
          assert.equal(await f.store.currentModSeq(id), before[k]! + 1);
          assert.equal(out[given.indexOf(id)]!.modseq, before[k]! + 1);
        }
        assert.deepEqual(
          f.events.map((e) => e.accountId),
          f.ids,
        );
        assert.ok(f.events.every((e) => e.changes.length === 2));
      } finally {
        await f.cleanup();
      }
    });

    test("a body that throws rolls back every account and publishes nothing", async () => {
      const f = await fixture(backend);
      try {
        const before = await Promise.all(f.ids.map((id) => f.store.currentModSeq(id)));
        await assert.rejects(
          writeAccounts(
            f.ctx,
            f.ids.map((accountId, i) => ({
              accountId,
              fn: async (w) => {
                w.record("Mailbox", `m-${accountId}`, "updated");
                // The last account's body fails after the others wrote their rows.
                if (i === f.ids.length - 1) throw new Error("boom");
                return {};
              },
            })),
          ),
          /boom/,
        );
        assert.deepEqual(await Promise.all(f.ids.map((id) => f.store.currentModSeq(id))), before);
        assert.deepEqual(f.events, []);
        await assert.rejects(
          writeAccounts(f.ctx, [
            { accountId: f.ids[0]!, fn: async () => ({}) },
            { accountId: f.ids[0]!, fn: async () => ({}) },
          ]),
          /written twice/,
        );
      } finally {
        await f.cleanup();
      }
    });

    test("transactions naming accounts in opposite orders do not deadlock", async () => {
      const f = await fixture(backend);
      try {
        const [a, b] = f.ids as [Id, Id];
        const before = await Promise.all([a, b].map((id) => f.store.currentModSeq(id)));
        const body = async (w: { record: (t: "Mailbox", id: Id, op: "updated") => void }) => {
          w.record("Mailbox", "m", "updated");
          // Hold the first lock a while, so that the other order would wait for it.
          await new Promise((r) => setTimeout(r, 5));
          return {};
        };
        await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            writeAccounts(
              f.ctx,
              (i % 2 === 0 ? [a, b] : [b, a]).map((accountId) => ({ accountId, fn: body })),
            ),
          ),
        );
        assert.deepEqual(
          await Promise.all([a, b].map((id) => f.store.currentModSeq(id))),
          before.map((m) => m + 8),
        );
      } finally {
        await f.cleanup();
      }
    });
  });
}
