// Search and listing over a large mailbox: SEARCH TEXT "quokka" (full text, ~1% hits),
// FROM "olivia" (header, ~4%), and listing UID/flags/size/envelope of the last 10,000
// messages (what IMAP FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE) needs from the store).
// The populated store is kept in bench/out/ and reused by later runs.
//
//   node bench/search.ts [--messages 100000] [--size 2048] [--reps 5] [--backend sqlite] [--time-limit 900]
import "../src/core/threadpool.ts";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { systemClock } from "../src/core/clock.ts";
import { silentLogger } from "../src/core/logger.ts";
import { Ingest } from "../src/delivery/ingest.ts";
import type { SearchQuery } from "../src/store/types.ts";
import { message } from "./lib/messages.ts";
import { args, median, timeLimit } from "./lib/stats.ts";
import { benchStore } from "./lib/store.ts";

const o = args({ messages: 100000, size: 2048, reps: 5, backend: "sqlite", timeLimit: 900, list: 10000 });
timeLimit(o.timeLimit);
if (o.backend !== "sqlite") throw new Error("the kept store is SQLite only; use --backend sqlite");

const dir = join(import.meta.dirname, "out", `search-${o.messages}-${o.size}`);
const fresh = !existsSync(join(dir, "mailroom.sqlite"));
await mkdir(dir, { recursive: true });
const b = await benchStore({ backend: o.backend, fts: true, dir });
const store = b.store;
try {
  if (fresh) {
    await store.createDomain("bench.test");
    await store.createAccount({ name: "bench6@bench.test" });
  }
  const acc = (await store.getAccountByName("bench6@bench.test"))!;
  const inbox = (await store.listMailboxes(acc.id)).find((m) => m.role === "inbox")!;
  if (inbox.totalEmails < o.messages) {
    const ingest = new Ingest({ store, clock: systemClock, logger: silentLogger(), maxMessageSize: 1 << 30 });
    const t0 = performance.now();
    let next = inbox.totalEmails;
    const worker = async (): Promise<void> => {
      while (next < o.messages) {
        const m = message(next++, { size: o.size });
        await ingest.ingest({ accountId: acc.id, raw: m.raw, source: "import", receivedAt: m.date });
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));
    const secs = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        workload: "populate",
        messages: o.messages,
        secs: +secs.toFixed(1),
        msgs_per_s: Math.round((o.messages - inbox.totalEmails) / secs),
      }),
    );
  }
  const box = (await store.getMailbox(acc.id, inbox.id))!;

  const timeIt = async (fn: () => Promise<number>): Promise<{ ms: number[]; hits: number }> => {
    const ms: number[] = [];
    let hits = 0;
    for (let i = 0; i < o.reps; i++) {
      const t = performance.now();
      hits = await fn();
      ms.push(+(performance.now() - t).toFixed(1));
    }
    return { ms, hits };
  };
  const search = (q: SearchQuery) => async () =>
    (await store.search(acc.id, q, { mailboxId: box.id })).length;
  const cases: Array<[string, () => Promise<number>, number]> = [
    ["text quokka", search({ op: "text", text: "quokka" }), 200],
    ["body quokka", search({ op: "body", text: "quokka" }), 200],
    ["from olivia", search({ op: "header", field: "from", text: "olivia" }), 100],
    ["subject review", search({ op: "header", field: "subject", text: "review" }), 100],
    ["since 2024-07-01", search({ op: "sent", since: Date.UTC(2024, 6, 1) }), 100],
    ["unseen", search({ op: "not", term: { op: "keyword", keyword: "\\Seen" } }), 100],
    [
      `list ${o.list} uid/flags/size/envelope`,
      async () => {
        const rows = await store.listMessages(acc.id, box.id, {
          fromUid: Math.max(1, box.uidNext - o.list),
          withEnvelope: true,
        });
        return rows.filter((r) => r.envelope).length;
      },
      100,
    ],
    [
      `list ${o.list} then getEnvelopes by id`,
      async () => {
        const rows = await store.listMessages(acc.id, box.id, { fromUid: Math.max(1, box.uidNext - o.list) });
        const env = await store.getEnvelopes(
          acc.id,
          rows.map((r) => r.emailId),
        );
        return env.size;
      },
      100,
    ],
  ];
  for (const [name, fn, target] of cases) {
    const r = await timeIt(fn);
    const med = median(r.ms);
    console.log(
      JSON.stringify({
        workload: "store-search",
        case: name,
        messages: box.totalEmails,
        hits: r.hits,
        ms: r.ms,
        median_ms: med,
        target_ms: target,
        ok: med <= target,
      }),
    );
  }
} finally {
  await b.cleanup();
}
