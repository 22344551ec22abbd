// Real clients against the real server: nodemailer (inbound with STARTTLS, submission on 587
// and 465), swaks from Debian (pipelining, AUTH PLAIN with an initial response, 8-bit body)
// and Python's smtplib (STARTTLS, login, SMTPUTF8 sender, DSN parameters).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import nodemailer from "nodemailer";
import { systemClock } from "../../src/core/clock.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import { PASSWORDS, startSmtp, type TestServer } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";
const SWAKS = "/usr/bin/swaks";

function run(cmd: string, args: string[], stdin = ""): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
    p.stdin.end(stdin);
  });
}

void describe("real SMTP clients", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp();
  });
  after(async () => {
    await t.stop();
  });

  const has = async (subject: string): Promise<string | undefined> =>
    (await t.inbox(t.accounts.bob)).map((m) => m.toString()).find((m) => m.includes(`Subject: ${subject}`));

  void test("nodemailer: inbound on 25 (STARTTLS), submission on 587 and 465", async () => {
    const mx = nodemailer.createTransport({
      host: "127.0.0.1",
      port: t.port("smtp"),
      name: "client.example",
      tls: { rejectUnauthorized: false },
    });
    await mx.sendMail({
      from: "someone@far.example",
      to: "bob@example.org",
      subject: "nm inbound",
      text: "héllo\n",
    });
    mx.close();
    assert.match((await has("nm inbound")) ?? "", /with ESMTPS id/);
    for (const [port, secure] of [
      [t.port("submission"), false],
      [t.port("submissions"), true],
    ] as const) {
      const sub = nodemailer.createTransport({
        host: "127.0.0.1",
        port,
        secure,
        requireTLS: !secure,
        name: "client.example",
        auth: { user: "alice@example.org", pass: PASSWORDS.alice },
        tls: { rejectUnauthorized: false },
      });
      const info = await sub.sendMail({
        from: "alice@example.org",
        to: ["bob@example.org", "ext@remote.example"],
        subject: `nm submission ${port}`,
        text: "hi",
        dsn: { id: "env1", return: "headers", notify: ["failure", "delay"], recipient: "alice@example.org" },
      });
      assert.deepEqual(info.accepted, ["bob@example.org", "ext@remote.example"]);
      await assert.rejects(
        sub.sendMail({ from: "bob@example.org", to: "bob@example.org", text: "x" }),
        /553/,
      );
      sub.close();
      assert.match((await has(`nm submission ${port}`)) ?? "", /with ESMTPSA id/);
    }
    const q = QueueStore.fromStore(t.store, systemClock);
    const queued = (await q?.list()) ?? [];
    assert.equal(queued.length, 2);
    assert.deepEqual(
      queued[0]?.recipients.map((r) => [r.address, r.notify]),
      [["ext@remote.example", ["FAILURE", "DELAY"]]],
    );
    assert.equal(queued[0]?.params.envid, "env1");
  });

  void test(
    "swaks: pipelining, AUTH PLAIN with initial response over STARTTLS, 8-bit body",
    async () => {
      const r = await run(SWAKS, [
        "--server",
        `127.0.0.1:${t.port("submission")}`,
        "--helo",
        "swaks.example",
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        PASSWORDS.alice,
        "--pipeline",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--header",
        "Subject: swaks 8bit",
        "--body",
        "gr\u00fc\u00dfe aus K\u00f6ln",
      ]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /~> AUTH PLAIN \S+/); // the initial response on the command line
      assert.match(r.out, /<~ {1,2}235 2\.7\.0/);
      assert.match((await has("swaks 8bit")) ?? "", /grüße aus Köln/);
      const bad = await run(SWAKS, [
        "--server",
        `127.0.0.1:${t.port("smtp")}`,
        "--helo",
        "swaks.example",
        "--from",
        "a@far.example",
        "--to",
        "nobody@example.org",
      ]);
      assert.match(bad.out, /550 5\.1\.1/);
    },
  );

  void test(
    "Python smtplib: STARTTLS, login, SMTPUTF8 sender, DSN parameters",
    async () => {
      const script = String.raw`
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="py.example")
s.starttls(context=ctx); s.ehlo()
s.login("alice@example.org", sys.argv[3])
s.sendmail("alice@example.org", ["bob@example.org"], b"Subject: py submission\r\n\r\nhi\r\n", rcpt_options=["NOTIFY=NEVER"])
s.quit()
m = smtplib.SMTP("127.0.0.1", int(sys.argv[2]), local_hostname="py.example")
m.sendmail("j\u00f6ran@b\u00fccher.example", ["bob@example.org"], "Subject: py utf8\r\n\r\ngr\u00fc\u00dfe\r\n".encode(), mail_options=["SMTPUTF8", "BODY=8BITMIME"])
m.quit()
print("ok")
`;
      const r = await run(PYTHON, [
        "-c",
        script,
        String(t.port("submission")),
        String(t.port("smtp")),
        PASSWORDS.alice,
      ]);
      assert.equal(r.out.trim(), "ok", r.out);
      assert.ok((await has("py submission")) !== undefined);
      const utf8 = (await has("py utf8")) ?? "";
      assert.match(utf8, /^Return-Path: <jöran@bücher\.example>\r\n/);
      assert.match(utf8, /with UTF8SMTP id/);
    },
  );

  void test(
    "GNU SASL client: SCRAM-SHA-256-PLUS (tls-exporter) and SCRAM-SHA-256 over STARTTLS, 334 steps, 235",
    async () => {
      for (const [mech, extra] of [
        ["SCRAM-SHA-256-PLUS", []],
        ["SCRAM-SHA-256", ["--no-cb"]],
      ] as const) {
        const r = await run("gsasl", [
          "--smtp",
          `--connect=127.0.0.1:${t.port("submission")}`,
          "--x509-ca-file=",
          "--hostname=localhost",
          "-a",
          "alice@example.org",
          "-m",
          mech,
          "-p",
          PASSWORDS.alice,
          ...extra,
        ]);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, new RegExp(`AUTH ${mech}\\r?\\n334 [^]*235 2\\.7\\.0`));
      }
    },
  );
});
