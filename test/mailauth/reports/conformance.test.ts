// The "reports" conformance suite run in-process: every DMARC aggregate, ARF and TLS-RPT
// fixture of ../shared/conformance/mail-auth-fixtures parses to its expected JSON.
import assert from "node:assert/strict";
import { test } from "node:test";
import { run } from "../../../scripts/conformance/reports.ts";
import { conformanceRoot } from "../../../scripts/conformance.ts";

const ROOT = conformanceRoot();

void test("reports suite: 18 passed, 0 failed, differences listed with reasons", async () => {
  const r = await run(ROOT);
  assert.deepEqual(r.failed, []);
  assert.equal(r.passed, 18);
  assert.deepEqual(r.parts, ["dmarc-feedback 10/10", "arf 5/5", "tlsrpt 3/3"]);
  assert.equal(r.disagreements.length, 4);
  for (const d of r.disagreements) assert.ok(d.detail.length > 40, d.name);
});
