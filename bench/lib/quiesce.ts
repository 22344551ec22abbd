// Waits until server processes stop using CPU: a run's background work (our search index
// catching up, a reference server's own housekeeping) must not run into the next side's
// measured run on the same cores.
import { readFile, readdir } from "node:fs/promises";

/** CPU seconds used so far by `pid` and its live descendants (all threads), from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  let total = 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(f[11]) + Number(f[12])) / 100; // utime + stime (clock ticks)
  } catch {
    return 0; // gone
  }
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const kids = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
    for (const k of kids.trim().split(/\s+/).filter(Boolean)) total += await cpuSeconds(Number(k));
  }
  return total;
}

/**
 * Resolves once the processes `pids` (comma-separated, with their descendants) use under
 * `maxShare` of one core over `windowMs`, or after `timeoutMs`. Returns the seconds waited.
 */
export async function quiesce(
  pids: string,
  opts: { windowMs?: number; maxShare?: number; timeoutMs?: number } = {},
): Promise<number> {
  const windowMs = opts.windowMs ?? 1000;
  const maxShare = opts.maxShare ?? 0.03;
  const start = Date.now();
  const list = pids
    .split(",")
    .map(Number)
    .filter((p) => p > 0);
  const sum = async (): Promise<number> =>
    (await Promise.all(list.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  let before = await sum();
  while (Date.now() - start < (opts.timeoutMs ?? 60_000)) {
    await new Promise((r) => setTimeout(r, windowMs));
    const after = await sum();
    if (after - before <= (maxShare * windowMs) / 1000) break;
    before = after;
  }
  return (Date.now() - start) / 1000;
}
