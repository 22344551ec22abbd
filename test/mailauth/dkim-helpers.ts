// Shared by the outbound mail authentication tests: a SQLite store with a local domain, the
// key records of a domain's DKIM keys on the loopback DNS server, and mailauth's resolver
// function asking that server.
import { Resolver as NodeResolver } from "node:dns/promises";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DNSResolver } from "mailauth";
import { dkimVerify } from "mailauth";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { DkimKeyStore, keyRecord, keyRecordName, type DkimKeyPair } from "../../src/mailauth/dkim-keys.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import type { MailStore } from "../../src/store/types.ts";
import { openStore } from "../../src/store/open.ts";
import type { Resolver } from "../../src/dns/resolver.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import type { TestDnsServer } from "../helpers/dns-server.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** A store on a fresh SQLite file with `domains` added; `close` also removes the folder. */
export async function storeWithDomains(
  prefix: string,
  domains: string[],
): Promise<{ store: MaintainedMailStore; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "mail.sqlite"),
    blobs: "auto",
    clock: systemClock,
    logger: silentLogger(),
  });
  for (const d of domains) await store.createDomain(d);
  return {
    store,
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Serves the key records of a generation, split into strings of 255 octets (RFC 1035 §3.3.14). */
export function publishKeys(dns: TestDnsServer, pair: DkimKeyPair): void {
  for (const k of [pair.rsa, pair.ed25519]) {
    const text = keyRecord(k);
    const strings: string[] = [];
    for (let i = 0; i < text.length; i += 255) strings.push(text.slice(i, i + 255));
    dns.set(keyRecordName(k), { TXT: [strings] });
  }
}

/** mailauth's resolver function over the loopback DNS server. */
export function loopbackLookup(dns: TestDnsServer): DNSResolver {
  const r = new NodeResolver({ timeout: 1000, tries: 1 });
  r.setServers([dns.address]);
  return (name, type) => r.resolve(name, type) as Promise<string[][]>;
}

/** "domain algorithm result" of each DKIM signature, as mailauth verifies them, sorted. */
export async function dkimResults(message: Buffer | string, lookup: DNSResolver): Promise<string[]> {
  const r = await dkimVerify(message, { resolver: lookup });
  return r.results.map((x) => `${x.signingDomain ?? ""} ${x.algo ?? ""} ${x.status.result}`).sort();
}

/** Makes the domain's keys in the store (as `mailroom domain add` does) and publishes them. */
export async function makeKeys(dns: TestDnsServer, store: MailStore, domain: string): Promise<void> {
  publishKeys(dns, await DkimKeyStore.fromStore(store, systemClock)!.ensure(domain));
}

/** A TCP port free on 127.0.0.1 now (for a listener whose port another server needs first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The sending server of the end-to-end tests: submission (plain text allowed) and an smtp
 * listener on `smtpPort`, outbound delivery to `mxPort`, the local domain a.test with its
 * sender (sender@a.test, password "secret-pw") and its DKIM keys published.
 */
export async function startSubmitter(opts: {
  prefix: string;
  dns: TestDnsServer;
  resolver: Resolver;
  queue: Record<string, unknown>;
  mxPort: number;
  smtpPort: number;
}): Promise<TestServer> {
  const a = await startTestServer({
    prefix: opts.prefix,
    listeners: { submission: { allowPlaintextAuth: true }, smtp: { port: opts.smtpPort } },
    protocols: { submission: smtpProtocol("submission"), smtp: smtpProtocol("smtp") },
    outbound: true,
    resolver: opts.resolver,
    config: { queue: { ...opts.queue, mxPort: opts.mxPort } },
  });
  await a.store.createDomain("a.test");
  await a.addAccount("sender@a.test", "secret-pw");
  await makeKeys(opts.dns, a.store, "a.test");
  return a;
}
