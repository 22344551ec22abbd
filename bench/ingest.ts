// Ingest throughput: N messages of S bytes through the one ingest path (parse, blob, store,
// full-text index) with C deliveries in flight, so group commit can batch them. Durable:
// every message counts only once its transaction has committed (synchronous=FULL on SQLite).
//
//   node bench/ingest.ts [--count 5000] [--size 20480] [--concurrency 100] [--runs 3]
//                        [--backend sqlite|postgres] [--fts true|false] [--blobs auto|fs|db]
//                        [--time-limit 300]
//
// Prints one JSON line per run and a summary line with the median.
import "../src/core/threadpool.ts";
import { systemClock } from "../src/core/clock.ts";
import { silentLogger } from "../src/core/logger.ts";
import { Ingest } from "../src/delivery/ingest.ts";
import { message } from "./lib/messages.ts";
import { args, median, percentile, timeLimit } from "./lib/stats.ts";
import { benchStore } from "./lib/store.ts";

const o = args({
  count: 5000,
  size: 20480,
  concurrency: 100,
  runs: 3,
  backend: "sqlite",
  fts: true,
  blobs: "auto",
  timeLimit: 300,
});
timeLimit(o.timeLimit);

const msgs = Array.from({ length: o.count }, (_, i) => message(i, { size: o.size }));
const totalBytes = msgs.reduce((n, m) => n + m.raw.length, 0);
const rates: number[] = [];

for (let run = 0; run < o.runs; run++) {
  const b = await benchStore({ backend: o.backend, fts: o.fts, blobs: o.blobs as "auto" | "fs" | "db" });
  try {
    await b.store.createDomain("bench.test");
    const acc = await b.store.createAccount({ name: "bench1@bench.test" });
    const ingest = new Ingest({
      store: b.store,
      clock: systemClock,
      logger: silentLogger(),
      maxMessageSize: 1 << 30,
    });
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (next < msgs.length) {
        const m = msgs[next++]!;
        const s = performance.now();
        await ingest.ingest({ accountId: acc.id, raw: m.raw, source: "import", receivedAt: m.date });
        lat.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const secs = (performance.now() - t0) / 1000;
    const rate = o.count / secs;
    rates.push(rate);
    const check = await b.store.getAccount(acc.id);
    console.log(
      JSON.stringify({
        workload: "store-ingest",
        backend: o.backend,
        fts: o.fts,
        blobs: o.blobs,
        run,
        count: o.count,
        stored: check?.usedMessages,
        avg_size: Math.round(totalBytes / o.count),
        concurrency: o.concurrency,
        secs: +secs.toFixed(2),
        msgs_per_s: Math.round(rate),
        mb_per_s: +(totalBytes / secs / 1e6).toFixed(1),
        latency_ms: { p50: +percentile(lat, 50).toFixed(1), p99: +percentile(lat, 99).toFixed(1) },
      }),
    );
  } finally {
    await b.cleanup();
  }
}
console.log(
  `store-ingest ${o.backend} fts=${o.fts} blobs=${o.blobs} size=${o.size} c=${o.concurrency}: median ${Math.round(median(rates))} msgs/s over ${o.runs} runs`,
);
