// DANE for SMTP (RFC 7672): TLSA lookups with the AD bit through our own DNS queries, and
// the matching of a real TLS server's chain against DANE-EE and DANE-TA records.
import assert from "node:assert/strict";
import type { X509Certificate } from "node:crypto";
import { createHash } from "node:crypto";
import { connect, createServer, type DetailedPeerCertificate, type Server } from "node:tls";
import { after, before, test } from "node:test";
import { checkDane, dnssecResolver, presentedChain, usableTlsa } from "../../src/queue/dane.ts";
import type { TlsaRecord } from "../../src/dns/resolver.ts";
import { chainPem, testCa, testLeaf, type PemPair } from "../helpers/cert-chain.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";

let ca: PemPair;
let leaf: PemPair;
let chain: X509Certificate[] = [];
let tlsServer: Server;
let dns: TestDnsServer;

const sha256 = (b: Buffer): Buffer => createHash("sha256").update(b).digest();
const spki = (c: X509Certificate): Buffer => c.publicKey.export({ type: "spki", format: "der" });

before(async () => {
  ca = await testCa("Test DANE CA");
  leaf = await testLeaf(ca, ["mx.dane.test"]);
  tlsServer = createServer({ cert: chainPem(leaf, ca), key: leaf.key }, (s) => s.end());
  await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
  const addr = tlsServer.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  // The chain as a client sees it in the handshake.
  const peer = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    const s = connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, servername: "mx.dane.test" },
      () => {
        resolve(s.getPeerCertificate(true));
        s.end();
      },
    );
    s.on("error", reject);
  });
  chain = presentedChain(peer);
  const eeRecord = { usage: 3, selector: 1, matchingType: 1, data: sha256(spki(chain[0]!)) };
  dns = await startDnsServer(
    {
      "signed.test": { MX: [{ exchange: "mx.dane.test", priority: 10 }] },
      "_25._tcp.mx.dane.test": {
        TLSA: [eeRecord, { usage: 1, selector: 0, matchingType: 1, data: Buffer.alloc(32) }],
      },
      "unsigned.test": { MX: [{ exchange: "mx.unsigned.test", priority: 10 }] },
      "broken.test": { fail: "SERVFAIL" },
    },
    { secure: (name) => name.endsWith("dane.test") || name === "signed.test" },
  );
});
after(async () => {
  await new Promise((r) => tlsServer.close(r));
  await dns.close();
});

void test("the presented chain is leaf then CA, as X509Certificate", () => {
  assert.equal(chain.length, 2);
  assert.match(chain[0]!.subject, /mx\.dane\.test/);
  assert.ok(chain[0]!.checkIssued(chain[1]!));
});

void test("DANE-EE matches the leaf by certificate or public key, any name, any date", () => {
  const leafCert = chain[0]!;
  const records: TlsaRecord[] = [
    { usage: 3, selector: 0, matchingType: 0, data: leafCert.raw },
    { usage: 3, selector: 1, matchingType: 1, data: sha256(spki(leafCert)) },
    { usage: 3, selector: 0, matchingType: 2, data: createHash("sha512").update(leafCert.raw).digest() },
  ];
  for (const r of records) assert.equal(checkDane([r], chain, ["other.name"], Date.UTC(2100, 0, 1)), null);
  assert.match(
    checkDane([{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 1) }], chain, [
      "mx.dane.test",
    ]) ?? "",
    /no TLSA record matches/,
  );
});

void test("DANE-TA matches the CA, then needs a signed link, a valid date and the MX name", () => {
  const ta: TlsaRecord = { usage: 2, selector: 1, matchingType: 1, data: sha256(spki(chain[1]!)) };
  assert.equal(checkDane([ta], chain, ["mx.dane.test"]), null);
  assert.match(checkDane([ta], chain, ["mx.elsewhere.test"]) ?? "", /name does not match/);
  assert.match(checkDane([ta], chain, ["mx.dane.test"], Date.UTC(2100, 0, 1)) ?? "", /not valid now/);
  // The leaf itself as a "trust anchor" does not count.
  const leafAsTa: TlsaRecord = { usage: 2, selector: 1, matchingType: 1, data: sha256(spki(chain[0]!)) };
  assert.match(checkDane([leafAsTa], chain, ["mx.dane.test"]) ?? "", /no TLSA record matches/);
});

void test("PKIX usages and malformed records are unusable (RFC 7672 §3.1.3)", () => {
  const rs: TlsaRecord[] = [
    { usage: 0, selector: 0, matchingType: 1, data: Buffer.alloc(32) },
    { usage: 1, selector: 0, matchingType: 1, data: Buffer.alloc(32) },
    { usage: 3, selector: 2, matchingType: 1, data: Buffer.alloc(32) },
    { usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(31) },
    { usage: 3, selector: 1, matchingType: 2, data: Buffer.alloc(64) },
  ];
  assert.deepEqual(usableTlsa(rs), [rs[4]]);
});

void test("MX and TLSA lookups report whether the resolver validated them (AD bit)", async () => {
  const r = dnssecResolver(dns.address, { timeoutMs: 1000 });
  const mx = await r.mx("signed.test");
  assert.deepEqual(mx, { records: [{ exchange: "mx.dane.test", priority: 10 }], secure: true, empty: false });
  assert.equal((await r.mx("unsigned.test")).secure, false);
  const tlsa = await r.tlsa("_25._tcp.mx.dane.test");
  assert.equal(tlsa.secure, true);
  assert.equal(tlsa.records.length, 2);
  assert.equal(usableTlsa(tlsa.records).length, 1);
  assert.equal(checkDane(tlsa.records, chain, ["mx.dane.test"]), null);
  assert.deepEqual(await r.tlsa("_25._tcp.mx.unsigned.test"), { records: [], secure: false, empty: true });
  await assert.rejects(r.mx("broken.test"), /rcode 2/);
});
