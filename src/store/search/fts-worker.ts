// The worker thread of the deferred SQLite search index (sqlite-deferred.ts). It owns the
// index database file (the FTS5 tables and the header rows, apart from the mail database)
// and applies the operations the store's committed transactions sent it, many messages per
// transaction: trigram tokenizing, text folding and FTS5 segment merges, most of the CPU of
// an append, run on this thread instead of the server's event loop, and never inside the
// delivery's transaction. The file has one writer (this thread); other processes opening the
// same store (the CLI) have their own worker and wait on SQLite's lock here, not in an
// event loop. Durability is not needed: whatever a crash loses is indexed again from the
// messages at the next open (DeferredFtsIndex.missing). The thread runs at a lower CPU
// priority than the event loop (FTS_NICE): under load the loop gets the cores first, and what
// keeps the index off them during a burst of deliveries is DeferredFtsIndex holding the work
// back. Not the lowest priority: a text search waits for this thread to apply its account's
// entries, and at nice 19 the thread starved beside a busy loop (8 IMAP clients, 110,000
// messages indexed: search p99 250-500 ms; nice 10 the same, nice 5 104 ms, nice 0 77 ms;
// SMTP/LMTP ingest of 2,000 messages the same at 19 and 0).
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { lowerThreadPriority } from "../../core/thread-priority.ts";
import type { SearchDocument } from "../types.ts";
import { prepareDocument } from "./text.ts";

/** The thread's nice value (see the file comment). */
const FTS_NICE = 5;

export type FtsOp =
  | { t: "index"; num: number; doc: SearchDocument }
  | { t: "copy"; from: number; to: number }
  | { t: "remove"; nums: number[] };

/** Main thread -> worker: operations in commit order, numbered. */
export interface FtsBatch {
  seq: number;
  ops: FtsOp[];
}

/** Worker -> main thread: every batch up to `done` is applied (or failed: `error`). */
export interface FtsDone {
  done: number;
  error?: string;
}

interface WorkerData {
  path: string;
}

function run(path: string): void {
  const db = new Database(path, { timeout: 30_000 });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const insFts = db.prepare(
    "INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const insBody = db.prepare("INSERT INTO search_body (rowid, body) VALUES (?, ?)");
  const insHeader = db.prepare(
    "INSERT INTO search_headers (email_num, seq, name, value) VALUES (?, ?, ?, ?)",
  );
  const copyFts = db.prepare(
    `INSERT INTO search_fts (rowid, hfrom, hto, hcc, hbcc, subject, headers)
     SELECT ?, hfrom, hto, hcc, hbcc, subject, headers FROM search_fts WHERE rowid = ?`,
  );
  const copyBody = db.prepare(
    "INSERT INTO search_body (rowid, body) SELECT ?, body FROM search_body WHERE rowid = ?",
  );
  const copyHeaders = db.prepare(
    "INSERT INTO search_headers (email_num, seq, name, value) SELECT ?, seq, name, value FROM search_headers WHERE email_num = ?",
  );
  const delFts = db.prepare("DELETE FROM search_fts WHERE rowid = ?");
  const delBody = db.prepare("DELETE FROM search_body WHERE rowid = ?");
  const delHeaders = db.prepare("DELETE FROM search_headers WHERE email_num = ?");

  const apply = db.transaction((ops: FtsOp[]) => {
    // Plain rows first, FTS5 rows back to back: FTS5 flushes its pending terms whenever
    // another statement opens a statement journal (see SearchIndex.index).
    const prepared: Array<{ num: number; text: ReturnType<typeof prepareDocument>["text"] }> = [];
    const flush = (): void => {
      for (const { num, text } of prepared)
        insFts.run(num, text.from, text.to, text.cc, text.bcc, text.subject, text.headers);
      for (const { num, text } of prepared) insBody.run(num, text.body);
      prepared.length = 0;
    };
    for (const op of ops) {
      if (op.t === "index") {
        const { text, fields } = prepareDocument(op.doc);
        fields.forEach((f, i) => insHeader.run(op.num, i, f.name, f.value));
        prepared.push({ num: op.num, text });
        continue;
      }
      // Copies and removals read or delete rows of earlier index operations: apply those first.
      flush();
      if (op.t === "copy") {
        copyFts.run(op.to, op.from);
        copyBody.run(op.to, op.from);
        copyHeaders.run(op.to, op.from);
      } else {
        for (const n of op.nums) {
          delFts.run(n);
          delBody.run(n);
          delHeaders.run(n);
        }
      }
    }
    flush();
  });

  const queue: FtsBatch[] = [];
  let scheduled = false;
  const drain = (): void => {
    scheduled = false;
    const batches = queue.splice(0);
    const last = batches[batches.length - 1];
    if (!last) return;
    const done: FtsDone = { done: last.seq };
    try {
      apply(batches.flatMap((b) => b.ops));
    } catch (e) {
      // Reported, and the entries are indexed again at the next open (missing()).
      done.error = e instanceof Error ? e.message : String(e);
    }
    parentPort?.postMessage(done);
  };
  parentPort?.on("message", (m: FtsBatch | "stop") => {
    if (m === "stop") {
      drain();
      db.close();
      parentPort?.close();
      return;
    }
    queue.push(m);
    if (!scheduled) {
      scheduled = true;
      // Lets the messages already queued for this thread arrive first: one transaction for all.
      setImmediate(drain);
    }
  });
}

lowerThreadPriority(FTS_NICE);
run((workerData as WorkerData).path);
