// DMARC aggregate reports (RFC 7489 §7.2): evaluations recorded and counted per day and
// policy domain, the daily report built from them (Appendix C XML, parsed back), sent
// through the outbound queue to the rua URIs that qualify (§7.1 external verification,
// §6.2 "!size" limits), on SQLite and PostgreSQL.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { ManualClock } from "../../../src/core/clock.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { StaticResolver } from "../../../src/dns/resolver.ts";
import { decodePartBody, parseMessage } from "../../../src/mail/parse.ts";
import { DmarcAggregateReporter } from "../../../src/mailauth/reports/aggregate-send.ts";
import { parseAggregateReport } from "../../../src/mailauth/reports/aggregate-parse.ts";
import { DmarcRecorder, type DmarcEvaluationRow } from "../../../src/mailauth/reports/recorder.ts";
import { randomSchemaName } from "../../../src/store/backends/postgres/driver.ts";
import type { MaintainedMailStore } from "../../../src/store/mail-store.ts";
import { openStore } from "../../../src/store/open.ts";
import type { SqlDriver } from "../../../src/store/sql.ts";
import { localParts, queueFixture } from "../../queue/helpers.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const T0 = Date.UTC(2026, 0, 10, 12);

const EVAL: DmarcEvaluationRow = {
  sourceIp: "192.0.2.7",
  headerFrom: "example.org",
  envelopeFrom: "bounce.example.org",
  envelopeTo: "local.test",
  policyDomain: "example.org",
  policy: { p: "quarantine", pct: 100, adkim: "r", aspf: "r" },
  disposition: "quarantine",
  dkimAligned: "fail",
  spfAligned: "fail",
  dkim: [{ domain: "example.org", selector: "s1", result: "fail", humanResult: "body hash <mismatch> & co" }],
  spf: { domain: "bounce.example.org", scope: "mfrom", result: "softfail" },
};

function resolver(): StaticResolver {
  return new StaticResolver({
    "_dmarc.example.org": {
      TXT: [
        "v=DMARC1; p=quarantine; rua=mailto:agg@example.org,mailto:ext@reports.test,mailto:tiny@example.org!1k,mailto:nope@other.test",
      ],
    },
    "example.org._report._dmarc.reports.test": { TXT: ["v=DMARC1"] },
    "_dmarc.quiet.test": { TXT: ["v=DMARC1; p=none"] },
  });
}

async function suite(store: MaintainedMailStore, clock: ManualClock): Promise<void> {
  const driver = (store as unknown as { driver: SqlDriver }).driver;
  const recorder = new DmarcRecorder({ driver, clock, logger: silentLogger() });
  for (let i = 0; i < 3; i++) recorder.recordDmarcEvaluation(EVAL);
  recorder.recordDmarcEvaluation({
    ...EVAL,
    sourceIp: "2001:db8::25",
    disposition: "none",
    dkimAligned: "pass",
    reasons: [{ type: "local_policy", comment: "allow-listed" }],
    dkim: [{ domain: "example.org", selector: "s1", result: "pass" }],
  });
  recorder.recordDmarcEvaluation({ ...EVAL, policyDomain: "quiet.test", headerFrom: "quiet.test" });
  recorder.recordDmarcEvaluation({ ...EVAL, policyDomain: "none.test", rua: [] });
  await recorder.flush();
  recorder.recordDmarcEvaluation(EVAL); // a fourth, written in a second transaction
  await recorder.flush();
  const stored = await driver.all<{ policy_domain: string; count: number }>(
    "SELECT policy_domain, count FROM dmarc_records ORDER BY policy_domain, count",
  );
  assert.deepEqual(
    stored.map((r) => [r.policy_domain, Number(r.count)]),
    [
      ["example.org", 1],
      ["example.org", 4],
      ["quiet.test", 1],
    ],
  );

  const { queue, returnMail } = localParts(store, clock);
  const reporter = new DmarcAggregateReporter({
    driver,
    resolver: resolver(),
    clock,
    logger: silentLogger(),
    organization: "Mailroom Test",
    submitter: "mx.local.test",
    from: "noreply-dmarc@mx.local.test",
    sendMail: returnMail,
  });
  assert.equal(await reporter.sendReports(), 0, "the day is not over");
  clock.advance(86_400_000);
  assert.equal(await reporter.sendReports(), 2, "agg@ (same domain) and ext@ (verified, §7.1)");
  const queued = await queue.list();
  assert.deepEqual(
    queued
      .map((m) => m.recipients.map((r) => r.address))
      .flat()
      .sort(),
    ["agg@example.org", "ext@reports.test"],
  );
  for (const m of queued) {
    assert.equal(m.from, "", "reports go with the null reverse path");
    const raw = await queue.message(m);
    assert.ok(raw);
    const parsed = parseMessage(raw);
    assert.match(
      parsed.subject ?? "",
      /^Report Domain: example\.org Submitter: mx\.local\.test Report-ID: <20260110\.[0-9a-f]{16}@mx\.local\.test>$/,
    );
    const att = parsed.root.parts?.[1];
    assert.ok(att);
    assert.equal(`${att.contentType.type}/${att.contentType.subtype}`, "application/gzip");
    const begin = Date.UTC(2026, 0, 10) / 1000;
    assert.equal(
      att.disposition?.params.filename,
      `mx.local.test!example.org!${begin}!${begin + 86399}.xml.gz`,
    );
    const report = parseAggregateReport(gunzipSync(decodePartBody(raw, att)));
    assert.equal(report.report_metadata.org_name, "Mailroom Test");
    assert.equal(report.report_metadata.email, "noreply-dmarc@mx.local.test");
    assert.deepEqual(report.report_metadata.date_range, { begin, end: begin + 86399 });
    assert.deepEqual(report.policy_published, {
      domain: "example.org",
      adkim: "r",
      aspf: "r",
      p: "quarantine",
      sp: "quarantine",
      np: null,
      pct: 100,
      fo: "0",
      testing: null,
      discovery_method: null,
    });
    assert.equal(report.record.length, 2);
    const [v4, v6] = [...report.record].sort((a, b) => a.row.source_ip.localeCompare(b.row.source_ip));
    assert.deepEqual(v4, {
      row: {
        source_ip: "192.0.2.7",
        count: 4,
        policy_evaluated: { disposition: "quarantine", dkim: "fail", spf: "fail", reason: [] },
      },
      identifiers: {
        envelope_to: "local.test",
        envelope_from: "bounce.example.org",
        header_from: "example.org",
      },
      auth_results: {
        dkim: [
          {
            domain: "example.org",
            selector: "s1",
            result: "fail",
            human_result: "body hash <mismatch> & co",
          },
        ],
        spf: [{ domain: "bounce.example.org", scope: "mfrom", result: "softfail", human_result: null }],
      },
      extensions: [],
    });
    assert.deepEqual(v6?.row.policy_evaluated.reason, [{ type: "local_policy", comment: "allow-listed" }]);
    assert.equal(v6?.row.count, 1);
  }
  const left = await driver.all("SELECT * FROM dmarc_records");
  assert.equal(left.length, 0, "sent and unwanted rows are deleted");
  assert.equal(await reporter.sendReports(), 0);
}

describe("DMARC aggregate reports", () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  void test("SQLite", async () => {
    const f = await queueFixture("mailroom-dmarc-agg-", T0);
    cleanups.push(() => f.cleanup());
    await suite(f.store, new ManualClock(T0));
  });
  void test("PostgreSQL", async () => {
    const clock = new ManualClock(T0);
    const store = await openStore({
      backend: "postgres",
      postgresUrl: PG_URL,
      postgresSchema: randomSchemaName("dmarc"),
      blobs: "db",
      clock,
      logger: silentLogger(),
    });
    cleanups.push(() => store.close());
    await store.createDomain("local.test");
    await suite(store, clock);
  });
});
