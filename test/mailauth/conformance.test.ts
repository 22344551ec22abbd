// The published conformance suites of ../shared/conformance, run in-process as
// `npm run conformance -- spf|arc|dkim` runs them, with their counts asserted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { run as runArc } from "../../scripts/conformance/arc.ts";
import { run as runDkim } from "../../scripts/conformance/dkim.ts";
import { run as runSpf } from "../../scripts/conformance/spf.ts";
import { formatResult } from "../../scripts/conformance/suite.ts";
import { conformanceRoot } from "../../scripts/conformance.ts";

const root = conformanceRoot();

test("OpenSPF RFC 7208 suite: 203 of 203", async () => {
  const r = await runSpf(root);
  assert.deepEqual(r.failed, [], formatResult(r));
  assert.equal(r.passed, 203);
  assert.equal(r.skipped.length, 0);
  assert.match(formatResult(r).split("\n").at(-1) ?? "", /^spf: 203 passed, 0 failed$/);
});

test("ARC suite: validation 171, signing 17, fixtures 7; RFC 8617 disagreements listed", async () => {
  const r = await runArc(root);
  assert.deepEqual(r.failed, [], formatResult(r));
  assert.deepEqual(
    r.parts?.map((p) => /^[^:]+: \d+\/\d+/.exec(p)?.[0]),
    ["ARC validation: 171/171", "ARC signing: 17/17", "ARC fixtures (mail-auth-fixtures): 7/7"],
  );
  assert.equal(r.passed, 195);
  assert.equal(r.disagreements.length, 5);
  for (const d of r.disagreements) assert.match(d.detail, /RFC (8617|6376) §/);
});

test("DKIM fixtures of mail-auth-fixtures: every signature passes (rsa-sha256, ed25519-sha256)", async () => {
  const r = await runDkim(root);
  assert.deepEqual(r.failed, [], formatResult(r));
  assert.equal(r.passed, 7);
  assert.ok(r.parts?.some((p) => p.includes("ed25519-sha256") && p.includes("pass")));
});
