// The PostgreSQL driver (src/store/backends/postgres/driver.ts): placeholder rewriting,
// result types, transactions (commit, rollback, retry on serialization failure,
// concurrency) and schema isolation. Each test file works in its own fresh schema.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import { rewritePlaceholders } from "../../src/store/backends/postgres/placeholders.ts";
import { DbBlobStore } from "../../src/store/blob/db.ts";
import { LocalChangeBus } from "../../src/store/bus/local.ts";
import { createMailStore, type MaintainedMailStore } from "../../src/store/mail-store.ts";
import { createSearchIndex } from "../../src/store/search/index.ts";
import type { SqlDriver } from "../../src/store/sql.ts";
import { runContract } from "./contract.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

async function reachable(): Promise<boolean> {
  // Never skipped: CI starts PostgreSQL, and an unreachable server fails this file.
  try {
    await (await openPostgres(PG_URL, { poolSize: 1 })).close();
    return true;
  } catch (e) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (start it; tests do not skip it): ${String(e)}`,
    );
  }
}
const skip = (await reachable()) ? false : "PostgreSQL is not reachable";

/** A store on its own schema with database blobs and the pg_trgm search index. */
async function openPgStore(schema: string): Promise<MaintainedMailStore> {
  const driver = await openPostgres(PG_URL, { schema, poolSize: 4, logger: silentLogger() });
  try {
    return await createMailStore({
      driver,
      blobs: new DbBlobStore(driver),
      bus: new LocalChangeBus(),
      search: createSearchIndex("postgres"),
      clock: systemClock,
      logger: silentLogger(),
    });
  } catch (e) {
    await driver.close();
    throw e;
  }
}

async function dropSchema(schema: string): Promise<void> {
  const admin = await openPostgres(PG_URL, { poolSize: 1 });
  try {
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.close();
  }
}

if (skip) {
  void test("store contract: postgres", { skip }, () => {});
} else {
  // A fresh schema per test: the contract's tests run side by side with no shared state.
  runContract("postgres, db blobs, pg_trgm search", async () => {
    const schema = randomSchemaName();
    let store = await openPgStore(schema);
    return {
      get store() {
        return store;
      },
      reopen: async () => {
        await store.close();
        store = await openPgStore(schema);
        return store;
      },
      cleanup: async () => {
        try {
          await store.close();
        } finally {
          await dropSchema(schema);
        }
      },
    };
  });
}

void describe("placeholder rewriting", () => {
  void test("numbers ? in order", () => {
    assert.deepEqual(rewritePlaceholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"), {
      text: "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)",
      count: 3,
    });
  });
  void test("leaves literals, identifiers, comments and dollar quotes alone", () => {
    const sql = `SELECT '?', 'it''s ?', E'\\'?', "col?", x -- why?
      /* what? */ FROM t WHERE y = ? AND z = $$ ? $$ AND w = $tag$ ? $tag$ AND v = ?`;
    const r = rewritePlaceholders(sql);
    assert.equal(r.count, 2);
    assert.match(r.text, /WHERE y = \$1 AND/);
    assert.match(r.text, /AND v = \$2$/);
    assert.ok(r.text.includes(`'?', 'it''s ?', E'\\'?', "col?", x -- why?`));
    assert.ok(r.text.includes("$$ ? $$") && r.text.includes("$tag$ ? $tag$"));
  });
  void test("no placeholder: same text", () => {
    const sql = "SELECT $1::int";
    assert.equal(rewritePlaceholders(sql).text, sql);
  });
});

void describe("postgres driver", { skip }, () => {
  let db: SqlDriver;
  const schema = randomSchemaName();

  before(async () => {
    db = await openPostgres(PG_URL, { schema, dropSchemaOnClose: true, poolSize: 6 });
    await db.exec(`
      CREATE TABLE kv (k TEXT PRIMARY KEY, n BIGINT NOT NULL, b BYTEA);
      CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT NOT NULL);
      INSERT INTO counter VALUES (1, 0), (2, 0);
    `);
  });
  after(async () => {
    await db?.close();
  });

  void test("BIGINT, NUMERIC and counts come back as numbers; BYTEA as Buffer", async () => {
    await db.run("INSERT INTO kv (k, n, b) VALUES (?, ?, ?), (?, ?, ?)", [
      "a",
      2 ** 40,
      Buffer.from([0, 1, 255]),
      "b",
      7n,
      null,
    ]);
    const row = await db.get<{ n: unknown; b: unknown }>("SELECT n, b FROM kv WHERE k = ?", ["a"]);
    assert.equal(row?.n, 2 ** 40);
    assert.ok(Buffer.isBuffer(row?.b));
    assert.deepEqual([...row.b], [0, 1, 255]);
    const agg = await db.get<{ c: unknown; s: unknown; m: unknown }>(
      "SELECT count(*) AS c, sum(n) AS s, max(n) AS m FROM kv",
    );
    assert.deepEqual(agg, { c: 2, s: 2 ** 40 + 7, m: 2 ** 40 });
    const none = await db.get("SELECT n FROM kv WHERE k = ?", ["zzz"]);
    assert.equal(none, undefined);
  });

  void test("the type parsers are the pool's own, not pg's global ones", async () => {
    const pg = (await import("pg")).default;
    assert.equal(pg.types.getTypeParser(20, "text")("5"), "5");
  });

  void test("a literal ? in a parameter value is data, not a placeholder", async () => {
    const row = await db.get<{ s: string; t: string }>("SELECT ?::text AS s, '?' AS t", ["a?b"]);
    assert.deepEqual(row, { s: "a?b", t: "?" });
  });

  void test("parameter count mismatch is an error", async () => {
    await assert.rejects(() => db.get("SELECT ?::int AS x", []), /1 placeholders but 0 parameters/);
  });

  void test("run reports the changed rows", async () => {
    const r = await db.run("UPDATE kv SET n = n + 1 WHERE k IN (?, ?)", ["a", "b"]);
    assert.equal(r.changes, 2);
  });

  void test("transaction commits, and rolls back when the function throws", async () => {
    const out = await db.transaction(async (tx) => {
      await tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["t1", 1]);
      return (await tx.get<{ n: number }>("SELECT n FROM kv WHERE k = ?", ["t1"]))?.n;
    });
    assert.equal(out, 1);
    await assert.rejects(
      () =>
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["t2", 1]);
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["t2"]), undefined);
    // A failed statement also rolls back what came before it.
    await assert.rejects(() =>
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["t3", 1]);
        await tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["t1", 1]); // duplicate key
      }),
    );
    assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["t3"]), undefined);
  });

  void test("reads outside the transaction do not see its uncommitted writes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const tx = db.transaction(async (t) => {
      await t.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["iso", 1]);
      inserted();
      await gate;
    });
    await didInsert;
    assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["iso"]), undefined);
    release();
    await tx;
    assert.deepEqual(await db.get("SELECT k FROM kv WHERE k = ?", ["iso"]), { k: "iso" });
  });

  void test("afterCommit runs after COMMIT only", async () => {
    const seen: string[] = [];
    await db.transaction(async () => seen.push("body"), { afterCommit: () => seen.push("committed") });
    await assert.rejects(() =>
      db.transaction(
        async () => {
          throw new Error("no");
        },
        { afterCommit: () => seen.push("wrong") },
      ),
    );
    assert.deepEqual(seen, ["body", "committed"]);
  });

  void test("concurrent transactions serialized by a row lock lose no update", async () => {
    await db.run("UPDATE counter SET n = 0 WHERE id = 1");
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.get<{ n: number }>("SELECT n FROM counter WHERE id = 1 FOR UPDATE");
          await tx.run("UPDATE counter SET n = ? WHERE id = 1", [row!.n + 1]);
        }),
      ),
    );
    assert.deepEqual(await db.get("SELECT n FROM counter WHERE id = 1"), { n: 20 });
  });

  void test("serialization failures are retried with the whole function", async () => {
    await db.run("UPDATE counter SET n = 0 WHERE id = 2");
    let attempts = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        db.transaction(async (tx) => {
          attempts++;
          await tx.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
          const row = await tx.get<{ n: number }>("SELECT n FROM counter WHERE id = 2");
          await new Promise((r) => setTimeout(r, 5));
          // A concurrent committed update makes this fail with SQLSTATE 40001.
          await tx.run("UPDATE counter SET n = ? WHERE id = 2", [row!.n + 1]);
        }),
      ),
    );
    assert.deepEqual(await db.get("SELECT n FROM counter WHERE id = 2"), { n: 5 });
    assert.ok(attempts > 5, `expected retries, saw ${attempts} attempts`);
  });

  void test("gives up after maxAttempts", async () => {
    const one = await openPostgres(PG_URL, { schema, maxAttempts: 2, poolSize: 2 });
    try {
      let attempts = 0;
      await assert.rejects(
        () =>
          one.transaction(async (tx) => {
            attempts++;
            await tx.run("SELECT 1");
            throw Object.assign(new Error("simulated"), { code: "40001" });
          }),
        /simulated/,
      );
      assert.equal(attempts, 2);
    } finally {
      await one.close();
    }
  });

  void test("schemas isolate; dropSchemaOnClose removes the schema", async () => {
    const otherSchema = randomSchemaName();
    const other = await openPostgres(PG_URL, { schema: otherSchema, dropSchemaOnClose: true, poolSize: 1 });
    await other.exec("CREATE TABLE kv (x INT)");
    assert.deepEqual(await other.all("SELECT * FROM kv"), []);
    await other.close();
    const gone = await db.get("SELECT 1 AS x FROM pg_namespace WHERE nspname = ?", [otherSchema]);
    assert.equal(gone, undefined);
    assert.ok((await db.all("SELECT k FROM kv")).length > 0);
  });

  void test("a connection killed inside a transaction fails it, and the pool goes on", async () => {
    await assert.rejects(() =>
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO kv (k, n) VALUES (?, ?)", ["killed", 1]);
        await tx.get("SELECT pg_terminate_backend(pg_backend_pid())");
      }),
    );
    assert.equal(await db.get("SELECT k FROM kv WHERE k = ?", ["killed"]), undefined);
    assert.equal(await db.transaction(async (tx) => (await tx.get<{ x: number }>("SELECT 1 AS x"))?.x), 1);
  });

  void test("invalid schema names are refused", async () => {
    await assert.rejects(
      () => openPostgres(PG_URL, { schema: 'x"; DROP TABLE y; --' }),
      /invalid schema name/,
    );
  });
});
