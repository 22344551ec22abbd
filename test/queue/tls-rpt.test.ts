// TLS-RPT (RFC 8460): outcomes counted per day and policy, the daily JSON report (§4.4) to the
// record's mailto: (a multipart/report message, §5.3) and https: (a gzip POST, §5.2) URIs.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import {
  httpsReportPoster,
  parseTlsRptRecord,
  TlsRptCollector,
  type TlsReport,
} from "../../src/queue/tls-rpt.ts";
import { openSqlite } from "../../src/store/backends/sqlite/driver.ts";
import { migrate } from "../../src/store/migrate.ts";
import { generateSelfSigned } from "../../src/tls/self-signed.ts";

let dir: string;
let https: Server;
let port = 0;
let cert = "";
const posted: Array<{ type: string; body: Buffer }> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailroom-tlsrpt-"));
  const pair = await generateSelfSigned("reports.example.test");
  cert = pair.cert;
  https = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posted.push({ type: String(req.headers["content-type"]), body: Buffer.concat(chunks) });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  const a = https.address();
  port = typeof a === "object" && a ? a.port : 0;
});
after(async () => {
  await new Promise((r) => https.close(r));
  await rm(dir, { recursive: true, force: true });
});

void test("the rua of a TLSRPTv1 record", () => {
  assert.deepEqual(parseTlsRptRecord([["v=TLSRPTv1; rua=mailto:a@x.test, https://r.test/tlsrpt"]]), [
    "mailto:a@x.test",
    "https://r.test/tlsrpt",
  ]);
  assert.equal(parseTlsRptRecord([["v=TLSRPTv1;"]]), null);
  assert.equal(parseTlsRptRecord([["v=TLSRPTv1; rua=mailto:a@x"], ["v=TLSRPTv1; rua=mailto:b@x"]]), null);
  assert.equal(parseTlsRptRecord([["v=spf1 -all"]]), null);
});

void test("a day's outcomes become one report per policy domain, mailed and posted, then forgotten", async () => {
  const driver = openSqlite(join(dir, "s.sqlite"));
  await migrate(driver);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 15));
  const resolver = new StaticResolver({
    "_smtp._tls.sts.test": {
      TXT: [`v=TLSRPTv1; rua=mailto:tls@sts.test,https://reports.example.test:${port}/v1`],
    },
    "reports.example.test": { A: ["127.0.0.1"] },
  });
  const mails: Array<{ to: string; message: Buffer }> = [];
  const rpt = new TlsRptCollector({
    driver,
    resolver,
    clock,
    logger: silentLogger(),
    submitter: "mx.mailroom.test",
    organization: "Mailroom Test",
    from: "tlsrpt@mailroom.test",
    sendMail: async (to, message) => {
      mails.push({ to, message });
    },
    post: httpsReportPoster({ resolver, ca: cert }),
  });
  const base = {
    policyDomain: "sts.test",
    type: "sts" as const,
    policyStrings: ["version: STSv1", "mode: enforce"],
  };
  for (let i = 0; i < 3; i++) rpt.record({ ...base, mxHost: "mx.sts.test", address: "127.0.0.5", ok: true });
  rpt.record({
    ...base,
    mxHost: "mx2.sts.test",
    address: "127.0.0.6",
    ok: false,
    failure: "certificate-expired",
    detail: "expired",
  });
  rpt.record({
    policyDomain: "quiet.test",
    type: "no-policy-found",
    policyStrings: [],
    mxHost: "mx.quiet.test",
    address: "127.0.0.7",
    ok: true,
  });
  await rpt.flush();
  rpt.record({ ...base, mxHost: "mx.sts.test", address: "127.0.0.5", ok: true });
  assert.equal(await rpt.sendReports(), 0, "the day is not over");
  clock.advance(86_400_000);
  assert.equal(await rpt.sendReports(), 1, "quiet.test publishes no record");
  assert.equal(mails.length, 1);
  assert.equal(mails[0]!.to, "tls@sts.test");
  const msg = mails[0]!.message;
  const parsed = parseMessage(msg);
  assert.equal(parsed.root.contentType.params["report-type"], "tlsrpt");
  assert.match(parsed.subject ?? "", /^Report Domain: sts\.test Submitter: mx\.mailroom\.test Report-ID: </);
  const att = parsed.root.parts?.[1];
  assert.ok(att);
  assert.equal(`${att.contentType.type}/${att.contentType.subtype}`, "application/tlsrpt+gzip");
  const json = JSON.parse(
    gunzipSync(Buffer.from(msg.subarray(att.bodyStart, att.bodyEnd).toString(), "base64")).toString(),
  ) as TlsReport;
  assert.equal(json["date-range"]["start-datetime"], "2026-11-21T00:00:00Z");
  assert.equal(json.policies.length, 1);
  const p = json.policies[0]!;
  assert.deepEqual(p.policy, {
    "policy-type": "sts",
    "policy-string": ["version: STSv1", "mode: enforce"],
    "policy-domain": "sts.test",
    "mx-host": ["mx.sts.test", "mx2.sts.test"],
  });
  assert.deepEqual(p.summary, { "total-successful-session-count": 4, "total-failure-session-count": 1 });
  assert.deepEqual(p["failure-details"], [
    {
      "result-type": "certificate-expired",
      "receiving-mx-hostname": "mx2.sts.test",
      "receiving-ip": "127.0.0.6",
      "failed-session-count": 1,
      "additional-information": "expired",
    },
  ]);
  assert.equal(posted.length, 1);
  assert.equal(posted[0]!.type, "application/tlsrpt+gzip");
  assert.deepEqual(JSON.parse(gunzipSync(posted[0]!.body).toString()), json);
  // Sent rows are gone: nothing is reported twice.
  assert.equal(await rpt.sendReports(), 0);
  await driver.close();
});
