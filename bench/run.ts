// `npm run bench`: the store benchmarks of the foundation, bounded in time. Protocol
// benchmarks against Dovecot and Postfix join as the protocol servers land.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const node = process.execPath;
const steps: string[][] = [
  ["ingest.ts", "--count", "5000", "--fts", "false", "--runs", "3"],
  ["ingest.ts", "--count", "5000", "--fts", "true", "--runs", "3"],
  ["ingest.ts", "--count", "2000", "--fts", "true", "--runs", "3", "--backend", "postgres"],
  ["search.ts", "--messages", "100000"],
];
let failed = 0;
for (const [script, ...rest] of steps) {
  const r = spawnSync(node, [join(import.meta.dirname, script!), ...rest], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
