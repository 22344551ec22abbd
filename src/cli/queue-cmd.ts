// `mailroom queue list|show|retry|hold|release|cancel`: the outbound queue, as Postfix's
// mailq/postqueue/postsuper offer it. They work on the data folder's store whether or not a
// server runs on it; a running server's delivery agent picks changes up at its next pass.
import type { Command } from "commander";
import { systemClock } from "../core/clock.ts";
import { StoreError } from "../core/errors.ts";
import { QueueStore, type QueuedMessage } from "../queue/queue-store.ts";
import { withStore } from "./directory-cmds.ts";
import { formatSize, printTable, UsageError } from "./output.ts";

interface DataOpt {
  data: string;
}

function time(ms: number | null): string {
  return ms === null ? "" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

async function withQueue<T>(opts: DataOpt, fn: (q: QueueStore) => Promise<T>): Promise<T> {
  return withStore(opts, async (store) => {
    const q = QueueStore.fromStore(store, systemClock);
    if (!q) throw new UsageError("this store has no outbound queue");
    return fn(q);
  });
}

function describe(m: QueuedMessage): string {
  const lines = [
    `id:           ${m.id}`,
    `status:       ${m.status}`,
    `from:         <${m.from}>`,
    `size:         ${formatSize(m.size)}`,
    `queued:       ${time(m.createdAt)}`,
    `next attempt: ${time(m.nextAttemptAt)}`,
    `attempts:     ${m.attempts}`,
  ];
  if (m.holdUntil !== null) lines.push(`held until:   ${time(m.holdUntil)}`);
  if (m.priority !== 0) lines.push(`priority:     ${m.priority}`);
  if (m.deliverBy !== null) lines.push(`deliver by:   ${time(m.deliverBy)}`);
  if (Object.keys(m.params).length > 0) lines.push(`parameters:   ${JSON.stringify(m.params)}`);
  lines.push("recipients:");
  for (const r of m.recipients) {
    const detail = [r.status, r.remoteMta ? `via ${r.remoteMta}` : "", r.lastError ?? ""].filter(
      (x) => x !== "",
    );
    lines.push(`  <${r.address}> ${detail.join(", ")}`);
  }
  return lines.join("\n") + "\n";
}

export function registerQueueCommands(program: Command): void {
  const queue = program.command("queue").description("the outbound queue: mail waiting for remote delivery");
  const data = (c: Command): Command => c.requiredOption("--data <dir>", "the data folder", "./data");

  data(queue.command("list").description("list queued messages, most urgent first"))
    .option("--limit <n>", "show at most this many", "1000")
    .action(async (opts: DataOpt & { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`bad --limit ${opts.limit}`);
      await withQueue(opts, async (q) => {
        const list = await q.list({ limit });
        if (list.length === 0) {
          process.stdout.write("the queue is empty\n");
          return;
        }
        printTable([
          ["ID", "STATUS", "SIZE", "QUEUED", "NEXT", "FROM", "PENDING"],
          ...list.map((m) => [
            m.id,
            m.status,
            formatSize(m.size),
            time(m.createdAt),
            time(m.nextAttemptAt),
            `<${m.from}>`,
            m.recipients
              .filter((r) => r.status === "pending")
              .map((r) => r.address)
              .join(", "),
          ]),
        ]);
      });
    });

  data(queue.command("show <id>").description("show a queued message and its recipients")).action(
    async (id: string, opts: DataOpt) => {
      await withQueue(opts, async (q) => {
        const m = await q.get(id);
        if (!m) throw new StoreError("NOTFOUND", `no queued message ${id}`);
        process.stdout.write(describe(m));
      });
    },
  );

  const verbs: Array<[string, string, (q: QueueStore, id: string) => Promise<boolean>, string]> = [
    ["retry", "try a waiting message again now", (q, id) => q.retry(id), "is due now"],
    ["hold", "keep a message from delivery until released", (q, id) => q.hold(id), "held"],
    ["release", "release a held message for delivery now", (q, id) => q.release(id), "released"],
    ["cancel", "remove a message from the queue without a bounce", (q, id) => q.cancel(id), "removed"],
  ];
  for (const [verb, what, fn, done] of verbs) {
    data(queue.command(`${verb} <id...>`).description(what)).action(async (ids: string[], opts: DataOpt) => {
      await withQueue(opts, async (q) => {
        const missed: string[] = [];
        for (const id of ids) {
          if (await fn(q, id)) process.stdout.write(`${id} ${done}\n`);
          else missed.push(id);
        }
        if (missed.length > 0)
          throw new StoreError(
            "NOTFOUND",
            `not ${done}: ${missed.join(", ")} (no such message, or not in a state for ${verb})`,
          );
      });
    });
  }
}
