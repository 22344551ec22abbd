// MTA-STS (RFC 8461): record and policy parsing, MX patterns, and the policy lookup over a
// real HTTPS server on loopback with names from the test DNS server: cached by id and
// max_age, refetched when the id changes, kept when a refresh fails, no redirects followed.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { after, before, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { systemResolver } from "../../src/dns/resolver.ts";
import {
  httpsPolicyFetcher,
  MtaStsResolver,
  mxMatches,
  parsePolicy,
  parseStsRecord,
} from "../../src/queue/mta-sts.ts";
import { generateSelfSigned } from "../../src/tls/self-signed.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";

let dns: TestDnsServer;
let https: Server;
let port = 0;
let cert = "";
let body =
  "version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.test\r\nmx: *.backup.sts.test\r\nmax_age: 86400\r\n";
let contentType = "text/plain; charset=utf-8";
let status = 200;
let hits = 0;

before(async () => {
  dns = await startDnsServer({
    "_mta-sts.sts.test": { TXT: ["v=STSv1; id=20261122T1;"] },
    "mta-sts.sts.test": { A: ["127.0.0.1"] },
  });
  const pair = await generateSelfSigned("mta-sts.sts.test");
  cert = pair.cert;
  https = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    hits++;
    if (req.url !== "/.well-known/mta-sts.txt") {
      res.writeHead(404).end();
      return;
    }
    if (status === 301) {
      res.writeHead(301, { location: "https://elsewhere.test/" }).end();
      return;
    }
    res.writeHead(status, { "content-type": contentType }).end(body);
  });
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  const a = https.address();
  port = typeof a === "object" && a ? a.port : 0;
});
after(async () => {
  await dns.close();
  await new Promise((r) => https.close(r));
});

void test("records and policies parse as RFC 8461 §3 says; MX patterns match one label", () => {
  assert.deepEqual(parseStsRecord([["v=STSv1; id=abc123"]]), { id: "abc123" });
  assert.deepEqual(parseStsRecord([["v=STSv1;", " id=abc"], ["other"]]), { id: "abc" });
  assert.equal(parseStsRecord([["v=STSv1; id=a"], ["v=STSv1; id=b"]]), null, "two records: no policy");
  assert.equal(parseStsRecord([["v=STSv1; id=bad-id"]]), null);
  assert.equal(parseStsRecord([["id=abc; v=STSv1"]]), null);
  const p = parsePolicy(
    "version: STSv1\nmode: testing\nmx: A.example\nmax_age: 99999999999\nfoo: bar\n",
    "x",
    5,
  );
  assert.ok(typeof p !== "string");
  assert.deepEqual([p.mode, p.mx, p.maxAge], ["testing", ["a.example"], 31_557_600]);
  assert.equal(typeof parsePolicy("mode: enforce\nmx: a\nmax_age: 1\n", "x", 0), "string");
  assert.equal(typeof parsePolicy("version: STSv1\nmode: enforce\nmax_age: 1\n", "x", 0), "string");
  assert.equal(typeof parsePolicy("version: STSv1\nmode: none\nmax_age: 1\n", "x", 0), "object");
  assert.ok(mxMatches(["mx1.example", "*.b.example"], "MX1.example."));
  assert.ok(mxMatches(["*.b.example"], "x.b.example"));
  assert.ok(!mxMatches(["*.b.example"], "y.x.b.example"));
  assert.ok(!mxMatches(["*.b.example"], "b.example"));
});

void test("the policy is fetched over HTTPS, cached by id and max_age, kept when a refresh fails", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22));
  const resolver = systemResolver([dns.address], { timeoutMs: 1000, tries: 1 });
  const sts = new MtaStsResolver({
    resolver,
    fetcher: httpsPolicyFetcher({ resolver, ca: cert, port }),
    clock,
  });
  const first = await sts.lookup("sts.test");
  assert.equal(first.policy?.mode, "enforce");
  assert.deepEqual(first.policy?.mx, ["mx1.sts.test", "*.backup.sts.test"]);
  assert.equal(hits, 1);
  await sts.lookup("sts.test");
  assert.equal(hits, 1, "same id, within max_age: from the cache");
  // A new id: fetched again; that fetch fails, so the cached policy stays in force.
  dns.set("_mta-sts.sts.test", { TXT: ["v=STSv1; id=20261122T2;"] });
  status = 500;
  const kept = await sts.lookup("sts.test");
  assert.equal(kept.policy?.id, "20261122T1");
  assert.equal(kept.failure, "sts-policy-fetch-error");
  // Redirects are not followed; a wrong media type is not a policy.
  status = 301;
  assert.equal((await sts.lookup("sts.test")).failure, "sts-policy-fetch-error");
  status = 200;
  contentType = "text/html";
  assert.equal((await sts.lookup("sts.test")).failure, "sts-policy-invalid");
  contentType = "text/plain";
  body = body.replace("enforce", "testing");
  assert.equal((await sts.lookup("sts.test")).policy?.mode, "testing");
  // Past max_age without a record: no policy.
  clock.advance(86_401_000);
  dns.set("_mta-sts.sts.test", {});
  assert.equal((await sts.lookup("sts.test")).policy, null);
  // A certificate the fetcher does not trust: a fetch error.
  const untrusting = new MtaStsResolver({ resolver, fetcher: httpsPolicyFetcher({ resolver, port }), clock });
  dns.set("_mta-sts.sts.test", { TXT: ["v=STSv1; id=z"] });
  assert.equal((await untrusting.lookup("sts.test")).failure, "sts-policy-fetch-error");
});
