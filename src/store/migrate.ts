// Applies pending schema migrations (src/store/schema.ts) and the search index's own ones,
// each in one transaction, recording the count of applied entries in `meta`.
// Two processes opening a fresh database at once: on SQLite BEGIN IMMEDIATE serializes
// them; on PostgreSQL the meta table is locked; the version is re-read under the lock.
import { MIGRATIONS, migrationStatements } from "./schema.ts";
import type { SearchIndex } from "./search-index.ts";
import type { SqlDriver, SqlExecutor } from "./sql.ts";

const SCHEMA_KEY = "schema.version";

async function readVersion(db: SqlExecutor, key: string): Promise<number> {
  const row = await db.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", [key]);
  return row ? Number(row.value) : 0;
}

async function writeVersion(tx: SqlExecutor, key: string, v: number): Promise<void> {
  await tx.run(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [key, String(v)],
  );
}

async function lockMeta(tx: SqlExecutor): Promise<void> {
  if (tx.dialect === "postgres") await tx.run("LOCK TABLE meta IN EXCLUSIVE MODE");
}

async function applyAll(driver: SqlDriver, key: string, steps: string[][]): Promise<void> {
  for (;;) {
    const done = await driver.transaction(async (tx) => {
      await lockMeta(tx);
      const v = await readVersion(tx, key);
      if (v > steps.length) throw new Error(`${key} is ${v}, newer than this program (${steps.length})`);
      const step = steps[v];
      if (!step) return true;
      for (const sql of step) await tx.run(sql);
      await writeVersion(tx, key, v + 1);
      return false;
    });
    if (done) return;
  }
}

export async function migrate(driver: SqlDriver, search?: SearchIndex): Promise<void> {
  await driver.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const schema = MIGRATIONS.map((_, i) => migrationStatements(driver.dialect, i));
  await applyAll(driver, SCHEMA_KEY, schema);
  if (search) await applyAll(driver, `search.${search.name}.version`, search.migrations(driver.dialect));
}
