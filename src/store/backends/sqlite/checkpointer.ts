// WAL checkpoints off the event loop. A checkpoint copies WAL frames back into the database
// file and, with synchronous=NORMAL, fsyncs the WAL before and the database after: run by
// SQLite's auto-checkpoint inside a COMMIT it blocks the event loop for milliseconds every
// few megabytes written (a third of the server's busy time in the SMTP ingest benchmark).
// The writer connection therefore runs with wal_autocheckpoint=0, and this worker thread,
// with a connection of its own, runs PASSIVE checkpoints: they take no lock the writer
// needs, so commits go on while frames are copied (https://sqlite.org/wal.html §Checkpointing).
// A WAL that keeps growing (under a steady write load a passive checkpoint copies every
// frame but never at a moment no transaction follows, so the WAL is never reset; readers
// pinning old frames) gets a RESTART checkpoint once it holds `restartBytes` of frames. The
// RESTART holds the write lock while it copies what is left and waits for the readers, and
// the next transaction then writes the WAL from its start. Run on its own, it first had to
// get that lock between the writer's back-to-back transactions, polling with SQLite's busy
// handler (sleeps of 1 to 100 ms). So the thread copies what it can (PASSIVE), asks the
// driver (onRestartWanted), which takes its write mutex (no transaction of its own open
// then), and runs the RESTART when told (restart()): the lock is free at once, and writes
// wait on the mutex, asynchronously, for the little copying left (2-26 ms, median 12, on the
// IMAP mixed load, where the WAL grows by 100 MB/s). A driver that does not answer within
// RESTART_ANSWER_MS (its loop blocked) gets the checkpoint run all the same.
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

/**
 * WAL content past which a RESTART checkpoint runs; the driver's journal_size_limit is twice
 * this, so the file is not truncated at each reset (see driver.ts).
 */
export const DEFAULT_RESTART_BYTES = 64 * 1024 * 1024;

/** Worker -> main thread. */
type FromWorker = { t: "restart-wanted" } | { t: "restarted"; ok: boolean };

/** How long the worker waits for the driver to let it restart before it does so anyway. */
const RESTART_ANSWER_MS = 2000;
/** How long a RESTART waits for readers (and another process's writer) before it gives up. */
const RESTART_WAIT_MS = 100;

/**
 * Main side: starts the worker, stops it on close(). The worker keeps its process alive only
 * while a RESTART the driver waits for runs.
 */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #restarted: Array<(ok: boolean) => void> = [];

  /**
   * `onRestartWanted`: the WAL is past restartBytes; the caller stops its writes and calls
   * restart(). Without it the worker runs the RESTART on its own.
   */
  constructor(
    path: string,
    opts: { intervalMs?: number; restartBytes?: number; onRestartWanted?: () => void } = {},
  ) {
    const data: CheckpointerData = {
      path,
      intervalMs: opts.intervalMs ?? 50,
      restartBytes: opts.restartBytes ?? DEFAULT_RESTART_BYTES,
    };
    // Source runs as .ts, the build as .js: the worker is this very module.
    this.#worker = new Worker(new URL(import.meta.url), { workerData: data });
    this.#exited = new Promise((resolve) =>
      this.#worker.once("exit", () => {
        this.#settle(false);
        resolve();
      }),
    );
    // A failing checkpoint is not fatal: the WAL only grows until the next one succeeds.
    this.#worker.on("error", () => undefined);
    const wanted = opts.onRestartWanted;
    this.#worker.on("message", (m: FromWorker) => {
      if (m.t === "restarted") this.#settle(m.ok);
      else if (wanted) wanted();
      else this.#worker.postMessage("restart");
    });
    // After the "message" listener, which would reference the worker again.
    this.#worker.unref();
  }

  /** Runs a RESTART checkpoint in the worker now; false when it could not complete. */
  restart(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#restarted.push(resolve);
      this.#worker.ref();
      this.#worker.postMessage("restart");
    });
  }

  #settle(ok: boolean): void {
    const waiting = this.#restarted;
    this.#restarted = [];
    this.#worker.unref();
    for (const r of waiting) r(ok);
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
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  let stopped = false;
  /** When the driver was asked to let a RESTART run (0: not asked). */
  let asked = 0;
  /** The writes wait meanwhile: a reader in a long query makes it give up, not them wait. */
  const restart = (): boolean => {
    db.pragma(`busy_timeout = ${RESTART_WAIT_MS}`);
    try {
      const [r] = db.pragma("wal_checkpoint(RESTART)") as Array<{ busy: number }>;
      return r?.busy === 0;
    } finally {
      db.pragma("busy_timeout = 5000");
    }
  };
  const tick = (): void => {
    if (stopped) return;
    try {
      let size = 0;
      try {
        size = statSync(wal).size;
      } catch {
        size = 0;
      }
      if (asked !== 0) {
        // waiting for the driver, idle, so its "restart" is run the moment it comes
        if (Date.now() - asked > RESTART_ANSWER_MS) {
          asked = 0;
          restart();
        }
      } else if (size > 0) {
        const [r] = db.pragma("wal_checkpoint(PASSIVE)") as Array<{ log: number }>;
        // the frames in the WAL, not the file's size: the file keeps its size after a reset
        if ((r?.log ?? 0) * (pageSize + 24) > data.restartBytes) {
          // copied up to now: the RESTART has only what is written until the driver answers
          asked = Date.now();
          parentPort?.postMessage({ t: "restart-wanted" } satisfies FromWorker);
        }
      }
    } catch {
      // SQLITE_BUSY and the like: try again at the next tick.
    }
    timer = setTimeout(tick, data.intervalMs);
  };
  let timer = setTimeout(tick, data.intervalMs);
  parentPort?.on("message", (m) => {
    if (m === "restart") {
      let ok = false;
      try {
        ok = restart();
      } catch {
        // busy or failed: the driver lets its writes go on; asked again at a later tick
      }
      asked = 0;
      parentPort?.postMessage({ t: "restarted", ok } satisfies FromWorker);
      return;
    }
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
