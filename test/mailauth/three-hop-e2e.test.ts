// Mail authentication across three Mailroom instances on loopback, with one DNS server on
// loopback publishing every domain's MX, SPF, DKIM and DMARC records: A submits (nodemailer)
// and signs; B receives over SMTP and its Authentication-Results show SPF, both DKIM
// signatures and DMARC passing; B's alias forwards a second message to C with B's ARC set,
// and C's Authentication-Results show the ARC chain passing beside A's signatures and DMARC.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { systemResolver } from "../../src/dns/resolver.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { mailauthHooks } from "../../src/protocols/smtp/server/mailauth-hooks.ts";
import type { Id, MailStore } from "../../src/store/types.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { freePort, makeKeys, startSubmitter } from "./dkim-helpers.ts";

let dns: TestDnsServer;
let a: TestServer;
let b: TestServer;
let c: TestServer;
let atB: Id;
let atC: Id;

before(async () => {
  const spf = { TXT: ["v=spf1 ip4:127.0.0.1 -all"] };
  dns = await startDnsServer({
    "a.test": { MX: [{ exchange: "mx.a.test", priority: 10 }], ...spf },
    "b.test": { MX: [{ exchange: "mx.b.test", priority: 10 }], ...spf },
    "c.test": { MX: [{ exchange: "mx.c.test", priority: 10 }], ...spf },
    "mx.a.test": { A: ["127.0.0.1"], ...spf },
    "mx.b.test": { A: ["127.0.0.1"], ...spf },
    "mx.c.test": { A: ["127.0.0.1"], ...spf },
    "_dmarc.a.test": { TXT: ["v=DMARC1; p=reject"] },
    "127.0.0.1": { PTR: ["mx.a.test"] },
  });
  const resolver = systemResolver([dns.address], { timeoutMs: 1000, tries: 1 });
  const queue = { pollSeconds: 0.2, mtaSts: false, tlsReports: false };
  // Every instance sends from loopback, which mailauth skips unless told otherwise.
  const checking = (authservId: string) => ({ authservId, skipNetworks: [] });
  const inbound = smtpProtocol("smtp", (ctx) => ({ hooks: [mailauthHooks(ctx)] }));
  c = await startTestServer({
    prefix: "mailroom-3hop-c-",
    listeners: { smtp: {} },
    protocols: { smtp: inbound },
    resolver,
    config: { mailauth: checking("mx.c.test") },
  });
  await c.store.createDomain("c.test");
  atC = (await c.store.createAccount({ name: "user@c.test" })).id;
  b = await startTestServer({
    prefix: "mailroom-3hop-b-",
    listeners: { smtp: {} },
    protocols: { smtp: inbound },
    outbound: true,
    resolver,
    config: { queue: { ...queue, mxPort: c.port("smtp") }, mailauth: checking("mx.b.test") },
  });
  await b.store.createDomain("b.test");
  atB = (await b.store.createAccount({ name: "user@b.test" })).id;
  await b.store.setAlias({ address: "fwd@b.test", targets: ["user@c.test"] });
  await makeKeys(dns, b.store, "b.test");
  a = await startSubmitter({
    prefix: "mailroom-3hop-a-",
    dns,
    resolver,
    queue,
    mxPort: b.port("smtp"),
    smtpPort: await freePort(),
  });
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await c?.stop();
  await dns?.close();
});

async function waitFor(store: MailStore, account: Id, subject: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const box = await store.getMailboxByPath(account, "INBOX");
    assert.ok(box);
    for (const row of await store.listMessages(account, box.id)) {
      const raw = (await store.getRaw(account, row.emailId))!.toString();
      if (raw.includes(`Subject: ${subject}`)) return raw;
    }
    if (Date.now() > deadline) assert.fail(`"${subject}" did not arrive`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(to: string, subject: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: a.port("submission"),
    secure: false,
    ignoreTLS: true,
    auth: { user: "sender@a.test", pass: "secret-pw" },
  });
  await transport
    .sendMail({ from: "Sender <sender@a.test>", to, subject, text: "Across three servers.\n" })
    .finally(() => transport.close());
}

/** The value of our Authentication-Results field (unfolded). */
function authResults(raw: string, authservId: string): string {
  const head = raw.slice(0, raw.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
  const line = head.split("\r\n").find((l) => l.startsWith(`Authentication-Results: ${authservId};`));
  assert.ok(line, `no Authentication-Results of ${authservId}`);
  return line;
}

void test("A to B: SPF, both DKIM signatures and DMARC pass", async () => {
  await send("user@b.test", "direct hop");
  const ar = authResults(await waitFor(b.store, atB, "direct hop"), "mx.b.test");
  assert.match(ar, /spf=pass .*smtp\.mailfrom=sender@a\.test/);
  assert.match(ar, /dkim=pass [^;]*header\.d=a\.test[^;]*header\.a=rsa-sha256/);
  assert.match(ar, /dkim=pass [^;]*header\.d=a\.test[^;]*header\.a=ed25519-sha256/);
  assert.match(ar, /dmarc=pass [^;]*header\.from=a\.test/);
});

void test("A to B's alias to C: B seals, and C finds the ARC chain, A's signatures and DMARC passing", async () => {
  await send("fwd@b.test", "forwarded hop");
  const raw = await waitFor(c.store, atC, "forwarded hop");
  assert.match(raw, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none;\s+d=b\.test;/m);
  assert.match(raw, /^ARC-Authentication-Results: i=1; mx\.b\.test;[^]*?dmarc=pass/m);
  const ar = authResults(raw, "mx.c.test");
  assert.match(ar, /arc=pass/);
  assert.match(ar, /dkim=pass [^;]*header\.d=a\.test/);
  assert.match(ar, /dmarc=pass [^;]*header\.from=a\.test/);
  // B's own Authentication-Results stay (they are not ours at C); none claims C's id twice.
  assert.equal(raw.match(/^Authentication-Results: mx\.c\.test;/gm)?.length, 1);
});
