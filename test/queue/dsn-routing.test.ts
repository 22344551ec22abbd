// DSN messages (RFC 3464, RFC 6522, RFC 6533) parsed back with our MIME parser, and MX
// routing (RFC 5321 §5.1, RFC 7505 null MX) over a static resolver.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import { buildDsn, deliveryStatus, headerSection } from "../../src/queue/dsn.ts";
import { addressesOf, findRoute, RouteTempError } from "../../src/queue/routing.ts";

const original = Buffer.from(
  "From: s@example.org\r\nTo: r@remote.example\r\nSubject: hello\r\n\r\nline one\r\n.leading dot\r\n",
);
const now = Date.UTC(2026, 10, 22, 10, 0, 0);

function part(raw: Buffer, section: number): { type: string; body: string } {
  const p = parseMessage(raw).root.parts?.[section];
  assert.ok(p, `part ${section}`);
  return {
    type: `${p.contentType.type}/${p.contentType.subtype}`,
    body: raw.subarray(p.bodyStart, p.bodyEnd).toString(),
  };
}

void test("a failure DSN: multipart/report with the text, the delivery status and the header", () => {
  const dsn = buildDsn({
    reportingMta: "mx.example.org",
    to: "s@example.org",
    envid: "QQ314159",
    arrivalDate: now - 60_000,
    recipients: [
      {
        address: "r@remote.example",
        orcpt: { addrType: "rfc822", address: "R@remote.example" },
        action: "failed",
        status: "5.1.1",
        remoteMta: "mx.remote.example",
        diagnostic: "550 5.1.1 no such user\r\nInjected: header",
        lastAttempt: now,
      },
    ],
    original,
    now,
  });
  const parsed = parseMessage(dsn);
  assert.equal(parsed.root.contentType.type, "multipart");
  assert.equal(parsed.root.contentType.subtype, "report");
  assert.equal(parsed.root.contentType.params["report-type"], "delivery-status");
  assert.equal(parsed.subject, "Undelivered Mail Returned to Sender");
  assert.ok(parsed.headers.some((h) => h.name === "Auto-Submitted" && h.value === "auto-replied"));
  assert.equal(part(dsn, 0).type, "text/plain");
  const status = part(dsn, 1);
  assert.equal(status.type, "message/delivery-status");
  assert.match(status.body, /^Reporting-MTA: dns; mx\.example\.org\r\n/);
  assert.match(status.body, /Original-Envelope-Id: QQ314159\r\n/);
  assert.match(
    status.body,
    /\r\n\r\nOriginal-Recipient: rfc822;R@remote\.example\r\nFinal-Recipient: rfc822;r@remote\.example\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; mx\.remote\.example\r\n/,
  );
  // A reply's line break never becomes a field of its own.
  assert.match(status.body, /Diagnostic-Code: smtp; 550 5\.1\.1 no such user Injected: header\r\n/);
  assert.doesNotMatch(status.body, /\r\nInjected:/);
  // RET absent: the header only (RFC 3461 §4.3 leaves the default to us).
  const back = part(dsn, 2);
  assert.equal(back.type, "text/rfc822-headers");
  assert.equal(back.body.replace(/\r\n$/, ""), headerSection(original).toString().replace(/\r\n$/, ""));
});

void test("RET=FULL returns the whole message; SMTPUTF8 mail gets the RFC 6533 types", () => {
  const full = buildDsn({
    reportingMta: "mx.example.org",
    to: "s@example.org",
    arrivalDate: now,
    ret: "FULL",
    recipients: [
      { address: "r@remote.example", action: "delayed", status: "4.4.1", willRetryUntil: now + 86_400_000 },
    ],
    original,
    now,
  });
  assert.equal(parseMessage(full).subject, "Delayed Mail (still being retried)");
  const back = part(full, 2);
  assert.equal(back.type, "message/rfc822");
  assert.ok(back.body.startsWith(original.toString()));
  assert.match(part(full, 1).body, /Will-Retry-Until: /);
  const utf8 = buildDsn({
    reportingMta: "mx.example.org",
    to: "s@example.org",
    arrivalDate: now,
    smtputf8: true,
    recipients: [{ address: "jörg@bücher.example", action: "failed", status: "5.1.1" }],
    original,
    now,
  });
  assert.equal(part(utf8, 1).type, "message/global-delivery-status");
  assert.match(part(utf8, 1).body, /Final-Recipient: utf-8;jörg@bücher\.example/);
  assert.equal(part(utf8, 2).type, "message/global-headers");
});

void test("delivery-status fields stay one line each whatever the texts hold", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (diag, addr) => {
      const text = deliveryStatus({
        reportingMta: "h",
        to: "s@x",
        arrivalDate: now,
        recipients: [{ address: addr, action: "failed", status: "5.0.0", diagnostic: diag }],
        original,
        now,
      });
      for (const line of text.split("\r\n")) assert.ok(line === "" || /^[A-Za-z-]+: /.test(line), line);
    }),
  );
});

void test("routing: MX order with equal preferences shuffled, implicit MX, null MX, missing domain, DNS trouble", async () => {
  const dns = new StaticResolver({
    "multi.example": {
      MX: [
        { exchange: "b.multi.example", priority: 10 },
        { exchange: "backup.multi.example", priority: 20 },
        { exchange: "a.multi.example", priority: 10 },
      ],
    },
    "a.multi.example": { A: ["127.0.0.5"], AAAA: ["::1"] },
    "plain.example": { A: ["127.0.0.6"] },
    "null.example": { MX: [{ exchange: ".", priority: 0 }] },
    "noaddr.example": { TXT: ["v=spf1 -all"] },
    "broken.example": { fail: "SERVFAIL" },
  });
  const r1 = await findRoute(dns, "multi.example", () => 0);
  const r2 = await findRoute(dns, "multi.example", () => 0.99);
  assert.ok(r1.kind === "hosts" && r2.kind === "hosts");
  assert.equal(r1.hosts[2]?.name, "backup.multi.example");
  assert.deepEqual(
    new Set(r1.hosts.slice(0, 2).map((h) => h.name)),
    new Set(["a.multi.example", "b.multi.example"]),
  );
  assert.notDeepEqual(
    r1.hosts.map((h) => h.name),
    r2.hosts.map((h) => h.name),
  );
  assert.deepEqual(await findRoute(dns, "plain.example"), {
    kind: "hosts",
    hosts: [{ name: "plain.example", preference: 0 }],
    implicit: true,
  });
  assert.deepEqual(await findRoute(dns, "null.example"), { kind: "null-mx" });
  assert.deepEqual(await findRoute(dns, "nowhere.example"), { kind: "no-domain" });
  assert.deepEqual(await findRoute(dns, "noaddr.example"), { kind: "no-domain" });
  await assert.rejects(findRoute(dns, "broken.example"), RouteTempError);
  assert.deepEqual((await findRoute(dns, "[127.0.0.9]")).kind, "hosts");
  assert.deepEqual(await addressesOf(dns, "a.multi.example"), ["127.0.0.5", "::1"]);
  assert.deepEqual(await addressesOf(dns, "127.0.0.7"), ["127.0.0.7"]);
});
