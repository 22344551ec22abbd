// The mail our server originates is DKIM-signed when it leaves over SMTP: a DSN
// (MAILER-DAEMON@ our host name) and a TLS report (RFC 8460 §5.3 requires the signature) go
// through returnMail, the path the queue runner and the TLS-RPT collector send with, into the
// queue signed by the local domain above the host name; one for a local mailbox is not signed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { DNSResolver } from "mailauth";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { returnMail } from "../../src/delivery/queue-local.ts";
import { DkimKeyStore } from "../../src/mailauth/dkim-keys.ts";
import { OutboundSigner } from "../../src/mailauth/dkim-sign.ts";
import { buildDsn } from "../../src/queue/dsn.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import { buildTlsReport, tlsReportMessage } from "../../src/queue/tls-rpt.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { dkimResults, loopbackLookup, publishKeys, storeWithDomains } from "./dkim-helpers.ts";

let close: () => Promise<void>;
let store: MaintainedMailStore;
let dns: TestDnsServer;
let lookup: DNSResolver;
let queue: QueueStore;
let send: (to: string, message: Buffer) => Promise<void>;
const delivered: Buffer[] = [];

before(async () => {
  ({ store, close } = await storeWithDomains("mailroom-dkim-dsn-", ["a.test"]));
  dns = await startDnsServer();
  lookup = loopbackLookup(dns);
  const keys = DkimKeyStore.fromStore(store, systemClock)!;
  publishKeys(dns, await keys.ensure("a.test"));
  const signer = new OutboundSigner({ store, keys, clock: systemClock, logger: silentLogger() });
  queue = QueueStore.fromStore(store, systemClock)!;
  send = returnMail(
    queue,
    {
      isLocal: (d) => Promise.resolve(d === "a.test"),
      deliver: (_to, _from, message) => {
        delivered.push(message);
        return Promise.resolve({ ok: true, permanent: false, code: 250, enhanced: "2.0.0", text: "ok" });
      },
    },
    (m) => signer.sign(m),
  );
});
after(async () => {
  await close();
  await dns.close();
});

async function lastQueued(): Promise<Buffer> {
  const [m] = await queue.list({ limit: 1 });
  assert.ok(m);
  await queue.cancel(m.id);
  return (await queue.message(m))!;
}

void test("a DSN to a remote sender leaves signed by the local domain above our host name", async () => {
  const now = Date.now();
  const dsn = buildDsn({
    reportingMta: "mx.a.test",
    to: "someone@remote.test",
    arrivalDate: now,
    recipients: [{ address: "gone@far.test", action: "failed", status: "5.1.1", diagnostic: "550 5.1.1 no" }],
    original: Buffer.from("From: someone@remote.test\r\nSubject: hi\r\n\r\nhello\r\n"),
    now,
  });
  await send("someone@remote.test", dsn);
  const out = await lastQueued();
  assert.match(out.toString(), /From: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>/);
  assert.deepEqual(await dkimResults(out, lookup), ["a.test ed25519-sha256 pass", "a.test rsa-sha256 pass"]);

  // To a local mailbox it is delivered as it is.
  await send("owner@a.test", dsn);
  assert.equal(delivered.at(-1)?.subarray(0, 40).toString(), dsn.subarray(0, 40).toString());
});

void test("a TLS report leaves signed (RFC 8460 §5.3)", async () => {
  const report = buildTlsReport([], {
    organization: "mx.a.test",
    contact: "noreply-tlsrpt@mx.a.test",
    reportId: "r1",
    day: "2026-11-22",
  });
  const message = tlsReportMessage({
    report,
    domain: "remote.test",
    submitter: "mx.a.test",
    from: "noreply-tlsrpt@mx.a.test",
    to: "tlsrpt@remote.test",
    now: Date.now(),
  });
  await send("tlsrpt@remote.test", message);
  const out = await lastQueued();
  assert.match(out.toString(), /TLS-Report-Domain: remote\.test/);
  assert.deepEqual(await dkimResults(out, lookup), ["a.test ed25519-sha256 pass", "a.test rsa-sha256 pass"]);
});
