// Test fixture for the search index: opens a fresh database per backend (a temporary SQLite
// file; a fresh PostgreSQL schema), applies the shared schema and the index's migrations,
// and inserts mail-model rows directly with SQL (following src/store/schema.ts), so the
// index is tested on its own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import { MIGRATIONS, migrationStatements } from "../../src/store/schema.ts";
import { createSearchIndex } from "../../src/store/search/index.ts";
import type { SearchIndex } from "../../src/store/search-index.ts";
import type { Dialect, SqlDriver, SqlExecutor } from "../../src/store/sql.ts";
import type { SearchDocument } from "../../src/store/types.ts";

export const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDb {
  db: SqlDriver;
  index: SearchIndex;
  close(): Promise<void>;
}

async function applyMigrations(db: SqlDriver, index: SearchIndex): Promise<void> {
  const steps = [
    ...MIGRATIONS.map((_, i) => migrationStatements(db.dialect, i)),
    ...index.migrations(db.dialect),
  ];
  for (const step of steps) {
    await db.transaction(async (tx) => {
      for (const sql of step) await tx.run(sql);
    });
  }
}

/**
 * PostgreSQL must answer at PG_URL: the suites never skip it (CI starts the server). An
 * unreachable server fails the test file with this message.
 */
export async function postgresAvailable(): Promise<boolean> {
  try {
    const db = await openPostgres(PG_URL, { poolSize: 1 });
    await db.close();
    return true;
  } catch (e) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (start it; tests do not skip it): ${String(e)}`,
    );
  }
}

export async function openTestDb(dialect: Dialect): Promise<TestDb> {
  const index = createSearchIndex(dialect);
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "mailroom-search-"));
    const db = openSqlite(join(dir, "store.db"), { synchronous: "NORMAL" });
    await applyMigrations(db, index);
    return {
      db,
      index,
      close: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await openPostgres(PG_URL, { schema: randomSchemaName(), dropSchemaOnClose: true, poolSize: 4 });
  try {
    await applyMigrations(db, index);
  } catch (e) {
    await db.close();
    throw e;
  }
  return { db, index, close: () => db.close() };
}

export interface SeedMessage {
  /** Mailbox name -> uid, savedAt (defaults: uid in order, savedAt = receivedAt). */
  in: Array<{ mailbox: string; uid: number; savedAt?: number; modseq?: number }>;
  keywords?: string[];
  size?: number;
  receivedAt?: number;
  sentAt?: number | null;
  modseq?: number;
  thread?: string;
  doc: Partial<SearchDocument>;
}

export interface Seeded {
  accountNum: number;
  mailboxNum: Map<string, number>;
  mailboxId: Map<string, string>;
  /** Email num and id by position in the seed list. */
  emailNums: number[];
  emailIds: string[];
  threadIds: Map<string, string>;
}

function emptyDoc(d: Partial<SearchDocument>): SearchDocument {
  return { from: "", to: "", cc: "", bcc: "", subject: "", headers: "", body: "", ...d };
}

async function insertNum(
  tx: SqlExecutor,
  sql: string,
  params: Array<string | number | null>,
): Promise<number> {
  const row = await tx.get<{ num: number }>(`${sql} RETURNING num`, params);
  if (!row) throw new Error("insert returned nothing");
  return Number(row.num);
}

export async function seed(t: TestDb, accountName: string, messages: SeedMessage[]): Promise<Seeded> {
  return t.db.transaction(async (tx) => {
    const accountNum = await insertNum(
      tx,
      `INSERT INTO accounts (id, name, kind, roles, created_at) VALUES (?, ?, 'individual', '[]', 0)`,
      [`A-${accountName}`, accountName],
    );
    const mailboxNum = new Map<string, number>();
    const mailboxId = new Map<string, string>();
    const threadNum = new Map<string, number>();
    const threadIds = new Map<string, string>();
    const emailNums: number[] = [];
    const emailIds: string[] = [];
    let n = 0;
    for (const msg of messages) {
      n++;
      for (const place of msg.in) {
        if (!mailboxNum.has(place.mailbox)) {
          const id = `M-${accountName}-${place.mailbox}`;
          const num = await insertNum(
            tx,
            `INSERT INTO mailboxes (id, account_num, name, uid_validity) VALUES (?, ?, ?, 1)`,
            [id, accountNum, place.mailbox],
          );
          mailboxNum.set(place.mailbox, num);
          mailboxId.set(place.mailbox, id);
        }
      }
      const thread = msg.thread ?? `t${n}`;
      if (!threadNum.has(thread)) {
        const id = `T-${accountName}-${thread}`;
        threadNum.set(
          thread,
          await insertNum(tx, `INSERT INTO threads (id, account_num) VALUES (?, ?)`, [id, accountNum]),
        );
        threadIds.set(thread, id);
      }
      const receivedAt = msg.receivedAt ?? Date.UTC(2024, 0, n);
      const id = `E-${accountName}-${n}`;
      const emailNum = await insertNum(
        tx,
        `INSERT INTO emails (id, account_num, thread_num, blob_id, size, received_at, sent_at, keywords, modseq,
           base_subject, envelope, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '{}', '{}')`,
        [
          id,
          accountNum,
          threadNum.get(thread)!,
          `blob${n}`,
          msg.size ?? 1000,
          receivedAt,
          msg.sentAt === undefined ? receivedAt : msg.sentAt,
          JSON.stringify([...(msg.keywords ?? [])].sort()),
          msg.modseq ?? 1,
        ],
      );
      emailNums.push(emailNum);
      emailIds.push(id);
      for (const place of msg.in) {
        await tx.run(
          `INSERT INTO memberships (mailbox_num, uid, email_num, modseq, saved_at) VALUES (?, ?, ?, ?, ?)`,
          [
            mailboxNum.get(place.mailbox)!,
            place.uid,
            emailNum,
            place.modseq ?? msg.modseq ?? 1,
            place.savedAt ?? receivedAt,
          ],
        );
      }
      await t.index.index(tx, [{ accountNum, emailNum, doc: emptyDoc(msg.doc) }]);
    }
    return { accountNum, mailboxNum, mailboxId, emailNums, emailIds, threadIds };
  });
}
