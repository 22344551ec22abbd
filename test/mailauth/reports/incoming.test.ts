// Incoming reports over a real SMTP delivery: DMARC aggregate reports (gzip and zip
// attachments, RFC 7489 §7.2.1.1), a TLS-RPT report (RFC 8460 §5.3) and an ARF failure
// report (RFC 6591) sent with nodemailer to the report addresses of a Mailroom listener are
// kept in the mailbox AND read into the store, once each; `mailroom reports list|show`
// prints them.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { smtpProtocol } from "../../../src/protocols/smtp/index.ts";
import { ReceivedReports } from "../../../src/mailauth/reports/received.ts";
import type { SqlDriver } from "../../../src/store/sql.ts";
import { runCli } from "../../helpers/cli.ts";
import { message, startTestServer, type TestServer } from "../../helpers/server.ts";
import { conformanceRoot } from "../../../scripts/conformance.ts";

const FIXTURES = join(conformanceRoot(), "mail-auth-fixtures", "stalwart");

let t: TestServer;
let reports: ReceivedReports;

before(async () => {
  t = await startTestServer({
    prefix: "mailroom-reports-in-",
    listeners: { smtp: {} },
    protocols: { smtp: smtpProtocol("smtp") },
  });
  await t.store.createDomain("local.test");
  await t.addAccount("postmaster@local.test", "pw");
  await t.store.setAlias({ address: "dmarc-reports@local.test", targets: ["postmaster@local.test"] });
  await t.store.setAlias({ address: "tls-reports@local.test", targets: ["postmaster@local.test"] });
  reports = new ReceivedReports((t.store as unknown as { driver: SqlDriver }).driver);
});
after(async () => {
  await t.stop();
});

async function send(to: string, raw: Buffer | string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: t.port("smtp"),
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({ envelope: { from: "reporter@remote.test", to: [to] }, raw });
  } finally {
    transport.close();
  }
}

async function waitFor(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await reports.list()).length >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`fewer than ${n} reports kept`);
}

void test("reports sent to the report addresses are kept in the mailbox and in the store, once", async () => {
  const gz = await readFile(join(FIXTURES, "dmarc-feedback", "101.eml"));
  await send("dmarc-reports@local.test", gz);
  await send("DMARC-Reports@local.test", gz); // the same report again: kept once
  await send("dmarc-reports@local.test", await readFile(join(FIXTURES, "dmarc-feedback", "100.eml")));
  await send("tls-reports@local.test", await readFile(join(FIXTURES, "tlsrpt", "rpt01.eml")));
  await send("dmarc-reports@local.test", await readFile(join(FIXTURES, "arf", "005.eml")));
  await send("dmarc-reports@local.test", message("not a report"));
  await send("postmaster@local.test", gz); // not a report address: not read
  await waitFor(4);
  await new Promise((r) => setTimeout(r, 100));
  const list = await reports.list();
  assert.deepEqual(list.map((r) => r.kind).sort(), ["arf", "dmarc", "dmarc", "tlsrpt"]);
  const dmarc = list.filter((r) => r.kind === "dmarc").sort((a, b) => a.orgName.localeCompare(b.orgName));
  assert.deepEqual(
    dmarc.map((r) => [r.orgName, r.reportId, r.domain, r.summary.total]),
    [
      ['"backschues.NET', "stalw.art.1667948400.1668034800", "stalw.art", 1],
      ["google.com", "5264580628977113351", "stalw.art", 1],
    ],
  );
  const tls = list.find((r) => r.kind === "tlsrpt");
  assert.deepEqual(tls?.summary, { total: 5629, failed: 303 });
  assert.equal(tls?.domain, "company-y.example");
  const arf = list.find((r) => r.kind === "arf");
  assert.equal(arf?.domain, "a.sender.example");

  // Every message is in the mailbox too, reports or not.
  const box = (
    await t.store.listMailboxes((await t.store.getAccountByName("postmaster@local.test"))!.id)
  ).find((b) => b.role === "inbox");
  assert.equal(box?.totalEmails, 7);

  // The CLI reads the same store.
  const cfg = join(t.dir, "mailroom.toml");
  await writeFile(cfg, `[store]\npath = ${JSON.stringify(join(t.dir, "mail.db"))}\n`);
  const out = await runCli(["reports", "list", "--data", t.dir]);
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split("\n");
  assert.match(lines[0] ?? "", /^ID\s+KIND\s+DOMAIN\s+FROM\s+PERIOD\s+TOTAL\s+FAILED\s+REPORT-ID$/);
  assert.equal(lines.length, 5);
  assert.match(
    out.stdout,
    /tlsrpt\s+company-y\.example\s+Company-X\s+2016-04-01\.\.2016-04-01\s+5629\s+303\s+5065427c/,
  );
  const only = await runCli(["reports", "list", "--kind", "dmarc", "--data", t.dir]);
  assert.equal(only.stdout.trim().split("\n").length, 3);
  const id = dmarc.find((r) => r.orgName === "google.com")?.id ?? "";
  const show = await runCli(["reports", "show", id, "--data", t.dir]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /kind:\s+dmarc/);
  assert.match(show.stdout, /from:\s+google\.com/);
  assert.match(show.stdout, /policy:\s+p=none sp=none pct=100 adkim=r aspf=r/);
  assert.match(show.stdout, /2a01:4f9:c011:b43c::1 x1 from=stalw\.art disposition=none dkim=pass spf=pass/);
  assert.match(show.stdout, /auth: dkim stalw\.art\/velikisrpan22=pass; spf stalw\.art=pass/);
  const json = await runCli(["reports", "show", id, "--json", "--data", t.dir]);
  assert.equal(
    (JSON.parse(json.stdout) as { report_metadata: { org_name: string } }).report_metadata.org_name,
    "google.com",
  );
  const missing = await runCli(["reports", "show", "nope", "--data", t.dir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no report nope/);
});
