// Outbound mail authentication end to end over loopback, with a DNS server on loopback that
// publishes each domain's MX and DKIM key records: a message submitted (nodemailer) on server A
// arrives at server B carrying A's two DKIM signatures, which verify; B's alias forwards it
// back outside to A with B's ARC set, which validates, and A's signatures still verify.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { arc, dkimVerify, type DNSResolver } from "mailauth";
import nodemailer from "nodemailer";
import { systemResolver } from "../../src/dns/resolver.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { mailauthHooks } from "../../src/protocols/smtp/server/mailauth-hooks.ts";
import type { Id, MailStore } from "../../src/store/types.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { dkimResults, freePort, loopbackLookup, makeKeys, startSubmitter } from "./dkim-helpers.ts";

let dns: TestDnsServer;
let a: TestServer;
let b: TestServer;
let lookup: DNSResolver;
let user: Id;
let back: Id;

before(async () => {
  dns = await startDnsServer({
    "a.test": { MX: [{ exchange: "mx.a.test", priority: 10 }] },
    "b.test": { MX: [{ exchange: "mx.b.test", priority: 10 }] },
    "mx.a.test": { A: ["127.0.0.1"] },
    "mx.b.test": { A: ["127.0.0.1"] },
  });
  lookup = loopbackLookup(dns);
  const resolver = systemResolver([dns.address], { timeoutMs: 1000, tries: 1 });
  const queue = { pollSeconds: 0.2, mtaSts: false, tlsReports: false };
  const aSmtp = await freePort();
  b = await startTestServer({
    prefix: "mailroom-dkim-e2e-b-",
    listeners: { smtp: {} },
    // B checks arriving mail as `mailroom serve` does: its results go into the AAR.
    protocols: { smtp: smtpProtocol("smtp", (ctx) => ({ hooks: [mailauthHooks(ctx)] })) },
    outbound: true,
    resolver,
    // A sends from loopback, which mailauth does not check by default (skipNetworks).
    config: { queue: { ...queue, mxPort: aSmtp }, mailauth: { skipNetworks: [] } },
  });
  await b.store.createDomain("b.test");
  user = (await b.store.createAccount({ name: "user@b.test" })).id;
  await b.store.setAlias({ address: "fwd@b.test", targets: ["back@a.test"] });
  await makeKeys(dns, b.store, "b.test");
  a = await startSubmitter({
    prefix: "mailroom-dkim-e2e-a-",
    dns,
    resolver,
    queue,
    mxPort: b.port("smtp"),
    smtpPort: aSmtp,
  });
  back = (await a.store.createAccount({ name: "back@a.test" })).id;
});
after(async () => {
  await a.stop();
  await b.stop();
  await dns.close();
});

async function waitFor(store: MailStore, account: Id): Promise<Buffer> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const box = await store.getMailboxByPath(account, "INBOX");
    assert.ok(box);
    const [row] = await store.listMessages(account, box.id);
    if (row !== undefined) return (await store.getRaw(account, row.emailId))!;
    if (Date.now() > deadline) assert.fail("the message did not arrive");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(to: string, subject: string): Promise<void> {
  const options = { host: "127.0.0.1", port: a.port("submission"), secure: false, ignoreTLS: true };
  const transport = nodemailer.createTransport({
    ...options,
    auth: { user: "sender@a.test", pass: "secret-pw" },
  });
  const text = "Signed on the way out.\n\n-- \nSender\n";
  await transport
    .sendMail({ from: "Sender <sender@a.test>", to, subject, text })
    .finally(() => transport.close());
}

void test("mail submitted on A arrives at B with both of A's DKIM signatures, which verify", async () => {
  await send("user@b.test", "signed across");
  const got = await waitFor(b.store, user);
  assert.match(got.toString(), /Subject: signed across/);
  assert.equal(got.toString().match(/^DKIM-Signature:/gm)?.length, 2);
  assert.deepEqual(await dkimResults(got, lookup), ["a.test ed25519-sha256 pass", "a.test rsa-sha256 pass"]);
});

void test("B's alias forwards the message back outside with B's ARC seal, which validates", async () => {
  await send("fwd@b.test", "forwarded across");
  const got = await waitFor(a.store, back);
  const text = got.toString();
  assert.match(text, /Subject: forwarded across/);
  assert.match(text, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none;\s+d=b\.test;/m);
  assert.match(text, /^ARC-Authentication-Results: i=1; localhost;[^]*dkim=pass[^]*header\.d=a\.test/m);
  // A's signatures survive the forward; B did not sign it (it was not submitted there).
  assert.deepEqual(await dkimResults(got, lookup), ["a.test ed25519-sha256 pass", "a.test rsa-sha256 pass"]);
  const d = await dkimVerify(got, { resolver: lookup });
  const chain = await arc((d as { arc?: Parameters<typeof arc>[0] }).arc ?? { chain: [] }, {
    resolver: lookup,
  });
  assert.equal(chain.status.result, "pass");
  assert.equal(chain.i, 1);
});
