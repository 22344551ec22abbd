// `mailroom domain dkim list|rotate|retire` and `mailroom domain dns`: the DKIM signing keys of
// the local domains (src/mailauth/dkim-keys.ts, kept in the store so every node signs with the
// same keys) and every DNS record a domain needs (src/directory/dns-records.ts).
import type { Command } from "commander";
import { systemClock } from "../core/clock.ts";
import { StoreError } from "../core/errors.ts";
import { domainRecords, formatZone } from "../directory/dns-records.ts";
import { DkimKeyStore } from "../mailauth/dkim-keys.ts";
import type { MailStore } from "../store/types.ts";
import { withStore } from "./directory-cmds.ts";
import { normalizeDomain, printTable, UsageError } from "./output.ts";

interface DataOpt {
  data: string;
}

function keyStore(store: MailStore): DkimKeyStore {
  const keys = DkimKeyStore.fromStore(store, systemClock);
  if (keys === null) throw new UsageError("this store keeps no DKIM keys");
  return keys;
}

async function requireDomain(store: MailStore, name: string): Promise<string> {
  const d = normalizeDomain(name);
  if ((await store.getDomain(d)) === null) throw new StoreError("NOTFOUND", `${d} is not a local domain`);
  return d;
}

/** Makes a new domain's signing keys (at `domain add`); returns the line to print. */
export async function makeDomainKeys(store: MailStore, domain: string): Promise<string> {
  const pair = await keyStore(store).ensure(domain);
  return `DKIM keys ${pair.rsa.selector} (rsa-sha256) and ${pair.ed25519.selector} (ed25519-sha256) made; publish the records of: mailroom domain dns ${domain}`;
}

/** Drops a removed domain's keys. */
export async function dropDomainKeys(store: MailStore, domain: string): Promise<void> {
  await keyStore(store).removeDomain(domain);
}

const date = (ms: number | null): string => (ms === null ? "" : new Date(ms).toISOString().slice(0, 10));

export function registerDomainAuthCommands(domain: Command, dataOption: (c: Command) => Command): void {
  const dkim = domain.command("dkim").description("the DKIM signing keys of the local domains");
  dataOption(dkim.command("list [domain]").description("list the DKIM keys (the newest signs)"))
    .option("--retired", "include retired keys")
    .action(async (name: string | undefined, opts: DataOpt & { retired?: boolean }) => {
      await withStore(opts, async (store) => {
        const d = name === undefined ? undefined : await requireDomain(store, name);
        const keys = await keyStore(store).list(d, { retired: opts.retired === true });
        const newest = new Map<string, number>();
        for (const k of keys)
          if (k.retiredAt === null) newest.set(k.domain, Math.max(newest.get(k.domain) ?? 0, k.generation));
        const state = (k: (typeof keys)[number]): string =>
          k.retiredAt !== null
            ? `retired ${date(k.retiredAt)}`
            : k.generation === newest.get(k.domain)
              ? "signing"
              : "published";
        printTable([
          ["DOMAIN", "SELECTOR", "ALGORITHM", "CREATED", "STATE"],
          ...keys.map((k) => [k.domain, k.selector, k.algorithm, date(k.createdAt), state(k)]),
        ]);
      });
    });
  dataOption(
    dkim
      .command("rotate <domain>")
      .description("make a new key pair, which signs from now on; the old one stays published until retired"),
  ).action(async (name: string, opts: DataOpt) => {
    await withStore(opts, async (store) => {
      const d = await requireDomain(store, name);
      const pair = await keyStore(store).rotate(d);
      process.stdout.write(
        `${d}: new keys ${pair.rsa.selector} and ${pair.ed25519.selector}; publish them (mailroom domain dns ${d}) before the servers pick them up (within a minute), and retire the old ones (mailroom domain dkim retire ${d}) once mail signed with them has arrived (a few days)\n`,
      );
    });
  });
  dataOption(
    dkim
      .command("retire <domain>")
      .description("stop publishing the older keys (all but the signing pair, or the one named)"),
  )
    .option("--selector <selector>", "retire only the pair of this selector")
    .action(async (name: string, opts: DataOpt & { selector?: string }) => {
      await withStore(opts, async (store) => {
        const d = await requireDomain(store, name);
        const retired = await keyStore(store).retire(d, opts.selector);
        process.stdout.write(
          retired.length === 0
            ? `${d}: no older keys to retire\n`
            : `${d}: retired ${retired.map((k) => k.selector).join(", ")}; remove their records from DNS\n`,
        );
      });
    });
  dataOption(
    domain.command("dns <domain>").description("print every DNS record the domain needs (zone-file form)"),
  ).action(async (name: string, opts: DataOpt) => {
    await withStore(opts, async (store, config) => {
      const d = await requireDomain(store, name);
      const keys = keyStore(store);
      await keys.ensure(d); // a domain added before keys existed gets them now
      const cfg = config.current();
      process.stdout.write(`; DNS records for ${d} (server ${cfg.server.hostname})\n`);
      process.stdout.write(formatZone(domainRecords(cfg, d, await keys.list(d))));
    });
  });
}
