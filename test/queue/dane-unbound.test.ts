// DANE end to end (RFC 7672): a Mailroom instance delivers through its queue to another one on
// loopback, with MX routing and TLSA lookups both through Debian's unbound validating a zone
// signed with Debian's ldns tools (test/helpers/unbound.ts). DANE-EE and DANE-TA records that
// match the receiving server's certificate deliver over TLS verified by DANE; a TLSA mismatch
// defers (4.7.5, nothing in clear text) and REQUIRETLS mail bounces; a bogus TLSA answer
// (changed after signing: unbound says SERVFAIL) defers; an unsigned zone gets opportunistic TLS.
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { after, before, test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { systemResolver } from "../../src/dns/resolver.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { dnssecResolver } from "../../src/queue/dane.ts";
import { QueueStore, type QueuedMessage, type QueueParams } from "../../src/queue/queue-store.ts";
import type { SqlDriver } from "../../src/store/sql.ts";
import type { Id, MailStore } from "../../src/store/types.ts";
import { TlsProvider } from "../../src/tls/provider.ts";
import { chainPem, testCa, testLeaf } from "../helpers/cert-chain.ts";
import { message, startTestServer, type TestServer } from "../helpers/server.ts";
import { startUnbound, type Unbound } from "../helpers/unbound.ts";

let unbound: Unbound;
let a: TestServer;
let b: TestServer;
let queue: QueueStore;
let sender: Id;
const inbox = new Map<string, Id>();

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const spki = (c: X509Certificate): Buffer => c.publicKey.export({ type: "spki", format: "der" });
/** The recipient domains of the signed zone, each with its own MX host and TLSA records. */
const SIGNED = ["ee", "ta0", "ta1", "bad", "bogus"];

before(async () => {
  // The receiving server's chain: a test CA and a leaf for every MX host name.
  const caPems = await testCa("Mailroom DANE test CA");
  const leafPems = await testLeaf(caPems, [...SIGNED.map((d) => `mx-${d}.dane.test`), "mx.plain.test"]);
  const leaf = new X509Certificate(leafPems.cert);
  const ca = new X509Certificate(caPems.cert);
  b = await startTestServer({
    prefix: "mailroom-dane-b-",
    listeners: { smtp: {} },
    protocols: { smtp: smtpProtocol("smtp") },
    tls: TlsProvider.fromPem({ cert: chainPem(leafPems, caPems), key: leafPems.key }),
  });
  for (const d of [...SIGNED.map((s) => `${s}.dane.test`), "plain.test"]) {
    await b.store.createDomain(d);
    inbox.set(d, (await b.store.createAccount({ name: `user@${d}` })).id);
  }
  // TLSA names carry the port the MX listens on (RFC 6698 §3): B's SMTP port here.
  const port = b.port("smtp");
  const mx = (d: string, tlsa: string): string[] => [
    `${d} IN MX 10 mx-${d}`,
    `mx-${d} IN A 127.0.0.1`,
    `_${port}._tcp.mx-${d} IN TLSA ${tlsa}`,
  ];
  unbound = await startUnbound([
    {
      name: "dane.test",
      records: [
        ...mx("ee", `3 1 1 ${sha256(spki(leaf))}`),
        ...mx("ta0", `2 0 1 ${sha256(ca.raw)}`),
        ...mx("ta1", `2 1 1 ${sha256(spki(ca))}`),
        ...mx("bad", `3 1 1 ${"5a".repeat(32)}`),
        ...mx("bogus", `3 1 1 ${sha256(spki(leaf))}`),
      ],
      // The bogus host's TLSA record is altered after signing: its signature no longer verifies.
      afterSigning: (text) => {
        const out = text.replace(/^(_\d+\._tcp\.mx-bogus\.dane\.test\.\s.*\sTLSA\s+3 1 1 )../m, "$100");
        assert.notEqual(out, text);
        return out;
      },
    },
    { name: "plain.test", signed: false, records: ["@ IN MX 10 mx", "mx IN A 127.0.0.1"] },
  ]);
  a = await startTestServer({
    prefix: "mailroom-dane-a-",
    listeners: {},
    protocols: {},
    outbound: true,
    resolver: systemResolver([unbound.address], { timeoutMs: 2000, tries: 1 }),
    config: {
      queue: {
        mxPort: port,
        pollSeconds: 0.1,
        mtaSts: false,
        tlsReports: true,
        daneResolver: unbound.address,
      },
    },
  });
  await a.store.createDomain("a.test");
  sender = (await a.store.createAccount({ name: "sender@a.test" })).id;
  queue = QueueStore.fromStore(a.store, systemClock)!;
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await unbound?.close();
});

async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = await f();
    if (got !== undefined) return got;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Queues a message from sender@a.test and waits for the end of its first attempt: the queue
 * entry as it waits for a retry, or null when it is gone (every recipient delivered or failed).
 */
async function send(to: string, subject: string, params: QueueParams = {}): Promise<QueuedMessage | null> {
  const id = await queue.enqueue({
    from: "sender@a.test",
    message: Buffer.from(message(subject)),
    recipients: [{ address: to }],
    params,
  });
  return until(`the first attempt to ${to}`, async () => {
    const m = await queue.get(id);
    if (!m) return { gone: true as const };
    return m.status !== "sending" && m.recipients[0]!.attempts > 0 ? m : undefined;
  }).then((m) => ("gone" in m ? null : m));
}

async function mailbox(store: MailStore, account: Id): Promise<string[]> {
  const box = await store.getMailboxByPath(account, "INBOX");
  assert.ok(box);
  const out: string[] = [];
  for (const r of await store.listMessages(account, box.id))
    out.push((await store.getRaw(account, r.emailId))!.toString());
  return out;
}

interface RptRow {
  policy_domain: string;
  policy_type: string;
  mx_host: string;
  result_type: string;
  sessions: number;
}
/** The TLS-RPT outcomes recorded for `domain` (written within a second of the attempt). */
async function tlsRpt(domain: string): Promise<RptRow[]> {
  const driver = (a.store as Partial<{ driver: SqlDriver }>).driver!;
  return until(`TLS-RPT results for ${domain}`, async () => {
    const rows = await driver.all<RptRow>(
      "SELECT policy_domain, policy_type, mx_host, result_type, sessions FROM tls_rpt_results WHERE policy_domain = ?",
      [domain],
    );
    return rows.length > 0 ? rows : undefined;
  });
}

void test("unbound validates the signed zone (AD), leaves the unsigned one insecure and fails the bogus record", async () => {
  const r = dnssecResolver(unbound.address, { timeoutMs: 2000 });
  const port = b.port("smtp");
  assert.equal((await r.mx("ee.dane.test")).secure, true);
  const tlsa = await r.tlsa(`_${port}._tcp.mx-ee.dane.test`);
  assert.equal(tlsa.secure, true);
  assert.deepEqual(
    tlsa.records.map((x) => [x.usage, x.selector, x.matchingType]),
    [[3, 1, 1]],
  );
  assert.deepEqual(await r.mx("plain.test"), {
    records: [{ exchange: "mx.plain.test", priority: 10 }],
    secure: false,
    empty: false,
  });
  await assert.rejects(r.tlsa(`_${port}._tcp.mx-bogus.dane.test`), /rcode 2/);
  assert.match(unbound.log(), /validation failure <_\d+\._tcp\.mx-bogus\.dane\.test\. TLSA IN>/);
});

/** The DSN that came back to sender@a.test about `rcpt`. */
async function bounce(rcpt: string): Promise<string> {
  return until(`the DSN about ${rcpt}`, async () =>
    (await mailbox(a.store, sender)).find((x) => x.includes(`Final-Recipient: rfc822;${rcpt}`)),
  );
}

const ESMTPS = /Received: from [^\r\n]*(\r\n\s[^\r\n]*)*ESMTPS/;

void test("DANE-EE 3 1 1, DANE-TA 2 0 1 and 2 1 1: delivered over TLS verified by DANE", async () => {
  const domains = ["ee", "ta0", "ta1"];
  const left = await Promise.all(domains.map((d) => send(`user@${d}.dane.test`, `dane ${d}`)));
  assert.deepEqual(left, [null, null, null]);
  for (const d of domains) {
    const [got] = await mailbox(b.store, inbox.get(`${d}.dane.test`)!);
    assert.match(got!, new RegExp(`Subject: dane ${d}`));
    assert.match(got!, ESMTPS);
    // TLS-RPT (RFC 8460 §4.3): one successful session under the "tlsa" policy.
    const [row] = await tlsRpt(`${d}.dane.test`);
    assert.deepEqual(
      { type: row!.policy_type, mx: row!.mx_host, result: row!.result_type, n: Number(row!.sessions) },
      { type: "tlsa", mx: `mx-${d}.dane.test`, result: "", n: 1 },
    );
  }
});

void test("REQUIRETLS mail goes where DANE authenticates the host", async () => {
  assert.equal(await send("user@ee.dane.test", "requiretls ee", { requireTls: true }), null);
  const got = await mailbox(b.store, inbox.get("ee.dane.test")!);
  assert.ok(got.some((x) => x.includes("Subject: requiretls ee")));
});

void test("a TLSA mismatch defers with 4.7.5 and sends nothing in clear text; REQUIRETLS mail bounces", async () => {
  const m = await send("user@bad.dane.test", "dane mismatch");
  assert.ok(m);
  const r = m.recipients[0]!;
  assert.deepEqual([m.status, r.status, r.dsnStatus], ["queued", "pending", "4.7.5"]);
  assert.match(r.lastError ?? "", /no TLSA record matches/);
  const [row] = await tlsRpt("bad.dane.test");
  assert.deepEqual([row!.policy_type, row!.result_type], ["tlsa", "tlsa-invalid"]);
  // RFC 8689 §4.2.1: no MX host could take it over authenticated TLS: returned at once.
  assert.equal(await send("user@bad.dane.test", "requiretls mismatch", { requireTls: true }), null);
  assert.match(await bounce("user@bad.dane.test"), /Action: failed\r\nStatus: 5\.7\.10/);
  assert.deepEqual(await mailbox(b.store, inbox.get("bad.dane.test")!), []);
});

void test("a bogus TLSA answer (SERVFAIL from the validator) defers the delivery", async () => {
  const m = await send("user@bogus.dane.test", "dane bogus");
  assert.ok(m);
  const r = m.recipients[0]!;
  assert.deepEqual([m.status, r.status, r.dsnStatus], ["queued", "pending", "4.4.3"]);
  assert.match(r.lastError ?? "", /DNSSEC lookup for mx-bogus\.dane\.test failed/);
  assert.deepEqual(await mailbox(b.store, inbox.get("bogus.dane.test")!), []);
  const [row] = await tlsRpt("bogus.dane.test");
  assert.deepEqual([row!.policy_type, row!.result_type], ["tlsa", "dnssec-invalid"]);
});

void test("an unsigned zone gets opportunistic TLS, and no REQUIRETLS mail", async () => {
  assert.equal(await send("user@plain.test", "insecure zone"), null);
  const [got] = await mailbox(b.store, inbox.get("plain.test")!);
  assert.match(got!, ESMTPS);
  assert.equal(await send("user@plain.test", "requiretls insecure", { requireTls: true }), null);
  assert.match(await bounce("user@plain.test"), /Action: failed\r\nStatus: 5\.7\.30/);
  assert.equal((await mailbox(b.store, inbox.get("plain.test")!)).length, 1);
});
