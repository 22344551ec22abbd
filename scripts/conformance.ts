// npm run conformance -- [spf|arc|dkim|reports ...]: runs the published conformance suites
// of ../shared/conformance/ (MAILROOM_CONFORMANCE overrides the folder) against Mailroom's
// own code. Each suite is scripts/conformance/<suite>.ts exporting run(root) (suite.ts has
// the shape); each prints its cases that failed, were skipped, or where the RFC is followed
// over the suite, and closes with `N passed, M failed`. Without arguments every suite runs.
// The exit status is 1 when a case failed.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SuiteModule } from "./conformance/suite.ts";
import { formatResult } from "./conformance/suite.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** The suites and their modules; `reports` belongs to the DMARC/TLS-RPT reports code. */
const SUITES: Record<string, string> = {
  spf: "conformance/spf.ts",
  arc: "conformance/arc.ts",
  dkim: "conformance/dkim.ts",
  reports: "conformance/reports.ts",
};

/**
 * The folder of the published suites: MAILROOM_CONFORMANCE, else `shared/conformance` beside
 * the project (../shared/conformance) or beside one of its parent folders, the first found.
 * Throws with what to do when there is none: the suites are data we do not copy in.
 */
export function conformanceRoot(): string {
  const env = process.env.MAILROOM_CONFORMANCE;
  if (env !== undefined) return env;
  for (let dir = resolve(here, ".."); ; dir = dirname(dir)) {
    const candidate = resolve(dir, "..", "shared", "conformance");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    "the published conformance suites were not found: put them at ../shared/conformance or set MAILROOM_CONFORMANCE",
  );
}

async function main(argv: string[]): Promise<number> {
  const asked = argv.filter((a) => a !== "--");
  const unknown = asked.filter((a) => !(a in SUITES));
  if (unknown.length > 0) {
    console.error(`unknown suite ${unknown.join(", ")}; known: ${Object.keys(SUITES).join(", ")}`);
    return 2;
  }
  const names = asked.length > 0 ? asked : Object.keys(SUITES);
  const root = conformanceRoot();
  let failed = 0;
  for (const name of names) {
    const file = join(here, SUITES[name] as string);
    if (!existsSync(file)) {
      console.log(`== ${name}\n${name}: not available (${SUITES[name]} is missing)`);
      if (asked.includes(name)) failed++;
      continue;
    }
    const mod = (await import(file)) as SuiteModule;
    const r = await mod.run(root);
    console.log(formatResult(r));
    failed += r.failed.length;
  }
  return failed > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
