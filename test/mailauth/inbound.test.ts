// The inbound checks over a StaticResolver: the trusted-ARC-sealer override of a DMARC failure
// (RFC 7960 §4.1.3), pct sampling (RFC 7489 §6.6.4), iprev (RFC 8601 §3), DNSBL answers
// (RFC 5782) and temporary errors under the tempError policy.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { sealMessage } from "mailauth";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { checkDnsbl, dnsblName } from "../../src/mailauth/dnsbl.ts";
import { authenticateInbound, DEFAULT_INBOUND_POLICY } from "../../src/mailauth/inbound.ts";
import { checkIprev } from "../../src/mailauth/iprev.ts";

const key = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pub = key.publicKey.export({ format: "der", type: "spki" }).toString("base64");

function zone(): StaticResolver {
  return new StaticResolver({
    "sender.example": { TXT: ["v=spf1 ip4:192.0.2.1 -all"] },
    "_dmarc.sender.example": { TXT: ["v=DMARC1; p=reject"] },
    "list.example": { TXT: ["v=spf1 ip4:198.51.100.7 -all"] },
    "arc._domainkey.list.example": { TXT: [[`v=DKIM1; k=rsa; p=${pub.slice(0, 200)}`, pub.slice(200)]] },
    "mx.list.example": { A: ["198.51.100.7"] },
    "198.51.100.7": { PTR: ["mx.list.example"] },
  });
}

const message = Buffer.from(
  "From: <ann@sender.example>\r\nTo: <team@list.example>\r\nSubject: via the list\r\n" +
    "Date: Thu, 01 Jan 2026 10:00:00 +0000\r\nMessage-ID: <l1@sender.example>\r\n\r\nHi all.\r\n",
);

async function viaList(): Promise<Buffer> {
  // The list saw the author's mail pass on arrival and sealed its result (RFC 8617 §5.1).
  const set = await sealMessage(message, {
    signingDomain: "list.example",
    selector: "arc",
    privateKey: key.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    cv: "none",
    authResults:
      "mx.list.example; spf=pass smtp.mailfrom=ann@sender.example; dmarc=pass header.from=sender.example",
  });
  return Buffer.concat([set, message]);
}

const input = async () => ({
  message: await viaList(),
  ip: "198.51.100.7",
  helo: "mx.list.example",
  mailFrom: "team-bounces@list.example",
});
const deps = (resolver = zone(), random = () => 0.5) => ({
  resolver,
  authservId: "mx.test",
  hostname: "mx.test",
  now: () => Date.now(),
  random,
});

test("a forwarded message failing DMARC p=reject is refused, unless its trusted sealer saw it pass", async () => {
  const plain = await authenticateInbound(await input(), deps());
  assert.equal(plain.arc.result, "pass");
  assert.equal(plain.dmarc?.result, "fail");
  assert.equal(plain.verdict.action, "reject");
  assert.equal(plain.evaluation?.disposition, "reject");

  const trusted = await authenticateInbound(await input(), deps(), {
    ...DEFAULT_INBOUND_POLICY,
    trustedArcSealers: ["list.example"],
  });
  assert.equal(trusted.verdict.action, "accept");
  assert.equal(trusted.dmarc?.disposition, "none");
  assert.deepEqual(trusted.evaluation?.reasons, [
    { type: "local_policy", comment: "arc=pass as[1].d=list.example" },
  ]);
  assert.match(trusted.headers, /dmarc=fail .*disposition none: local_policy arc=pass/s);

  const other = await authenticateInbound(await input(), deps(), {
    ...DEFAULT_INBOUND_POLICY,
    trustedArcSealers: ["elsewhere.example"],
  });
  assert.equal(other.verdict.action, "reject");
});

test("pct: a failing message outside the sample gets the next policy down (RFC 7489 §6.6.4)", async () => {
  const z = zone();
  z.set("_dmarc.sender.example", { TXT: ["v=DMARC1; p=reject; pct=20"] });
  const out = await authenticateInbound(
    await input(),
    deps(z, () => 0.5),
  );
  assert.equal(out.dmarc?.disposition, "quarantine");
  assert.deepEqual(out.verdict, { action: "junk", why: "dmarc p=quarantine" });
  assert.deepEqual(out.evaluation?.reasons, [{ type: "sampled_out", comment: "pct=20" }]);
  const inSample = await authenticateInbound(
    await input(),
    deps(z, () => 0.1),
  );
  assert.equal(inSample.verdict.action, "reject");
});

test("a DMARC lookup that fails for now defers only when tempError says so", async () => {
  const z = zone();
  z.set("_dmarc.sender.example", { fail: "SERVFAIL" });
  const accept = await authenticateInbound(await input(), deps(z));
  assert.equal(accept.dmarc?.result, "temperror");
  assert.equal(accept.verdict.action, "accept");
  const defer = await authenticateInbound(await input(), deps(z), {
    ...DEFAULT_INBOUND_POLICY,
    tempError: "tempfail",
  });
  assert.equal(defer.verdict.action, "tempfail");
});

test("iprev: pass, fail without a PTR or a confirming name, temperror on SERVFAIL", async () => {
  const z = zone();
  assert.deepEqual(await checkIprev(z, "198.51.100.7"), {
    result: "pass",
    names: ["mx.list.example"],
    confirmed: "mx.list.example",
  });
  assert.equal((await checkIprev(z, "192.0.2.99")).result, "fail");
  z.set("192.0.2.98", { PTR: ["mx.list.example"] });
  assert.equal((await checkIprev(z, "192.0.2.98")).result, "fail");
  z.set("192.0.2.97", { fail: "SERVFAIL" });
  assert.equal((await checkIprev(z, "192.0.2.97")).result, "temperror");
  z.set("2001:db8::25", { PTR: ["mx6.list.example"] });
  z.set("mx6.list.example", { AAAA: ["2001:db8:0:0::25"] });
  assert.equal((await checkIprev(z, "2001:db8::25")).result, "pass");
});

test("DNSBL: 127.0.0.x answers list, 127.0.0.1 and 127.255.255.x do not, failures do not block", async () => {
  assert.equal(dnsblName("192.0.2.5", "bl.example"), "5.2.0.192.bl.example");
  assert.match(dnsblName("2001:db8::1", "bl.example"), /^1(\.0){23}\.8\.b\.d\.0\.1\.0\.0\.2\.bl\.example$/);
  const z = new StaticResolver({
    "5.2.0.192.a.example": { A: ["127.0.0.2"], TXT: ["spam source"] },
    "5.2.0.192.b.example": { A: ["127.255.255.254"] },
    "5.2.0.192.c.example": { fail: "TIMEOUT" },
    "5.2.0.192.d.example": { A: ["127.0.0.1"] },
  });
  const out = await checkDnsbl(z, "192.0.2.5", [
    "a.example",
    "b.example",
    "c.example",
    "d.example",
    "e.example",
  ]);
  assert.deepEqual(out.listed, [{ zone: "a.example", codes: ["127.0.0.2"], reason: "spam source" }]);
  assert.deepEqual(out.errors, ["c.example"]);
});
