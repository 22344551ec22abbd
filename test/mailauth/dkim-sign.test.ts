// DKIM signing: both signatures (rsa-sha256, ed25519-sha256) verify with mailauth's dkimVerify
// against the key records served by a DNS server on loopback; From is oversigned (a From added
// later breaks them); mail from a subdomain of a local domain is signed by that domain; mail
// from elsewhere is left alone.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { dkimVerify, type DNSResolver } from "mailauth";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { DkimKeyStore, type DkimKeyPair } from "../../src/mailauth/dkim-keys.ts";
import { authorDomains, OutboundSigner, signWithKeys } from "../../src/mailauth/dkim-sign.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { loopbackLookup, publishKeys, storeWithDomains } from "./dkim-helpers.ts";

let close: () => Promise<void>;
let store: MaintainedMailStore;
let dns: TestDnsServer;
let signer: OutboundSigner;
let keys: DkimKeyStore;
let pair: DkimKeyPair;
let lookup: DNSResolver;

before(async () => {
  ({ store, close } = await storeWithDomains("mailroom-dkim-sign-", ["a.test"]));
  keys = DkimKeyStore.fromStore(store, systemClock)!;
  signer = new OutboundSigner({ store, keys, clock: systemClock, logger: silentLogger() });
  dns = await startDnsServer();
  lookup = loopbackLookup(dns);
  pair = await signer.keysFor("a.test");
  publishKeys(dns, pair);
});
after(async () => {
  await close();
  await dns.close();
});

const MESSAGE = [
  "From: Ann <ann@a.test>",
  "To: bob@b.test",
  "Cc: carol@c.test",
  "Subject: signed  twice",
  "Date: Mon, 23 Nov 2026 10:00:00 +0000",
  "Message-ID: <m1@a.test>",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "",
  "Hello,  world.  ",
  "",
  "",
].join("\r\n");

async function verify(message: Buffer | string): Promise<{ result: string; algo: string }[]> {
  const r = await dkimVerify(message, { resolver: lookup });
  return r.results.map((x) => ({ result: x.status.result, algo: x.algo ?? "" }));
}

void test("both signatures verify against the published key records", async () => {
  const signed = await signer.sign(Buffer.from(MESSAGE));
  const text = signed.toString();
  assert.equal(text.match(/^DKIM-Signature:/gm)?.length, 2);
  assert.match(text, /a=rsa-sha256;[^]*s=mr\d{4}a-rsa;/);
  assert.match(text, /a=ed25519-sha256;[^]*s=mr\d{4}a-ed;/);
  assert.match(text, /c=relaxed\/relaxed/);
  assert.ok(text.endsWith(MESSAGE));
  const results = await verify(signed);
  assert.deepEqual(results.map((r) => [r.algo, r.result]).sort(), [
    ["ed25519-sha256", "pass"],
    ["rsa-sha256", "pass"],
  ]);
  // From is oversigned (named once more than present); the other signed fields are those present.
  const h = [...text.matchAll(/[;\s]h=([^;]*);/g)].map((m) => m[1]!.replace(/\s+/g, " "));
  assert.deepEqual(h, [
    "Content-Type: MIME-Version: Message-ID: Date: Subject: Cc: To: From: From",
    "Content-Type: MIME-Version: Message-ID: Date: Subject: Cc: To: From: From",
  ]);
});

void test("relaxed canonicalization survives re-folding; a From added later breaks the signatures", async () => {
  const signed = (await signer.sign(Buffer.from(MESSAGE))).toString();
  const refolded = signed.replace("Subject: signed  twice", "Subject: signed\r\n   twice");
  assert.deepEqual(
    (await verify(refolded)).map((r) => r.result),
    ["pass", "pass"],
  );
  const added = signed.replace("To: bob@b.test", "From: boss@a.test\r\nTo: bob@b.test");
  assert.deepEqual(
    (await verify(added)).map((r) => r.result),
    ["fail", "fail"],
  );
  // A changed body: the body hash differs (mailauth's lenient mode says neutral, RFC 6376 §6.3).
  const body = signed.replace("Hello,", "Hullo,");
  assert.deepEqual(
    (await verify(body)).map((r) => r.result),
    ["neutral", "neutral"],
  );
});

void test("a subdomain of a local domain is signed by the local domain; foreign authors are not signed", async () => {
  const sub = await signer.sign(Buffer.from(MESSAGE.replace("ann@a.test", "MAILER-DAEMON@mx.a.test")));
  assert.match(sub.toString(), /d=a\.test;/);
  assert.deepEqual(
    (await verify(sub)).map((r) => r.result),
    ["pass", "pass"],
  );
  const foreign = Buffer.from(MESSAGE.replace("ann@a.test", "ann@elsewhere.test"));
  assert.equal(await signer.sign(foreign), foreign);
  // ... unless the envelope sender or the account is ours.
  assert.match((await signer.sign(foreign, ["a.test"])).toString(), /^DKIM-Signature:/);
  const noFrom = Buffer.from("Subject: x\r\n\r\nbody\r\n");
  assert.equal(await signer.sign(noFrom, ["a.test"]), noFrom);
  assert.deepEqual(authorDomains(Buffer.from("From: a@X.test, b@y.test\r\n\r\n")), ["x.test", "y.test"]);
});

void test("after a rotation the new keys sign and the old signature still verifies while published", async () => {
  const old = await signWithKeys(Buffer.from(MESSAGE), pair);
  const next = await keys.rotate("a.test");
  publishKeys(dns, next);
  const fresh = await signWithKeys(Buffer.from(MESSAGE), next);
  assert.match(fresh.headers, new RegExp(`s=${next.rsa.selector};`));
  assert.deepEqual(
    (await verify(fresh.headers + MESSAGE)).map((r) => r.result),
    ["pass", "pass"],
  );
  assert.deepEqual(
    (await verify(old.headers + MESSAGE)).map((r) => r.result),
    ["pass", "pass"],
  );
});
