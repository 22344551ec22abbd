// Writes docs/config.md and docs/mailroom.example.toml from the configuration schema.
//   node scripts/gen-config-docs.ts          regenerate both files
//   node scripts/gen-config-docs.ts --check  exit 1 when either is out of date (CI)
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderExample, renderReference } from "../src/config/docs.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files: [string, string][] = [
  [join(root, "docs", "config.md"), renderReference()],
  [join(root, "docs", "mailroom.example.toml"), renderExample()],
];

const check = process.argv.includes("--check");
let stale = 0;
for (const [path, text] of files) {
  if (check) {
    const current = await readFile(path, "utf8").catch(() => "");
    if (current !== text) {
      stale++;
      console.error(`${path} is out of date: run node scripts/gen-config-docs.ts`);
    }
  } else {
    await writeFile(path, text);
    console.log(`wrote ${path}`);
  }
}
if (stale > 0) process.exitCode = 1;
