// DMARC failure reports (RFC 7489 §7.3): the fo tag decides (§6.3), the report is an ARF
// auth-failure report (RFC 6591, RFC 5965) that our own ARF parser reads back, external ruf
// destinations need §7.1 verification, and the hourly limit holds.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { StaticResolver } from "../../../src/dns/resolver.ts";
import { parseMessage } from "../../../src/mail/parse.ts";
import { parseArfMessage } from "../../../src/mailauth/reports/arf-parse.ts";
import { DmarcFailureReporter, failureWanted } from "../../../src/mailauth/reports/failure-send.ts";
import type { DmarcEvaluationRow } from "../../../src/mailauth/reports/recorder.ts";
import { openSqlite } from "../../../src/store/backends/sqlite/driver.ts";
import { migrate } from "../../../src/store/migrate.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const EVAL: DmarcEvaluationRow = {
  sourceIp: "198.51.100.9",
  headerFrom: "example.org",
  envelopeFrom: "example.org",
  envelopeTo: "local.test",
  policyDomain: "example.org",
  policy: { p: "reject", pct: 100, adkim: "s", aspf: "r", fo: "1" },
  ruf: ["mailto:ruf@example.org", "mailto:ruf@unverified.test", "mailto:small@example.org!100"],
  disposition: "reject",
  dkimAligned: "fail",
  spfAligned: "pass",
  dkim: [{ domain: "example.org", selector: "sel", result: "fail" }],
  spf: { domain: "example.org", scope: "mfrom", result: "pass" },
  message: Buffer.from(
    "From: Spoof <ceo@example.org>\r\nTo: a@local.test\r\nSubject: pay now\r\n\r\nsecret body\r\n",
  ),
  arrivedAt: Date.UTC(2026, 2, 1, 8, 30),
};

void test("fo decides which failures are reported (RFC 7489 §6.3)", () => {
  const both = { ...EVAL, dkimAligned: "fail" as const, spfAligned: "fail" as const };
  assert.equal(failureWanted({ ...EVAL, policy: { ...EVAL.policy, fo: "0" } }), false, "SPF aligned");
  assert.equal(failureWanted({ ...both, policy: { ...EVAL.policy, fo: "0" } }), true);
  assert.equal(
    failureWanted({ ...both, policy: { ...EVAL.policy, fo: undefined } }),
    true,
    "fo defaults to 0",
  );
  assert.equal(failureWanted(EVAL), true, "fo=1: any mechanism without an aligned pass");
  assert.equal(failureWanted({ ...EVAL, policy: { ...EVAL.policy, fo: "d" } }), true, "a DKIM failure");
  assert.equal(failureWanted({ ...EVAL, policy: { ...EVAL.policy, fo: "s" } }), false, "SPF passed");
  assert.equal(failureWanted({ ...EVAL, dkimAligned: "pass" }), false, "DMARC passed");
});

void test("an auth-failure ARF report to verified ruf URIs, rate limited", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-ruf-"));
  dirs.push(dir);
  const driver = openSqlite(join(dir, "s.sqlite"));
  await migrate(driver);
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
  const sent: Array<{ to: string; message: Buffer }> = [];
  const reporter = new DmarcFailureReporter({
    driver,
    resolver: new StaticResolver({}),
    clock,
    logger: silentLogger(),
    reportingMta: "mx.local.test",
    from: "noreply-dmarc@mx.local.test",
    perHour: 2,
    sendMail: async (to, message) => {
      sent.push({ to, message });
    },
  });
  assert.equal(await reporter.report(EVAL), 1, "ruf@example.org only: unverified and too small are skipped");
  assert.equal(sent[0]?.to, "ruf@example.org");
  const raw = sent[0].message;
  const parsed = parseMessage(raw);
  assert.equal(parsed.root.contentType.params["report-type"], "feedback-report");
  const arf = parseArfMessage(raw);
  assert.equal(arf.feedback_type, "auth-failure");
  assert.equal(arf.version, 1);
  assert.equal(arf.auth_failure, "dmarc");
  assert.equal(arf.source_ip, "198.51.100.9");
  assert.equal(arf.reporting_mta, "mx.local.test");
  assert.deepEqual(arf.reported_domain, ["example.org"]);
  assert.deepEqual(arf.authentication_results, ["mx.local.test; dmarc=fail header.from=example.org"]);
  assert.equal(arf.identity_alignment, "spf");
  assert.equal(arf.delivery_result, "reject");
  assert.equal(arf.dkim_domain, "example.org");
  assert.equal(arf.dkim_selector, "sel");
  assert.equal(arf.arrival_date, Date.UTC(2026, 2, 1, 8, 30));
  assert.equal(arf.headers, "From: Spoof <ceo@example.org>\nTo: a@local.test\nSubject: pay now\n");
  assert.ok(!raw.toString().includes("secret body"), "the body is not returned");

  assert.equal(await reporter.report(EVAL), 1);
  assert.equal(await reporter.report(EVAL), 0, "2 per hour");
  assert.equal(
    await reporter.report({ ...EVAL, policyDomain: "other.example", ruf: ["mailto:r@other.example"] }),
    1,
  );
  clock.advance(3_600_000);
  assert.equal(await reporter.report(EVAL), 1, "a new hour");
  assert.equal(await reporter.report({ ...EVAL, ruf: [] }), 0);
  await driver.close();
});

void test("an external ruf destination that agreed (RFC 7489 §7.1) gets reports", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-ruf-"));
  dirs.push(dir);
  const driver = openSqlite(join(dir, "s.sqlite"));
  await migrate(driver);
  const sent: string[] = [];
  const reporter = new DmarcFailureReporter({
    driver,
    resolver: new StaticResolver({ "example.org._report._dmarc.unverified.test": { TXT: ["v=DMARC1;"] } }),
    clock: new ManualClock(Date.UTC(2026, 2, 1, 9)),
    logger: silentLogger(),
    reportingMta: "mx.local.test",
    from: "noreply-dmarc@mx.local.test",
    perHour: 10,
    sendMail: async (to) => {
      sent.push(to);
    },
  });
  assert.equal(await reporter.report(EVAL), 2);
  assert.deepEqual(sent, ["ruf@example.org", "ruf@unverified.test"]);
  await driver.close();
});
