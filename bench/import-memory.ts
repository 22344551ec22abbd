// Memory of `mailroom import mbox` on a large file: generates an mbox of --size-mb MB
// (20 KB messages), imports it with the real CLI in a child process, samples the child's
// RSS from /proc every 100 ms and prints the peak. Flat memory means the peak does not
// grow with the file: compare --size-mb 100 with --size-mb 1000.
//
//   node bench/import-memory.ts [--size-mb 1000] [--time-limit 900]
import "../src/core/threadpool.ts";
import { spawn } from "node:child_process";
import { readFile, rm, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MboxWriter } from "../src/mail/formats/mbox-writer.ts";
import { message } from "./lib/messages.ts";
import { args, timeLimit } from "./lib/stats.ts";

const o = args({ sizeMb: 1000, timeLimit: 900 });
timeLimit(o.timeLimit);
const dir = await mkdtemp(join(tmpdir(), "mailroom-import-mem-"));
try {
  const file = join(dir, "big.mbox");
  const w = new MboxWriter(file);
  let bytes = 0;
  let n = 0;
  while (bytes < o.sizeMb * 1e6) {
    const m = message(n++, { size: 20480 });
    await w.write({ raw: m.raw, internalDate: m.date, flags: n % 3 ? ["\\Seen"] : [] });
    bytes += m.raw.length;
  }
  await w.close();
  const cli = join(import.meta.dirname, "..", "src", "cli", "main.ts");
  const data = join(dir, "data");
  const add = spawn(
    process.execPath,
    [cli, "account", "add", "bench1@localhost", "--password", "bench-pw", "--data", data],
    { stdio: "ignore" },
  );
  await new Promise((r) => add.on("exit", r));
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, "import", "mbox", "bench1@localhost", file, "--data", data], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  let peakKb = 0;
  const samples: number[] = [];
  const timer = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, "utf8").then(
      (s) => {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
        samples.push(kb);
        peakKb = Math.max(peakKb, kb);
      },
      () => undefined,
    );
  }, 100);
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  clearInterval(timer);
  const secs = (performance.now() - t0) / 1000;
  const q = (f: number): number =>
    samples.slice().sort((a, b) => a - b)[Math.floor(f * (samples.length - 1))] ?? 0;
  console.log(
    JSON.stringify({
      workload: "import-memory",
      exit: code,
      file_mb: Math.round(bytes / 1e6),
      messages: n,
      secs: +secs.toFixed(1),
      msgs_per_s: Math.round(n / secs),
      rss_mb: {
        peak: Math.round(peakKb / 1024),
        p50: Math.round(q(0.5) / 1024),
        first_10pct: Math.round(q(0.1) / 1024),
      },
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
