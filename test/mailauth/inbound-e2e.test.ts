// Inbound mail authentication end to end over loopback: a Mailroom MTA listener with the
// mailauth hooks, a DNS server on loopback (reached through the real resolver) publishing
// each sender domain's SPF, DKIM and DMARC records, and nodemailer as the sending MTA.
// A signed message from a domain that passes gets one Authentication-Results with our
// authserv-id (forged ones removed) and Received-SPF; a spoofed p=reject domain is refused
// with 550 5.7.1; p=quarantine lands in Junk; a DNSBL listing refuses RCPT.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import { dkimSign } from "mailauth";
import nodemailer from "nodemailer";
import { systemResolver } from "../../src/dns/resolver.ts";
import type { DmarcEvaluationEvent } from "../../src/mailauth/inbound.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { mailauthHooks } from "../../src/protocols/smtp/server/mailauth-hooks.ts";
import type { Account } from "../../src/store/types.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let dns: TestDnsServer;
let srv: TestServer;
let alice: Account;
const events: DmarcEvaluationEvent[] = [];

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const spki = (k: typeof rsa.publicKey, raw = false): string => {
  const der = k.export({ format: "der", type: "spki" });
  // RFC 8463 §4.2: an Ed25519 key record holds the raw 32-byte key.
  return (raw ? der.subarray(der.length - 32) : der).toString("base64");
};
const pem = (k: typeof rsa.privateKey) => k.export({ format: "pem", type: "pkcs8" }).toString();

before(async () => {
  const rsaKey = `v=DKIM1; k=rsa; p=${spki(rsa.publicKey)}`;
  dns = await startDnsServer({
    "sender.example": {
      TXT: ["v=spf1 ip4:127.0.0.1 -all"],
      MX: [{ exchange: "mail.sender.example", priority: 10 }],
    },
    "mail.sender.example": { A: ["127.0.0.1"], TXT: ["v=spf1 a -all"] },
    "127.0.0.1": { PTR: ["mail.sender.example"] },
    "rsa._domainkey.sender.example": { TXT: [[rsaKey.slice(0, 255), rsaKey.slice(255)]] },
    "ed._domainkey.sender.example": { TXT: [`v=DKIM1; k=ed25519; p=${spki(ed.publicKey, true)}`] },
    "_dmarc.sender.example": { TXT: ["v=DMARC1; p=reject; rua=mailto:dmarc@sender.example"] },
    "bank.example": { TXT: ["v=spf1 -all"] },
    "_dmarc.bank.example": {
      TXT: ["v=DMARC1; p=reject; adkim=s; aspf=s; ruf=mailto:forensic@bank.example; fo=1"],
    },
    "news.example": { TXT: ["v=spf1 -all"] },
    "_dmarc.news.example": { TXT: ["v=DMARC1; p=quarantine"] },
  });
  srv = await startTestServer({
    prefix: "mailroom-mailauth-in-",
    listeners: { smtp: {} },
    protocols: {
      smtp: smtpProtocol("smtp", (ctx) => ({
        hooks: [mailauthHooks(ctx, { onDmarcEvaluation: (e) => events.push(e), random: () => 0 })],
      })),
    },
    resolver: systemResolver([dns.address], { timeoutMs: 1000, tries: 1 }),
    // The sending MTA is on loopback, which is not checked by default.
    config: { mailauth: { authservId: "mx.mailroom.test", dnsbl: ["bl.test"], skipNetworks: [] } },
  });
  await srv.store.createDomain("example.org");
  alice = await srv.addAccount("alice@example.org", "pw");
});

after(async () => {
  await srv?.stop();
  await dns?.close();
});

function raw(from: string, subject: string, extra = ""): string {
  return (
    `${extra}From: <${from}>\r\nTo: <alice@example.org>\r\nSubject: ${subject}\r\n` +
    `Date: Thu, 01 Jan 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@test>\r\n\r\nHello.\r\n`
  );
}

async function send(mailFrom: string, message: string, to = "alice@example.org"): Promise<void> {
  const t = nodemailer.createTransport({
    host: "127.0.0.1",
    port: srv.port("smtp"),
    secure: false,
    ignoreTLS: true,
    name: "mail.sender.example",
  });
  try {
    await t.sendMail({ envelope: { from: mailFrom, to: [to] }, raw: message });
  } finally {
    t.close();
  }
}

async function mailbox(role: "inbox" | "junk"): Promise<string[]> {
  const box = (await srv.store.listMailboxes(alice.id)).find((b) => b.role === role);
  assert.ok(box);
  const out: string[] = [];
  for (const row of await srv.store.listMessages(alice.id, box.id)) {
    out.push((await srv.store.getRaw(alice.id, row.emailId))?.toString("utf8") ?? "");
  }
  return out;
}

const head = (m: string) => m.slice(0, m.indexOf("\r\n\r\n") + 2);
const fields = (m: string, name: string) =>
  head(m)
    .split(/\r\n(?![ \t])/)
    .filter((f) => f.toLowerCase().startsWith(`${name.toLowerCase()}:`));

test("a signed message from a passing domain gets one Authentication-Results and Received-SPF", async () => {
  const plain = raw(
    "news@sender.example",
    "pass case",
    "Authentication-Results: mx.mailroom.test; dkim=pass header.d=forged.example\r\n",
  );
  const signed = await dkimSign(plain, {
    signatureData: [
      { signingDomain: "sender.example", selector: "rsa", privateKey: pem(rsa.privateKey) },
      {
        signingDomain: "sender.example",
        selector: "ed",
        privateKey: pem(ed.privateKey),
        algorithm: "ed25519-sha256",
      },
    ],
  } as unknown as Parameters<typeof dkimSign>[1]);
  assert.deepEqual(signed.errors, []);
  await send("bounce@sender.example", signed.signatures + plain);
  const inbox = await mailbox("inbox");
  const m = inbox.find((x) => x.includes("Subject: pass case"));
  assert.ok(m, "delivered to INBOX");
  const ar = fields(m, "Authentication-Results");
  assert.equal(ar.length, 1, "the forged field with our authserv-id is gone, ours is the only one");
  const value = ar[0] ?? "";
  assert.match(value, /^Authentication-Results: mx\.mailroom\.test;/);
  assert.match(value, /spf=pass .*smtp\.mailfrom=bounce@sender\.example/s);
  assert.match(value, /spf=pass .*smtp\.helo=mail\.sender\.example/s);
  assert.equal(value.match(/dkim=pass/g)?.length, 2, "both signatures (rsa-sha256, ed25519-sha256) pass");
  assert.match(value, /header\.s=ed/);
  assert.match(value, /dmarc=pass/);
  assert.match(value, /arc=none/);
  assert.match(value, /iprev=pass \(mail\.sender\.example\) policy\.iprev=127\.0\.0\.1/);
  assert.doesNotMatch(value, /forged\.example/);
  // RFC 8601 §5 and RFC 7208 §9.1: above the Received field we add.
  const names = head(m)
    .split(/\r\n(?![ \t])/)
    .map((f) => f.slice(0, f.indexOf(":")));
  assert.ok(names.indexOf("Authentication-Results") < names.indexOf("Received-SPF"));
  assert.ok(names.indexOf("Received-SPF") < names.indexOf("Received"));
  assert.match(fields(m, "Received-SPF")[0] ?? "", /^Received-SPF: pass /);
  const ev = events.find((e) => e.headerFrom === "sender.example");
  assert.ok(ev, "the DMARC evaluation is reported");
  assert.equal(ev.disposition, "none");
  assert.equal(ev.dkimAligned, "pass");
  assert.equal(ev.spfAligned, "pass");
  assert.equal(ev.sourceIp, "127.0.0.1");
  assert.equal(ev.envelopeFrom, "sender.example");
  assert.equal(ev.policyDomain, "sender.example");
  assert.deepEqual(ev.rua, ["mailto:dmarc@sender.example"]);
  assert.equal(ev.policy.p, "reject");
  assert.deepEqual(ev.dkim.map((d) => `${d.domain}/${d.selector}/${d.result}`).sort(), [
    "sender.example/ed/pass",
    "sender.example/rsa/pass",
  ]);
  assert.deepEqual(ev.spf, { domain: "sender.example", scope: "mfrom", result: "pass" });
});

test("a spoofed From of a p=reject domain is refused with 550 5.7.1", async () => {
  await assert.rejects(
    send("ceo@bank.example", raw("ceo@bank.example", "wire the money")),
    (e: Error & { responseCode?: number; response?: string }) => {
      assert.equal(e.responseCode, 550);
      assert.match(e.response ?? "", /5\.7\.1 .*DMARC policy of bank\.example/);
      return true;
    },
  );
  const all = [...(await mailbox("inbox")), ...(await mailbox("junk"))];
  assert.ok(!all.some((m) => m.includes("wire the money")));
  const ev = events.find((e) => e.headerFrom === "bank.example");
  assert.equal(ev?.disposition, "reject");
  assert.equal(ev?.spf.result, "fail");
  // The record asks for failure reports (RFC 7489 §7.3): the row carries ruf and the message.
  assert.deepEqual(ev?.ruf, ["mailto:forensic@bank.example"]);
  assert.match(ev?.message?.toString() ?? "", /Subject: wire the money/);
});

test("a failing message of a p=quarantine domain is filed into Junk", async () => {
  await send("news@news.example", raw("news@news.example", "quarantined news"));
  assert.ok((await mailbox("junk")).some((m) => m.includes("quarantined news") && /dmarc=fail/.test(m)));
  assert.ok(!(await mailbox("inbox")).some((m) => m.includes("quarantined news")));
  assert.equal(events.find((e) => e.headerFrom === "news.example")?.disposition, "quarantine");
});

test("a client listed on a DNSBL is refused at RCPT", async () => {
  dns.set("1.0.0.127.bl.test", { A: ["127.0.0.2"], TXT: ["listed for testing"] });
  try {
    await assert.rejects(
      send("bounce@sender.example", raw("news@sender.example", "listed")),
      (e: Error & { responseCode?: number; response?: string }) => {
        assert.equal(e.responseCode, 550);
        assert.match(
          e.response ?? "",
          /5\.7\.1 Client host \[127\.0\.0\.1\] is listed by bl\.test: listed for testing/,
        );
        return true;
      },
    );
  } finally {
    dns.set("1.0.0.127.bl.test", {});
  }
});
