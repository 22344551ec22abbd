// Two Mailroom servers on loopback: mail submitted on one travels through its queue, MX
// routing (a DNS server on loopback), our SMTP client and STARTTLS into a mailbox of the
// other; a recipient the other refuses comes back to the sender as a DSN.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { systemResolver } from "../../src/dns/resolver.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { policyText } from "../../src/http/mta-sts.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { Id, MailStore } from "../../src/store/types.ts";

let dns: TestDnsServer;
let a: TestServer;
let b: TestServer;
let sender: Id;
let rcpt: Id;

before(async () => {
  dns = await startDnsServer({
    "b.test": { MX: [{ exchange: "mx.b.test", priority: 10 }] },
    "mx.b.test": { A: ["127.0.0.1"] },
  });
  b = await startTestServer({
    prefix: "mailroom-e2e-b-",
    listeners: { smtp: {} },
    protocols: { smtp: smtpProtocol("smtp") },
  });
  await b.store.createDomain("b.test");
  rcpt = (await b.store.createAccount({ name: "user@b.test" })).id;
  a = await startTestServer({
    prefix: "mailroom-e2e-a-",
    listeners: { submission: { allowPlaintextAuth: true } },
    protocols: { submission: smtpProtocol("submission") },
    outbound: true,
    resolver: systemResolver([dns.address], { timeoutMs: 1000, tries: 1 }),
    config: { queue: { mxPort: b.port("smtp"), pollSeconds: 0.2, mtaSts: false, tlsReports: false } },
  });
  await a.store.createDomain("a.test");
  sender = (await a.addAccount("sender@a.test", "secret-pw")).id;
});
after(async () => {
  await a.stop();
  await b.stop();
  await dns.close();
});

async function waitFor(store: MailStore, account: Id, n: number): Promise<Buffer[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const box = await store.getMailboxByPath(account, "INBOX");
    assert.ok(box);
    const rows = await store.listMessages(account, box.id);
    if (rows.length >= n) {
      const out: Buffer[] = [];
      for (const r of rows) out.push((await store.getRaw(account, r.emailId))!);
      return out;
    }
    if (Date.now() > deadline) assert.fail(`only ${rows.length} of ${n} messages arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

void test("a message submitted on one server arrives in a mailbox of the other; a refusal comes back as a DSN", async () => {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: a.port("submission"),
    secure: false,
    ignoreTLS: true,
    auth: { user: "sender@a.test", pass: "secret-pw" },
  });
  try {
    await transport.sendMail({
      from: "sender@a.test",
      to: "user@b.test, nobody@b.test",
      subject: "across",
      text: "over the queue\n.leading dot line\n",
    });
  } finally {
    transport.close();
  }
  const [got] = await waitFor(b.store, rcpt, 1);
  const text = got!.toString();
  assert.match(text, /Subject: across/);
  assert.match(text, /\r\n\.leading dot line\r\n/);
  // B's trace shows the session came over TLS (opportunistic STARTTLS).
  assert.match(text, /Received: from [^\r\n]*(\r\n\s[^\r\n]*)*ESMTPS/);
  const [dsn] = await waitFor(a.store, sender, 1);
  const d = dsn!.toString();
  assert.match(d, /Subject: Undelivered Mail Returned to Sender/);
  assert.match(d, /Final-Recipient: rfc822;nobody@b\.test\r\nAction: failed\r\nStatus: 5\.1\.1/);
  assert.match(d, /Remote-MTA: dns; mx\.b\.test/);
  assert.doesNotMatch(d, /Final-Recipient: rfc822;user@b\.test/);
});

void test("the MTA-STS policy we publish", () => {
  const cfg = defaultConfig();
  assert.equal(
    policyText({ ...cfg, server: { ...cfg.server, hostname: "mx.a.test" } }),
    "version: STSv1\r\nmode: testing\r\nmx: mx.a.test\r\nmax_age: 604800\r\n",
  );
});
