// The WAL's fdatasyncs run from a thread of their own, and their completion is told through
// shared memory. Run from the event loop on libuv's pool (FileHandle.datasync), a commit
// learned that its sync was done 0.9 ms (mean) after the syscall ended on the IMAP mixed load:
// the completion waits for the loop's next poll phase, behind the sessions' socket reads.
// This thread's own loop is idle, so it sees each completion at once and publishes the
// number of the request made durable in a SharedArrayBuffer; the driver looks there (poll())
// at every statement it runs, so a busy server tells a commit within a statement or two
// (0.16 ms mean on that load), and a message from the thread tells an idle one. The thread
// starts each sync at once, on the pool: syncs overlap as they did from the event loop.
//
// A process that cannot start the thread (one run with `node --input-type=module -e`, whose
// workers refuse to load a file) syncs from its event loop instead.
//
// The same file is the thread's entry point (workerData.walSyncThread) and the main side.
import { open, type FileHandle } from "node:fs/promises";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

/** Int32 slots of the shared buffer. */
const DONE = 0;
/** The last request whose sync failed: a later sync that succeeds does not cover it. */
const FAILED = 1;

interface ThreadData {
  walSyncThread: true;
  path: string;
  shared: SharedArrayBuffer;
}

/** Main thread -> thread: sync for request `seq`, or stop. */
type ToThread = { seq: number } | "stop";
/** Thread -> main thread: started; a request made durable; one whose sync failed. */
type FromThread = { ready: true } | { done: number } | { failed: number; error: string };

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Opens the WAL once; null while there is no WAL file (nothing was ever written to it). */
function walHandle(path: string): () => Promise<FileHandle | null> {
  let fh: Promise<FileHandle | null> | undefined;
  return () =>
    (fh ??= open(path, "r+").catch((e: unknown) => {
      fh = undefined;
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw e;
    }));
}

/** Main side. sync() resolves once a fdatasync of the WAL file started after the call has ended. */
export class SyncThread {
  readonly #state = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #handle: () => Promise<FileHandle | null>;
  #requested = 0;
  #waiters: Waiter[] = [];
  #failure: Error | null = null;
  /** The thread has started: an exit before that means syncing from the event loop (#local). */
  #online = false;
  #local = false;

  constructor(walPath: string) {
    this.#handle = walHandle(walPath);
    const data: ThreadData = {
      walSyncThread: true,
      path: walPath,
      shared: this.#state.buffer,
    };
    // Source runs as .ts, the build as .js: the thread is this very module.
    this.#worker = new Worker(new URL(import.meta.url), { workerData: data });
    this.#worker.on("message", (m: FromThread) => {
      if ("ready" in m) this.#online = true;
      else if ("failed" in m) this.#fail(m.failed, new Error(`WAL fdatasync failed: ${m.error}`));
      else this.#settle(m.done);
    });
    this.#worker.on("error", (e: Error) => {
      if (this.#online) this.#failure ??= e;
    });
    // Referenced only while a commit waits: a process whose last commit is not on disk yet
    // does not end before it is. (After the "message" listener, which would reference it.)
    this.#worker.unref();
    this.#exited = new Promise((resolve) =>
      this.#worker.once("exit", () => {
        if (this.#online) this.#fail(Infinity, (this.#failure ??= new Error("WAL sync thread stopped")));
        else this.#toLocal();
        resolve();
      }),
    );
  }

  sync(): Promise<void> {
    if (this.#local) return this.#localSync();
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const seq = ++this.#requested;
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
    if (this.#waiters.length === 1) this.#worker.ref();
    this.#worker.postMessage({ seq } satisfies ToThread);
    return p;
  }

  /** Requests not settled yet. */
  get pending(): number {
    return this.#waiters.length;
  }

  /** Settles the requests the thread has made durable since the last look; costs a load. */
  poll(): void {
    if (this.#waiters.length > 0) this.#settle(Atomics.load(this.#state, DONE));
  }

  #settle(done: number): void {
    const failed = Atomics.load(this.#state, FAILED);
    if (failed > 0 && (this.#waiters[0]?.seq ?? Infinity) <= failed)
      this.#fail(failed, new Error("WAL fdatasync failed"));
    let n = 0;
    while (n < this.#waiters.length && (this.#waiters[n]?.seq ?? Infinity) <= done) n++;
    if (n === 0) return;
    const ready = this.#waiters.slice(0, n);
    this.#waiters = this.#waiters.slice(n);
    if (this.#waiters.length === 0) this.#worker.unref();
    for (const w of ready) w.resolve();
  }

  /** Rejects the requests up to `seq`. */
  #fail(seq: number, error: Error): void {
    const failed = this.#waiters.filter((w) => w.seq <= seq);
    this.#waiters = this.#waiters.filter((w) => w.seq > seq);
    if (this.#waiters.length === 0) this.#worker.unref();
    for (const w of failed) w.reject(error);
  }

  /** The thread never started: the requests waiting and all later ones sync from here. */
  #toLocal(): void {
    this.#local = true;
    const waiting = this.#waiters;
    this.#waiters = [];
    if (waiting.length === 0) return;
    this.#localSync().then(
      () => waiting.forEach((w) => w.resolve()),
      (e: unknown) => waiting.forEach((w) => w.reject(e instanceof Error ? e : new Error(String(e)))),
    );
  }

  async #localSync(): Promise<void> {
    const fh = await this.#handle();
    if (fh !== null) await fh.datasync();
  }

  /** Stops the thread once the requests made so far are settled. */
  async close(): Promise<void> {
    while (this.#waiters.length > 0 && this.#failure === null && !this.#local)
      await new Promise((r) => setImmediate(r));
    // held until it has exited: waiting for an unreferenced worker would not keep us going
    this.#worker.ref();
    this.#worker.postMessage("stop" satisfies ToThread);
    await this.#exited;
    const fh = await this.#handle().catch(() => null);
    await fh?.close();
  }
}

/** The thread: a sync per request, started at once; what completes is published. */
function runThread(data: ThreadData): void {
  const state = new Int32Array(data.shared);
  const handle = walHandle(data.path);
  const port = parentPort;
  if (port === null) return;
  let running = 0;
  let stopping = false;
  const stop = (): void => {
    if (stopping && running === 0) {
      void handle()
        .catch(() => null)
        .then((fh) => fh?.close())
        .finally(() => port.close());
    }
  };
  port.on("message", (m: ToThread) => {
    if (m === "stop") {
      stopping = true;
      stop();
      return;
    }
    running++;
    handle()
      .then((fh) => fh?.datasync())
      .then(
        () => {
          // A sync started after request `seq` was made covers every request before it too.
          for (let d = Atomics.load(state, DONE); d < m.seq; d = Atomics.load(state, DONE))
            Atomics.compareExchange(state, DONE, d, m.seq);
          port.postMessage({ done: m.seq } satisfies FromThread);
        },
        (e: unknown) => {
          for (let f = Atomics.load(state, FAILED); f < m.seq; f = Atomics.load(state, FAILED))
            Atomics.compareExchange(state, FAILED, f, m.seq);
          port.postMessage({ failed: m.seq, error: (e as Error).message } satisfies FromThread);
        },
      )
      .finally(() => {
        running--;
        stop();
      });
  });
  port.postMessage({ ready: true } satisfies FromThread);
}

if (!isMainThread && (workerData as Partial<ThreadData> | null)?.walSyncThread === true)
  runThread(workerData as ThreadData);
