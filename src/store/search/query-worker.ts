// The thread that runs the text searches of the deferred SQLite search index (query-thread.ts).
// A text search joins the store's tables (memberships, emails) with the index tables of the
// index file; on the event loop it was the costliest statement of a mixed IMAP load (about
// 2.7 ms per FROM/SUBJECT search, a sixth of the loop's time, measured with 8 clients). Here it
// runs beside the event loop, on a connection of its own that sees what is committed, as the
// store's reader does.
//
// The connection is opened as the store's reader is (query_only, no memory map: see
// openConnection in the SQLite driver) with the index file attached as `fts`. Mapped, every
// query after a commit of the store unmapped and faulted the file in again: a FROM/SUBJECT
// search of a 500-message mailbox took 6.2 ms on this thread under the mixed IMAP load, 1.9 ms
// with read() calls. The compiled queries name their tables unqualified: the
// store's resolve in its main schema, the index tables in `fts`. Statements are cached (a
// bounded LRU: the queries of a server are few shapes).
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import Database from "better-sqlite3";
import type { SqlValue } from "../sql.ts";

/** Main thread -> worker: one query. */
export interface QueryRequest {
  id: number;
  sql: string;
  params: SqlValue[];
}

/** Worker -> main thread: its rows, or why it failed; id 0 once the connection is open. */
export interface QueryReply {
  id: number;
  rows?: unknown[];
  error?: { message: string; code?: string };
}

interface WorkerData {
  databasePath: string;
  indexPath: string;
  /** Where replies go (the main thread also reads it between statements, query-thread.ts). */
  replies?: MessagePort;
}

const STATEMENTS = 100;

function run({ databasePath, indexPath, replies }: WorkerData): void {
  const out = replies ?? parentPort;
  const db = new Database(databasePath, { timeout: 10_000, fileMustExist: true });
  db.pragma("query_only = ON");
  db.prepare("ATTACH DATABASE ? AS fts").run(indexPath);
  const cache = new Map<string, Database.Statement>();
  const statement = (sql: string): Database.Statement => {
    let st = cache.get(sql);
    if (st !== undefined) {
      cache.delete(sql);
    } else {
      st = db.prepare(sql);
      if (cache.size >= STATEMENTS) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
    }
    cache.set(sql, st);
    return st;
  };
  out?.postMessage({ id: 0 } satisfies QueryReply);
  parentPort?.on("message", (m: QueryRequest | "stop") => {
    if (m === "stop") {
      db.close();
      replies?.close();
      parentPort?.close();
      return;
    }
    let reply: QueryReply;
    try {
      reply = { id: m.id, rows: statement(m.sql).all(...m.params) };
    } catch (e) {
      const err = e as { message?: string; code?: string };
      reply = {
        id: m.id,
        error: { message: err.message ?? String(e), ...(err.code ? { code: err.code } : {}) },
      };
    }
    out?.postMessage(reply);
  });
}

run(workerData as WorkerData);
