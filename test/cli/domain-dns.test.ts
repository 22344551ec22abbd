// `mailroom domain add` makes the DKIM keys, `domain dns` prints every record the domain needs
// (the DKIM records as printed, served by a loopback DNS server, verify a message our signer
// signed), and `domain dkim rotate|retire|list` move the published and signing keys.
import assert from "node:assert/strict";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openDataDir, openDataStore } from "../../src/cli/data-dir.ts";
import { mtaStsPolicyId } from "../../src/directory/dns-records.ts";
import { DkimKeyStore } from "../../src/mailauth/dkim-keys.ts";
import { OutboundSigner } from "../../src/mailauth/dkim-sign.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { startDnsServer } from "../helpers/dns-server.ts";
import { dkimResults, loopbackLookup } from "../mailauth/dkim-helpers.ts";

interface Rr {
  name: string;
  type: string;
  value: string;
}

function parseZone(text: string): Rr[] {
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith(";"))
    .map((l) => {
      const m = /^(\S+)\s+3600 IN (\S+)\s+(.*)$/.exec(l);
      assert.ok(m, `not a record line: ${l}`);
      return { name: m[1]!, type: m[2]!, value: m[3]! };
    });
}

/** The quoted character-strings of a TXT value. */
const strings = (value: string): string[] => [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
/** The text of a TXT value: its strings joined (RFC 6376 §3.6.2.2). */
const txt = (value: string): string => strings(value).join("");

void test("domain add makes DKIM keys; domain dns prints every record; rotate and retire move the keys", async () => {
  const { dir, cleanup } = await tempDir("mailroom-domain-dns-");
  const dns = await startDnsServer();
  try {
    await runCli(["config", "check", "--data", dir]);
    const add = await runCli(["domain", "add", "a.test", "--data", dir]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /DKIM keys mr\d{4}a-rsa \(rsa-sha256\) and mr\d{4}a-ed \(ed25519-sha256\) made/);

    const out = await runCli(["domain", "dns", "a.test", "--data", dir]);
    assert.equal(out.code, 0, out.stderr);
    const rrs = parseZone(out.stdout);
    const find = (name: string, type: string): Rr[] => rrs.filter((r) => r.name === name && r.type === type);
    assert.deepEqual(
      find("a.test.", "MX").map((r) => r.value),
      ["10 localhost."],
    );
    assert.deepEqual(
      find("a.test.", "TXT").map((r) => txt(r.value)),
      ["v=spf1 mx -all"],
    );
    assert.deepEqual(
      find("_dmarc.a.test.", "TXT").map((r) => txt(r.value)),
      ["v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@a.test"],
    );
    const dd = await openDataDir({ dir });
    assert.deepEqual(
      find("_mta-sts.a.test.", "TXT").map((r) => txt(r.value)),
      [`v=STSv1; id=${mtaStsPolicyId(dd.config.current())}`],
    );
    assert.match(mtaStsPolicyId(dd.config.current()), /^[a-z0-9]{1,32}$/);
    assert.equal(find("mta-sts.a.test.", "CNAME").length, 1);
    assert.deepEqual(
      find("_smtp._tls.a.test.", "TXT").map((r) => txt(r.value)),
      ["v=TLSRPTv1; rua=mailto:tls-reports@a.test"],
    );
    const srv = Object.fromEntries(rrs.filter((r) => r.type === "SRV").map((r) => [r.name, r.value]));
    assert.deepEqual(srv, {
      "_submissions._tcp.a.test.": "0 1 465 localhost.",
      "_submission._tcp.a.test.": "10 1 587 localhost.",
      "_imaps._tcp.a.test.": "0 1 993 localhost.",
      "_imap._tcp.a.test.": "10 1 143 localhost.",
      "_pop3s._tcp.a.test.": "0 1 995 localhost.",
      "_pop3._tcp.a.test.": "10 1 110 localhost.",
      "_autodiscover._tcp.a.test.": "0 1 443 localhost.",
    });
    assert.equal(find("autoconfig.a.test.", "CNAME").length, 1);
    assert.equal(find("autodiscover.a.test.", "CNAME").length, 1);

    // The DKIM records as printed verify what the server signs.
    const dkim = rrs.filter((r) => r.name.includes("._domainkey."));
    assert.deepEqual(
      dkim.map((r) => txt(r.value).slice(0, 20)),
      ["v=DKIM1; k=rsa; p=MI", "v=DKIM1; k=ed25519; "],
    );
    for (const r of dkim) {
      assert.ok(strings(r.value).every((s) => s.length <= 255));
      dns.set(r.name, { TXT: [strings(r.value)] });
    }
    const store = await openDataStore(dd.config.current(), silentLogger());
    try {
      const keys = DkimKeyStore.fromStore(store, systemClock)!;
      const signer = new OutboundSigner({ store, keys, clock: systemClock, logger: silentLogger() });
      const signed = await signer.sign(Buffer.from("From: x@a.test\r\nSubject: s\r\n\r\nbody\r\n"));
      assert.deepEqual(await dkimResults(signed, loopbackLookup(dns)), [
        "a.test ed25519-sha256 pass",
        "a.test rsa-sha256 pass",
      ]);
    } finally {
      await store.close();
    }

    // Rotation publishes both pairs; retirement drops the old one.
    const rot = await runCli(["domain", "dkim", "rotate", "a.test", "--data", dir]);
    assert.match(rot.stdout, /new keys mr\d{4}b-rsa and mr\d{4}b-ed/);
    const after = parseZone((await runCli(["domain", "dns", "a.test", "--data", dir])).stdout);
    assert.equal(after.filter((r) => r.name.includes("._domainkey.")).length, 4);
    const list = (await runCli(["domain", "dkim", "list", "--data", dir])).stdout;
    assert.match(list, /mr\d{4}a-rsa\s+rsa-sha256\s+\S+\s+published/);
    assert.match(list, /mr\d{4}b-ed\s+ed25519-sha256\s+\S+\s+signing/);
    const refused = await runCli(["domain", "dkim", "retire", "a.test", "--selector", "nope", "--data", dir]);
    assert.equal(refused.code, 1);
    const ret = await runCli(["domain", "dkim", "retire", "a.test", "--data", dir]);
    assert.match(ret.stdout, /retired mr\d{4}a-rsa, mr\d{4}a-ed/);
    const final = parseZone((await runCli(["domain", "dns", "a.test", "--data", dir])).stdout);
    assert.deepEqual(
      final.filter((r) => r.name.includes("._domainkey.")).map((r) => r.name.split(".")[0]),
      [`mr${new Date().getUTCFullYear()}b-rsa`, `mr${new Date().getUTCFullYear()}b-ed`],
    );
    assert.match((await runCli(["domain", "dkim", "list", "--retired", "--data", dir])).stdout, /retired/);

    // A removed domain takes its keys along; an unknown one is refused.
    assert.equal((await runCli(["domain", "remove", "a.test", "--data", dir])).code, 0);
    assert.equal((await runCli(["domain", "dns", "a.test", "--data", dir])).code, 1);
  } finally {
    await dns.close();
    await cleanup();
  }
});
