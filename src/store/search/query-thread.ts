// Runs read-only queries of the deferred SQLite search index on a thread of its own
// (query-worker.ts), so the event loop that answers clients does not spend its time in them.
// Started at the first query: a store that never searches text has no such thread, and until
// the thread has opened its connection (a few hundred ms) tryAll() declines and the caller
// runs the query itself. Queries are answered in the order sent; the thread holds no process
// open (unref) and is stopped with the index. If it dies, the queries waiting fail with its
// error and the next one starts a new thread.
//
// Replies come on a MessagePort of their own, which poll() reads (receiveMessageOnPort) when
// the driver runs a statement: on a busy event loop a reply waited about 0.9 ms for the loop's
// poll phase (a FROM search of a 500-message mailbox took 2.25 ms, median, on the IMAP mixed
// load); a statement of another session comes sooner. An idle loop gets it as a message.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { Logger } from "../../core/logger.ts";
import type { SqlValue } from "../sql.ts";
import type { QueryReply, QueryRequest } from "./query-worker.ts";

interface Pending {
  worker: Worker;
  resolve: (rows: unknown[]) => void;
  reject: (e: Error) => void;
}

export class SearchQueryThread {
  readonly #databasePath: string;
  readonly #indexPath: string;
  readonly #logger: Logger | undefined;
  #worker: Worker | undefined;
  /** The worker's replies. */
  #replies: MessagePort | undefined;
  /** The worker has opened its connection (its first message). */
  #ready = false;
  #exited: Promise<void> = Promise.resolve();
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #closed = false;

  constructor(databasePath: string, indexPath: string, logger?: Logger) {
    this.#databasePath = databasePath;
    this.#indexPath = indexPath;
    this.#logger = logger;
  }

  /**
   * The rows of a read-only statement over the store's tables and the index's (`fts`), or null
   * while the thread is not ready yet (starting it): the caller runs the statement itself then.
   */
  tryAll<T>(sql: string, params: readonly SqlValue[]): Promise<T[]> | null {
    if (this.#closed) return null;
    this.#start();
    return this.#ready ? this.all<T>(sql, params) : null;
  }

  /** As tryAll(), waiting for the thread to start if it must. */
  all<T>(sql: string, params: readonly SqlValue[]): Promise<T[]> {
    if (this.#closed) return Promise.reject(new Error("search query thread closed"));
    const worker = this.#start();
    const id = ++this.#next;
    return new Promise<T[]>((resolve, reject) => {
      this.#pending.set(id, { worker, resolve: resolve as (rows: unknown[]) => void, reject });
      if (this.#pending.size === 1) this.#replies?.ref();
      const req: QueryRequest = { id, sql, params: [...params] };
      worker.postMessage(req);
    });
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL(`./query-worker${ext}`, import.meta.url), {
      workerData: { databasePath: this.#databasePath, indexPath: this.#indexPath, replies: port1 },
      transferList: [port1],
    });
    port2.on("message", (m: QueryReply) => this.#onReply(worker, m));
    // Only a query in flight keeps the process alive (see all() and #onReply); unreferenced
    // after the listeners, which reference what they listen to.
    port2.unref();
    worker.unref();
    this.#replies = port2;
    worker.on("error", (e: Error) => {
      this.#logger?.error({ err: e }, "search query thread failed; restarted at the next search");
      this.#fail(worker, new Error(`search query thread failed: ${e.message}`));
    });
    this.#exited = new Promise((resolve) =>
      worker.once("exit", () => {
        this.#fail(worker, new Error("search query thread exited"));
        resolve();
      }),
    );
    this.#worker = worker;
    return worker;
  }

  #onReply(worker: Worker, m: QueryReply): void {
    if (m.id === 0) {
      this.#ready = true;
      return;
    }
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    if (this.#pending.size === 0) this.#replies?.unref();
    if (m.error !== undefined) {
      const e = new Error(m.error.message) as Error & { code?: string };
      if (m.error.code !== undefined) e.code = m.error.code;
      p.reject(e);
    } else p.resolve(m.rows ?? []);
  }

  /** Queries not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Takes the replies that have arrived (see the file comment); costs little with none waiting. */
  poll(): void {
    const port = this.#replies;
    const worker = this.#worker;
    if (port === undefined || worker === undefined || this.#pending.size === 0) return;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port))
      this.#onReply(worker, m.message as QueryReply);
  }

  /** `worker` is gone: its queries fail, and the next query starts another. */
  #fail(worker: Worker, e: Error): void {
    if (this.#worker === worker) {
      this.#worker = undefined;
      this.#ready = false;
      this.#replies?.close();
      this.#replies = undefined;
    }
    for (const [id, p] of this.#pending) {
      if (p.worker !== worker) continue;
      this.#pending.delete(id);
      p.reject(e);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker === undefined) return;
    worker.ref();
    worker.postMessage("stop");
    await this.#exited;
  }
}
