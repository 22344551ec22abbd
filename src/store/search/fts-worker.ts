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

/**
 * FTS5 merges the segments of one level at once, inside the write that brings the level to
 * `crisismerge` segments (default 16). Every batch is a transaction that adds a segment per
 * table, and a text search posts its account's entries as a batch of their own, so under a
 * mixed load levels filled fast: with 110,000 messages indexed, batches of one or two
 * messages took 390-670 ms, and the searches waiting for them as long. Levels are kept small
 * by merging while the thread is idle instead (MERGE_PAGES at a time, between batches), and
 * the at-once merge is left for levels that idle time could not keep under CRISIS_MERGE.
 * Same load (with idle removals, below): search p99 352 -> 143 ms, max 802 -> 202 ms.
 */
const CRISIS_MERGE = 64;
/** Leaf pages one idle merge step writes (FTS5 'merge', N): a few milliseconds. */
const MERGE_PAGES = 100;
const FTS_TABLE_NAMES = ["search_fts", "search_body"] as const;
/** Emails whose index rows one idle step deletes (see search_removals). */
const REMOVE_CHUNK = 50;

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

  const removeRows = (n: number): void => {
    delFts.run(n);
    delBody.run(n);
    delHeaders.run(n);
  };
  /**
   * Emails whose rows are deleted while the thread is idle, REMOVE_CHUNK at a time, kept in
   * the table search_removals (written with the batch, so a restart finds them). Deleting the
   * rows of a trigram index is costly (about 1 ms an email), and a search never needs it:
   * queries select from emails, whose numbers are never reused. Applied with the batches, the
   * removals of a deleted mailbox held every account's searches up (900 in one batch: 1.2 s).
   */
  const addRemoval = db.prepare("INSERT OR IGNORE INTO search_removals (num) VALUES (?)");
  const dropRemoval = db.prepare("DELETE FROM search_removals WHERE num = ?");
  const nextRemovals = db
    .prepare(`SELECT num FROM search_removals ORDER BY num LIMIT ${REMOVE_CHUNK}`)
    .pluck();
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
        // Indexed again (a reindex removes, then indexes): the old rows go now.
        if (dropRemoval.run(op.num).changes > 0) removeRows(op.num);
        const { text, fields } = prepareDocument(op.doc);
        fields.forEach((f, i) => insHeader.run(op.num, i, f.name, f.value));
        prepared.push({ num: op.num, text });
        continue;
      }
      if (op.t === "remove") {
        for (const n of op.nums) addRemoval.run(n);
        continue;
      }
      // A copy reads the rows of earlier index operations: apply those first. Its source's
      // rows are there even when a removal of it waits.
      flush();
      copyFts.run(op.to, op.from);
      copyBody.run(op.to, op.from);
      copyHeaders.run(op.to, op.from);
    }
    flush();
  });
  /** Deletes the rows of up to REMOVE_CHUNK waiting removals; false when none wait. */
  const removeStep = db.transaction((): boolean => {
    const nums = nextRemovals.all() as number[];
    for (const n of nums) {
      removeRows(n);
      dropRemoval.run(n);
    }
    return nums.length > 0;
  });

  for (const t of FTS_TABLE_NAMES)
    db.exec(`INSERT INTO ${t}(${t}, rank) VALUES ('crisismerge', ${CRISIS_MERGE})`);
  // A positive N merges only where a level has `usermerge` (4) segments or a merge is under
  // way; total_changes() grows by 2 or more when it did some work (FTS5 documentation).
  const merges = FTS_TABLE_NAMES.map((t) =>
    db.prepare(`INSERT INTO ${t}(${t}, rank) VALUES ('merge', ${MERGE_PAGES})`),
  );
  const totalChanges = db.prepare("SELECT total_changes()").pluck();

  const queue: FtsBatch[] = [];
  let scheduled = false;
  let stopped = false;
  let merging = false;
  let pause: ReturnType<typeof setTimeout> | undefined;
  /** One idle step (removals first, then merges); more follow while work remains, no batch waits. */
  const mergeStep = (): void => {
    merging = false;
    if (stopped || queue.length > 0) return;
    const start = performance.now();
    let worked = false;
    try {
      if (removeStep()) worked = true;
      else
        for (const st of merges) {
          const before = totalChanges.get() as number;
          st.run();
          if ((totalChanges.get() as number) - before >= 2) worked = true;
        }
    } catch {
      // A failed step leaves the index as it was; the next batch tries again.
      return;
    }
    // A third of this thread's time at most while work remains (a large backlog, after an
    // import, takes minutes): the search queries and the event loop share the cores.
    if (worked) idleMerge(2 * (performance.now() - start));
  };
  const idleMerge = (pauseMs = 0): void => {
    if (merging || stopped) return;
    merging = true;
    // After the messages already queued for this thread: batches go first.
    if (pauseMs < 1) setImmediate(mergeStep);
    else pause = setTimeout(mergeStep, pauseMs);
  };
  // Removals left by the last run go first.
  idleMerge();
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
    idleMerge();
  };
  parentPort?.on("message", (m: FtsBatch | "stop") => {
    if (m === "stop") {
      drain();
      stopped = true;
      clearTimeout(pause);
      // Removals still waiting stay in search_removals for the next start.
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
