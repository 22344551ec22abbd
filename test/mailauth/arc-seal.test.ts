// ARC sealing of forwarded mail: the set we add (AAR with our Authentication-Results, AMS, AS)
// validates with mailauth's ARC verification against key records on a loopback DNS server; a
// second forwarder's set over ours validates as i=2 with cv=pass; a broken chain is sealed
// with cv=fail and then not sealed again.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { arc, dkimVerify, type DNSResolver } from "mailauth";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { systemResolver, type Resolver } from "../../src/dns/resolver.ts";
import { ArcSealer, chainStatus, ownAuthResults } from "../../src/mailauth/arc-seal.ts";
import { makeKeys, type DkimKeyPair } from "../../src/mailauth/dkim-keys.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { loopbackLookup, publishKeys } from "./dkim-helpers.ts";

let dns: TestDnsServer;
let lookup: DNSResolver;
let resolver: Resolver;
let sealer: ArcSealer;
const pairs: Record<string, DkimKeyPair> = {};

async function pairFor(domain: string): Promise<DkimKeyPair> {
  const k = await makeKeys();
  const common = { domain, generation: 1, createdAt: 0, retiredAt: null };
  const pair: DkimKeyPair = {
    domain,
    generation: 1,
    rsa: { ...common, selector: "mr2026a-rsa", algorithm: "rsa-sha256", ...k.rsa },
    ed25519: { ...common, selector: "mr2026a-ed", algorithm: "ed25519-sha256", ...k.ed25519 },
  };
  publishKeys(dns, pair);
  return pair;
}

before(async () => {
  dns = await startDnsServer();
  lookup = loopbackLookup(dns);
  resolver = systemResolver([dns.address], { timeoutMs: 1000, tries: 1 });
  sealer = new ArcSealer({ resolver, clock: systemClock, logger: silentLogger() });
  pairs["fwd.test"] = await pairFor("fwd.test");
  pairs["list.test"] = await pairFor("list.test");
});
after(async () => {
  await dns.close();
});

const MESSAGE = [
  "Authentication-Results: mx.other.test; spf=pass smtp.mailfrom=x.test",
  "Authentication-Results: mx.fwd.test;",
  "  spf=pass smtp.mailfrom=sender@origin.test;",
  "  dkim=pass header.d=origin.test",
  "Received: from mx.origin.test by mx.fwd.test; Mon, 23 Nov 2026 10:00:01 +0000",
  "From: Sender <sender@origin.test>",
  "To: alias@fwd.test",
  "Subject: forwarded",
  "Date: Mon, 23 Nov 2026 10:00:00 +0000",
  "Message-ID: <f1@origin.test>",
  "",
  "Passed along.",
  "",
].join("\r\n");

async function validate(message: Buffer): Promise<{ result: string; i: number | false }> {
  const d = await dkimVerify(message, { resolver: lookup });
  const r = await arc((d as { arc?: Parameters<typeof arc>[0] }).arc ?? { chain: [] }, { resolver: lookup });
  return { result: r.status.result, i: r.i };
}

void test("our ARC set over a forwarded message validates, with our Authentication-Results in the AAR", async () => {
  assert.equal(
    ownAuthResults(Buffer.from(MESSAGE), "MX.fwd.test"),
    "mx.fwd.test; spf=pass smtp.mailfrom=sender@origin.test; dkim=pass header.d=origin.test",
  );
  const sealed = await sealer.seal(Buffer.from(MESSAGE), {
    keys: pairs["fwd.test"]!,
    authservId: "mx.fwd.test",
  });
  const text = sealed.toString();
  assert.match(text, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=fwd\.test;\s+s=mr2026a-rsa;/m);
  assert.match(text, /^ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed\/relaxed; d=fwd\.test;/m);
  assert.match(
    text,
    /^ARC-Authentication-Results: i=1; mx\.fwd\.test; spf=pass smtp\.mailfrom=sender@origin\.test;/m,
  );
  assert.ok(text.endsWith(MESSAGE));
  assert.deepEqual(await validate(sealed), { result: "pass", i: 1 });
  assert.equal(await chainStatus(sealed, resolver, Date.now()), "pass");

  // A second forwarder seals over ours: i=2, cv=pass, and the whole chain validates.
  const twice = await sealer.seal(Buffer.concat([Buffer.from("Received: by mx.list.test\r\n"), sealed]), {
    keys: pairs["list.test"]!,
    authservId: "mx.list.test",
    authResults: "mx.list.test; arc=pass; dmarc=pass header.from=origin.test",
  });
  assert.match(twice.toString(), /^ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass;\s+d=list\.test;/m);
  assert.match(twice.toString(), /^ARC-Authentication-Results: i=2; mx\.list\.test; arc=pass; dmarc=pass/m);
  assert.deepEqual(await validate(twice), { result: "pass", i: 2 });
});

void test("without our Authentication-Results the AAR says none; a broken chain is sealed cv=fail, then no more", async () => {
  const plain = Buffer.from(MESSAGE.split("\r\n").slice(5).join("\r\n"));
  const sealed = await sealer.seal(plain, { keys: pairs["fwd.test"]!, authservId: "mx.fwd.test" });
  assert.match(sealed.toString(), /^ARC-Authentication-Results: i=1; mx\.fwd\.test; none\r\n/m);
  assert.deepEqual(await validate(sealed), { result: "pass", i: 1 });

  // The body changes after our seal: the next hop finds the chain broken and says so.
  const changed = Buffer.from(sealed.toString().replace("Passed along.", "Changed."));
  assert.equal(await chainStatus(changed, resolver, Date.now()), "fail");
  const failed = await sealer.seal(changed, { keys: pairs["list.test"]!, authservId: "mx.list.test" });
  assert.match(failed.toString(), /^ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=fail;/m);
  assert.match(failed.toString(), /^ARC-Authentication-Results: i=2; mx\.list\.test; arc=fail\r\n/m);
  assert.equal((await validate(failed)).result, "fail");
  // RFC 8617 §5.1: nobody seals after cv=fail.
  const again = await sealer.seal(failed, { keys: pairs["fwd.test"]!, authservId: "mx.fwd.test" });
  assert.equal(again, failed);
});
