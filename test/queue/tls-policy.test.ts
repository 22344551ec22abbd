// The TLS needed per MX host: DANE over MTA-STS over opportunistic TLS, and REQUIRETLS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { DnssecLookupError, dnssecResolver } from "../../src/queue/dane.ts";
import { MtaStsResolver } from "../../src/queue/mta-sts.ts";
import { domainTlsContext, hostTlsPolicy, satisfiesRequireTls } from "../../src/queue/tls-policy.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer(
    {
      "both.test": { MX: [{ exchange: "mx.both.test", priority: 1 }] },
      "_25._tcp.mx.both.test": {
        TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 3) }],
      },
      "pkix.test": { MX: [{ exchange: "mx.pkix.test", priority: 1 }] },
      "_25._tcp.mx.pkix.test": {
        TLSA: [{ usage: 1, selector: 1, matchingType: 1, data: Buffer.alloc(32, 3) }],
      },
      "sts.test": { MX: [{ exchange: "mx.sts.test", priority: 1 }] },
      // A signed domain whose MX host lives in an unsigned zone (its TLSA answer made to look
      // secure here, so only the host's insecure address keeps DANE off).
      "half.test": { MX: [{ exchange: "mx.half.example", priority: 1 }] },
      "mx.half.example": { A: ["127.0.0.9"] },
      "_25._tcp.mx.half.example": {
        TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 3) }],
      },
      "broken.test": { fail: "SERVFAIL" },
    },
    {
      secure: (n) =>
        n.includes("both.test") ||
        n.includes("pkix.test") ||
        n === "half.test" ||
        n === "_25._tcp.mx.half.example",
    },
  );
});
after(async () => {
  await dns.close();
});

function stsFor(mode: string): MtaStsResolver {
  const resolver = new StaticResolver({
    "_mta-sts.both.test": { TXT: ["v=STSv1; id=1"] },
    "_mta-sts.sts.test": { TXT: ["v=STSv1; id=1"] },
  });
  return new MtaStsResolver({
    resolver,
    clock: new ManualClock(0),
    fetcher: async () => ({
      status: 200,
      contentType: "text/plain",
      body: `version: STSv1\nmode: ${mode}\nmx: mx.sts.test\nmx: mx.both.test\nmax_age: 3600\n`,
    }),
  });
}

void test("DANE wins over MTA-STS; enforce refuses unlisted MX; testing only reports; else opportunistic", async () => {
  const opts = { dnssec: dnssecResolver(dns.address, { timeoutMs: 1000 }), mtaSts: stsFor("enforce") };
  const both = await hostTlsPolicy(await domainTlsContext("both.test", opts), "mx.both.test", opts);
  assert.equal(both.type, "tlsa");
  assert.equal(both.mode, "required");
  assert.ok(both.checkPeer);
  assert.ok(satisfiesRequireTls(both));
  // TLSA present but unusable: TLS required, unauthenticated, not enough for REQUIRETLS.
  const pkix = await hostTlsPolicy(await domainTlsContext("pkix.test", opts), "mx.pkix.test", opts);
  assert.deepEqual(
    [pkix.type, pkix.mode, pkix.verifyCertificate, pkix.checkPeer],
    ["tlsa", "required", false, undefined],
  );
  assert.ok(!satisfiesRequireTls(pkix));
  const stsCtx = await domainTlsContext("sts.test", opts);
  const sts = await hostTlsPolicy(stsCtx, "mx.sts.test", opts);
  assert.deepEqual(
    [sts.type, sts.mode, sts.verifyCertificate, sts.refused],
    ["sts", "required", true, undefined],
  );
  assert.ok(satisfiesRequireTls(sts));
  const rogue = await hostTlsPolicy(stsCtx, "mx.rogue.test", opts);
  assert.match(rogue.refused ?? "", /not in the MTA-STS policy/);
  const testing = { ...opts, mtaSts: stsFor("testing") };
  const t = await hostTlsPolicy(await domainTlsContext("sts.test", testing), "mx.rogue.test", testing);
  assert.deepEqual([t.type, t.mode, t.reportOnly, t.refused], ["sts", "opportunistic", true, undefined]);
  assert.ok(!satisfiesRequireTls(t));
  const none = await hostTlsPolicy(await domainTlsContext("plain.test", {}), "mx.plain.test", {});
  assert.deepEqual([none.type, none.mode], ["no-policy-found", "opportunistic"]);
});

void test("DANE needs the MX host's addresses secure too; a failed MX lookup at the validator throws", async () => {
  const opts = { dnssec: dnssecResolver(dns.address, { timeoutMs: 1000 }) };
  const ctx = await domainTlsContext("half.test", opts);
  assert.equal(ctx.mxSecure, true);
  // RFC 7672 §2.2.2: the host's A record is insecure, so its TLSA records are not used.
  const half = await hostTlsPolicy(ctx, "mx.half.example", opts);
  assert.deepEqual([half.type, half.mode], ["no-policy-found", "opportunistic"]);
  // RFC 7672 §2.2.1: SERVFAIL for the MX query is no reason to go without DANE.
  await assert.rejects(domainTlsContext("broken.test", opts), DnssecLookupError);
});
