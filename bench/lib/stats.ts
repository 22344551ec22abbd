// Small helpers for the benchmarks: medians, argument parsing, the time limit.

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** --name value flags with defaults; numbers are parsed when the default is a number. */
export function args<T extends Record<string, string | number | boolean>>(
  defaults: T,
  argv = process.argv.slice(2),
): T {
  const out: Record<string, string | number | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown flag ${a}; flags: ${Object.keys(defaults).join(", ")}`);
    if (typeof defaults[key] === "boolean") {
      const next = argv[i + 1];
      if (next === "false" || next === "true") {
        out[key] = next === "true";
        i++;
      } else out[key] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    out[key] = typeof defaults[key] === "number" ? Number(v) : v;
  }
  return out as T;
}

/** Aborts the process after `seconds`: every benchmark is bounded in time. */
export function timeLimit(seconds: number): void {
  const t = setTimeout(() => {
    process.stderr.write(`time limit of ${seconds}s reached, aborting\n`);
    process.exit(3);
  }, seconds * 1000);
  t.unref();
}
