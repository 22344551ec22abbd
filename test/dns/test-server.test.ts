// The loopback DNS server of the tests answers the real resolver (node:dns over UDP) with
// the records it was given: MX (null MX too), A, AAAA, TXT, TLSA; NXDOMAIN, NODATA, SERVFAIL.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isDnsError, systemResolver } from "../../src/dns/resolver.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    "example.test": {
      MX: [{ exchange: "mx.example.test", priority: 10 }],
      TXT: ["v=spf1 ip4:127.0.0.0/8 -all", ["part one ", "part two"]],
    },
    "mx.example.test": { A: ["127.0.0.5"], AAAA: ["::1"] },
    "_25._tcp.mx.example.test": {
      TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }],
    },
    "null.test": { MX: [{ exchange: ".", priority: 0 }] },
    "broken.test": { fail: "SERVFAIL" },
  });
});
after(async () => {
  await dns.close();
});

void test("records come back through node:dns from the loopback server", async () => {
  const r = systemResolver([dns.address], { timeoutMs: 1000, tries: 1 });
  assert.deepEqual(await r.resolveMx("example.test"), [{ exchange: "mx.example.test", priority: 10 }]);
  assert.deepEqual(await r.resolve4("mx.example.test"), ["127.0.0.5"]);
  assert.deepEqual(await r.resolve6("mx.example.test"), ["::1"]);
  assert.deepEqual(await r.resolveTxt("example.test"), [
    ["v=spf1 ip4:127.0.0.0/8 -all"],
    ["part one ", "part two"],
  ]);
  const [tlsa] = await r.resolveTlsa("_25._tcp.mx.example.test");
  assert.deepEqual(tlsa, { usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) });
  assert.deepEqual(await r.resolveMx("null.test"), [{ exchange: "", priority: 0 }]);
  await assert.rejects(r.resolve4("nowhere.test"), (e) => isDnsError(e, "NXDOMAIN"));
  await assert.rejects(r.resolve4("example.test"), (e) => isDnsError(e, "NODATA"));
  await assert.rejects(r.resolve4("broken.test"), (e) => isDnsError(e, "SERVFAIL"));
  dns.set("late.test", { A: ["127.0.0.9"] });
  assert.deepEqual(await r.resolve4("late.test"), ["127.0.0.9"]);
});
