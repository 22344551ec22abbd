// The worker thread of the deferred SQLite search index (sqlite-deferred.ts). It owns the
// index database file (the FTS5 tables and the header rows, apart from the mail database)
// and applies the operations the store's committed transactions sent it, many messages per
// transaction: trigram tokenizing, text folding and FTS5 segment merges, most of the CPU of
// an append, run on this thread instead of the server's event loop, and never inside the
// delivery's transaction. The file has one writer (this thread); other processes opening the
// same store (the CLI) have their own worker and wait on SQLite's lock here, not in an
// event loop. Durability is not needed: whatever a crash loses is indexed again from the
// messages at the next open (DeferredFtsIndex.missing).
//
// A text search waits for this thread to apply its account's entries: the header rows only
// for a search of headers (applyHeaders below), so those go first, and a batch arriving while
// bodies are indexed cuts that transaction short. The thread runs at the event loop's CPU
// priority: what keeps the index off the cores during a burst of deliveries is
// DeferredFtsIndex holding the work back, and a lower priority only made the searches wait
// behind the busy loop (8 IMAP clients, 110,000 messages indexed: search p99 250-500 ms at
// nice 19 and 10, 104 ms at 5, 77 ms at 0; SMTP/LMTP ingest of 2,000 messages the same at 19
// and 0). With header rows first, on the mixed load: a header search's wait for the index p90
// 8.1 -> 5.2 ms and p99 30 -> 21 ms at nice 5, 4.0 and 12.7 ms at nice 0.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import Database from "better-sqlite3";
import type { SearchDocument } from "../types.ts";
import { prepareBody, prepareDocument } from "./text.ts";

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
/**
 * Leaf pages one idle merge unit writes (FTS5 'merge', N). A batch that arrives waits for the
 * unit under way: mixed load after 110,000 messages indexed, search p99 43-52 ms at 100 pages,
 * 36 ms at 25 (a unit on the body table: 13 ms mean, 34 ms max); with units of 8 pages and
 * 1 removal, checked for batches in between (mergeStep): index wait p90 13 -> 8.8 ms, p99
 * 37 -> 26 ms, search p99 36-41 -> 27 ms.
 */
const MERGE_PAGES = 8;
/** Idle work done in one turn of the thread, in small units (see mergeStep). */
const IDLE_SLICE_MS = 10;
const FTS_TABLE_NAMES = ["search_fts", "search_body"] as const;
/**
 * Emails whose index rows one idle unit deletes (see search_removals): 1-4 ms each (5 took
 * 20 ms on average, 50 ms at most, with 110,000 messages indexed).
 */
const REMOVE_CHUNK = 1;

export type FtsOp =
  | { t: "index"; num: number; doc: SearchDocument }
  | { t: "copy"; from: number; to: number }
  | { t: "remove"; nums: number[] };

/** Main thread -> worker: operations in commit order, numbered. */
export interface FtsBatch {
  seq: number;
  ops: FtsOp[];
}

/**
 * Worker -> main thread: the header rows (search_fts, search_headers) of every batch up to
 * `headers` are applied, and every row of every batch up to `done` (or failed: `error`).
 */
export interface FtsDone {
  headers: number;
  done: number;
  error?: string;
}

/**
 * The second phase of a batch's index operations: body rows, in commit order. A copy's body
 * row is copied here too, after the body of an index operation before it.
 */
type BodyOp = { t: "body"; num: number; body: string } | { t: "copy"; from: number; to: number };

/** Body rows of the batches up to `seq`, waiting for the second phase. */
interface BodyGroup {
  seq: number;
  ops: BodyOp[];
  chars: number;
}

/** Body text one second-phase transaction takes at most (at least one group). */
const BODY_CHUNK_CHARS = 256 * 1024;

interface WorkerData {
  path: string;
  /** Where FtsDone goes (the main thread also reads it between statements, sqlite-deferred.ts). */
  done?: MessagePort;
}

/** The text of body operations (a copy counts little). */
function bodyChars(ops: readonly BodyOp[]): number {
  return ops.reduce((n, o) => n + (o.t === "body" ? o.body.length : 16), 0);
}

function run(path: string, donePort: MessagePort | undefined): void {
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
  /** Set below: whether a batch came while a body transaction runs (it then stops early). */
  let batchArrived = (): boolean => false;
  const hasRows = db.prepare("SELECT 1 FROM search_fts WHERE rowid = ?").pluck();
  /** Body rows not written yet, oldest first (see applyHeaders). */
  const bodies: BodyGroup[] = [];
  /**
   * A batch is applied in two transactions. First its header rows and removals: a search of
   * headers (FROM, SUBJECT: what clients search most) waits only for those. Then, when no
   * header rows wait, its body rows (applyBodies), which a body or TEXT search waits for: the
   * trigrams of a body are most of an email's indexing (bodies of 28 KB: 2-5 ms an email).
   */
  const applyHeaders = db.transaction((ops: FtsOp[]): BodyOp[] => {
    // Plain rows first, FTS5 rows back to back: FTS5 flushes its pending terms whenever
    // another statement opens a statement journal (see SearchIndex.index).
    const prepared: Array<{ num: number; text: ReturnType<typeof prepareDocument>["text"] }> = [];
    const later: BodyOp[] = [];
    const flush = (): void => {
      for (const { num, text } of prepared)
        insFts.run(num, text.from, text.to, text.cc, text.bcc, text.subject, text.headers);
      prepared.length = 0;
    };
    for (const op of ops) {
      if (op.t === "index") {
        // Indexed again (a reindex removes, then indexes; an email whose body a crash lost is
        // found by missing() with its header rows): the old rows go now, with a body still
        // waiting for the second phase.
        if (dropRemoval.run(op.num).changes > 0 || hasRows.get(op.num) !== undefined) {
          removeRows(op.num);
          dropPendingBody(op.num, later);
        }
        // the body is folded in the second phase too
        const { text, fields } = prepareDocument({ ...op.doc, body: "" });
        fields.forEach((f, i) => insHeader.run(op.num, i, f.name, f.value));
        prepared.push({ num: op.num, text });
        later.push({ t: "body", num: op.num, body: op.doc.body });
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
      copyHeaders.run(op.to, op.from);
      later.push(op);
    }
    flush();
    return later;
  });
  /** Forgets the body of `num` that waits (its email is indexed again). */
  const dropPendingBody = (num: number, current: BodyOp[]): void => {
    const keep = (o: BodyOp): boolean => o.t !== "body" || o.num !== num;
    for (const g of bodies) g.ops = g.ops.filter(keep);
    const rest = current.filter(keep);
    current.length = 0;
    current.push(...rest);
  };
  /**
   * Applies body rows in order until a batch arrives (its header rows go first: a search
   * may wait for them, and a body takes milliseconds); returns how many it applied.
   */
  const applyBodies = db.transaction((ops: BodyOp[]): number => {
    let i = 0;
    for (; i < ops.length; i++) {
      if (i > 0 && batchArrived()) break;
      const op = ops[i]!;
      if (op.t === "body") insBody.run(op.num, prepareBody(op.body));
      else copyBody.run(op.to, op.from);
    }
    return i;
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
  let headersDone = 0;
  let done = 0;
  let scheduled = false;
  let stopped = false;
  let merging = false;
  let pause: ReturnType<typeof setTimeout> | undefined;
  /** One idle step (removals first, then merges); more follow while work remains, no batch waits. */
  const mergeStep = (): void => {
    merging = false;
    if (stopped || queue.length > 0 || bodies.length > 0) return;
    const start = performance.now();
    let worked = false;
    try {
      // small units, until IDLE_SLICE_MS have passed or a batch came: it waits for the unit
      // under way only
      for (;;) {
        let unit = removeStep();
        if (!unit)
          for (const st of merges) {
            const before = totalChanges.get() as number;
            st.run();
            if ((totalChanges.get() as number) - before >= 2) unit = true;
          }
        worked ||= unit;
        if (!unit || performance.now() - start >= IDLE_SLICE_MS || batchArrived()) break;
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
  /** First phase of every batch received: header rows and removals (see applyHeaders). */
  const headersPhase = (): void => {
    const batches = queue.splice(0);
    const last = batches[batches.length - 1];
    if (!last) return;
    let error: string | undefined;
    let later: BodyOp[] = [];
    try {
      later = applyHeaders(batches.flatMap((b) => b.ops));
    } catch (e) {
      // Reported, and the entries are indexed again at the next open (missing()).
      error = e instanceof Error ? e.message : String(e);
    }
    headersDone = last.seq;
    bodies.push({ seq: last.seq, ops: later, chars: bodyChars(later) });
    report(error);
  };
  /**
   * Second phase: the oldest body rows, up to BODY_CHUNK_CHARS of text, or fewer when a
   * batch arrives meanwhile (the rest stays first in line).
   */
  const bodiesPhase = (): void => {
    const groups: BodyGroup[] = [];
    for (let chars = 0; bodies.length > 0 && (groups.length === 0 || chars < BODY_CHUNK_CHARS);) {
      const g = bodies.shift()!;
      groups.push(g);
      chars += g.chars;
    }
    if (groups.length === 0) return;
    let error: string | undefined;
    let applied = Infinity;
    try {
      applied = applyBodies(groups.flatMap((g) => g.ops));
    } catch (e) {
      // Reported, and the entries are indexed again at the next open (missing()).
      error = e instanceof Error ? e.message : String(e);
    }
    // groups applied whole are done; the rest of a group cut short goes back first in line
    let doneSeq = done;
    for (const [i, g] of groups.entries()) {
      if (applied >= g.ops.length) {
        applied -= g.ops.length;
        doneSeq = g.seq;
        continue;
      }
      g.ops = g.ops.slice(applied);
      g.chars = bodyChars(g.ops);
      bodies.unshift(g, ...groups.slice(i + 1));
      break;
    }
    if (doneSeq === done && error === undefined) return;
    done = doneSeq;
    report(error);
  };
  const report = (error: string | undefined): void => {
    const m: FtsDone = { headers: headersDone, done };
    if (error !== undefined) m.error = error;
    (donePort ?? parentPort)?.postMessage(m);
  };
  /** Header rows first, then bodies, then idle work; one step per turn, so new batches get in. */
  const pump = (): void => {
    scheduled = false;
    if (stopAsked) return stop();
    if (queue.length > 0) headersPhase();
    else if (bodies.length > 0) bodiesPhase();
    else return idleMerge();
    schedule();
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    // Lets the messages already queued for this thread arrive first: one transaction for all.
    setImmediate(pump);
  };
  let stopAsked = false;
  const stop = (): void => {
    if (stopped) return;
    while (queue.length > 0 || bodies.length > 0) {
      headersPhase();
      bodiesPhase();
    }
    stopped = true;
    clearTimeout(pause);
    // Removals still waiting stay in search_removals for the next start.
    db.close();
    donePort?.close();
    parentPort?.close();
  };
  const receive = (m: FtsBatch | "stop"): void => {
    if (m === "stop") stopAsked = true;
    else queue.push(m);
  };
  // Takes the messages waiting on the port without leaving the transaction.
  batchArrived = (): boolean => {
    if (parentPort === null || stopAsked) return false;
    for (let m = receiveMessageOnPort(parentPort); m !== undefined; m = receiveMessageOnPort(parentPort))
      receive(m.message as FtsBatch | "stop");
    if (stopAsked || queue.length > 0) schedule();
    return queue.length > 0;
  };
  parentPort?.on("message", (m: FtsBatch | "stop") => {
    receive(m);
    if (stopAsked) stop();
    else schedule();
  });
}

run((workerData as WorkerData).path, (workerData as WorkerData).done);
