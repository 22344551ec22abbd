// WAL checkpoints off the event loop. A checkpoint copies WAL frames back into the database
// file and, with synchronous=NORMAL, fsyncs the WAL before and the database after: run by
// SQLite's auto-checkpoint inside a COMMIT it blocks the event loop for milliseconds every
// few megabytes written (a third of the server's busy time in the SMTP ingest benchmark).
// The writer connection therefore runs with wal_autocheckpoint=0, and this worker thread,
// with a connection of its own, runs PASSIVE checkpoints: they take no lock the writer
// needs, so commits go on while frames are copied (https://sqlite.org/wal.html §Checkpointing).
// A WAL that keeps growing (readers pinning old frames, checkpoints outpaced) gets a RESTART
// checkpoint past `restartBytes`: it waits in this thread, never in the event loop, for the
// writer to be between transactions (the writer retries BEGIN asynchronously meanwhile).
//
// The same file is the worker's entry point (`isMainThread` false) and the main side's class.
import { statSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

interface CheckpointerData {
  path: string;
  intervalMs: number;
  restartBytes: number;
}

/** Main side: starts the worker, stops it on close(). The worker never keeps a process alive. */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, opts: { intervalMs?: number; restartBytes?: number } = {}) {
    const data: CheckpointerData = {
      path,
      intervalMs: opts.intervalMs ?? 50,
      restartBytes: opts.restartBytes ?? 256 * 1024 * 1024,
    };
    // Source runs as .ts, the build as .js: the worker is this very module.
    this.#worker = new Worker(new URL(import.meta.url), { workerData: data });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once("exit", () => resolve()));
    // A failing checkpoint is not fatal: the WAL only grows until the next one succeeds.
    this.#worker.on("error", () => undefined);
  }

  async close(): Promise<void> {
    // Keep the process alive until the worker has closed its connection.
    this.#worker.ref();
    this.#worker.postMessage("stop");
    await this.#exited;
  }
}

function runWorker(data: CheckpointerData): void {
  const db = new Database(data.path, { timeout: 5_000 });
  db.pragma("synchronous = NORMAL");
  const wal = `${data.path}-wal`;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    try {
      let size = 0;
      try {
        size = statSync(wal).size;
      } catch {
        size = 0;
      }
      if (size > 0)
        db.pragma(size > data.restartBytes ? "wal_checkpoint(RESTART)" : "wal_checkpoint(PASSIVE)");
    } catch {
      // SQLITE_BUSY and the like: try again at the next tick.
    }
    timer = setTimeout(tick, data.intervalMs);
  };
  let timer = setTimeout(tick, data.intervalMs);
  parentPort?.on("message", (m) => {
    if (m !== "stop") return;
    stopped = true;
    clearTimeout(timer);
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // closing anyway
    }
    db.close();
    parentPort?.close();
  });
}

if (!isMainThread && (workerData as Partial<CheckpointerData> | null)?.path !== undefined) {
  runWorker(workerData as CheckpointerData);
}
