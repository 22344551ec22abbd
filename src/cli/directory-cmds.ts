// `mailroom domain|account|alias ...`: the directory, kept in the store. These commands work
// whether or not a server runs on the same data folder; a running server sees the change at
// once (it reads the directory from the store at each use).
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { createAppPassword, makeCredential } from "../auth/password.ts";
import { StoreError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import type { ConfigManager } from "../config/reload.ts";
import type { Account, MailStore } from "../store/types.ts";
import { bootstrapStore, openDataDir, openDataStore } from "./data-dir.ts";
import { dropDomainKeys, makeDomainKeys, registerDomainAuthCommands } from "./domain-auth-cmds.ts";
import {
  formatSize,
  normalizeAddress,
  normalizeDomain,
  parseCount,
  parseSize,
  printTable,
  UsageError,
} from "./output.ts";

interface DataOpt {
  data: string;
}

/** Opens the data folder's store for one command and closes it afterwards. */
export async function withStore<T>(
  opts: DataOpt,
  fn: (store: MailStore, config: ConfigManager) => Promise<T>,
): Promise<T> {
  const dd = await openDataDir({ dir: opts.data });
  const store = await openDataStore(dd.config.current(), silentLogger());
  try {
    const boot = await bootstrapStore(store);
    if (boot) {
      process.stderr.write(
        `created ${dd.dir}: domain ${boot.domain}, account ${boot.admin} with password ${boot.password} (shown once)\n`,
      );
    }
    return await fn(store, dd.config);
  } finally {
    await store.close();
  }
}

export async function requireAccount(store: MailStore, address: string): Promise<Account> {
  const name = normalizeAddress(address);
  const account = (await store.getAccountByName(name)) ?? (await store.getAccountByAddress(name));
  if (!account) throw new StoreError("NOTFOUND", `no account ${name}`);
  return account;
}

async function requireLocalDomain(store: MailStore, address: string): Promise<void> {
  const domain = address.slice(address.lastIndexOf("@") + 1);
  if (!(await store.getDomain(domain))) {
    throw new StoreError(
      "NOTFOUND",
      `${domain} is not a local domain; add it first with: mailroom domain add ${domain}`,
    );
  }
}

function dataOption(cmd: Command): Command {
  return cmd.requiredOption("--data <dir>", "the data folder", "./data");
}

function generatedPassword(): string {
  return randomBytes(12).toString("base64url");
}

export function registerDirectoryCommands(program: Command): void {
  const domain = program.command("domain").description("manage the local domains");
  dataOption(domain.command("add <domain>").description("add a local domain"))
    .option("--catch-all <address>", "deliver mail for unknown addresses of the domain to this account")
    .action(async (name: string, opts: DataOpt & { catchAll?: string }) => {
      const d = normalizeDomain(name);
      await withStore(opts, async (store) => {
        await store.createDomain(d, { catchAll: opts.catchAll ? normalizeAddress(opts.catchAll) : null });
        process.stdout.write(`domain ${d} added\n${await makeDomainKeys(store, d)}\n`);
      });
    });
  dataOption(domain.command("list").description("list the local domains")).action(async (opts: DataOpt) => {
    await withStore(opts, async (store) => {
      const rows = (await store.listDomains()).map((d) => [d.name, d.catchAll ?? ""]);
      printTable([["DOMAIN", "CATCH-ALL"], ...rows]);
    });
  });
  dataOption(
    domain.command("remove <domain>").description("remove a local domain (it must have no accounts)"),
  ).action(async (name: string, opts: DataOpt) => {
    const d = normalizeDomain(name);
    await withStore(opts, async (store) => {
      await store.deleteDomain(d);
      await dropDomainKeys(store, d);
      process.stdout.write(`domain ${d} removed\n`);
    });
  });
  registerDomainAuthCommands(domain, dataOption);

  const account = program.command("account").description("manage accounts");
  dataOption(account.command("add <address>").description("add an account (its domain must be local)"))
    .option("--password <password>", "the password (a random one is printed when omitted)")
    .option("--name <display-name>", "the display name")
    .option("--quota <size>", "storage quota, e.g. 2G (default unlimited)")
    .option("--quota-messages <count>", "message count quota (default unlimited)")
    .option("--admin", "give the account the admin role")
    .option("--alias <address...>", "further addresses of the account")
    .action(
      async (
        address: string,
        opts: DataOpt & {
          password?: string;
          name?: string;
          quota?: string;
          quotaMessages?: string;
          admin?: boolean;
          alias?: string[];
        },
      ) => {
        const name = normalizeAddress(address);
        const extra = (opts.alias ?? []).map(normalizeAddress);
        await withStore(opts, async (store) => {
          for (const a of [name, ...extra]) await requireLocalDomain(store, a);
          const password = opts.password ?? generatedPassword();
          const credential = await makeCredential(password);
          const acc = await store.createAccount({
            name,
            addresses: [name, ...extra],
            displayName: opts.name ?? null,
            roles: opts.admin ? ["admin", "user"] : ["user"],
            quotaBytes: opts.quota === undefined ? null : parseSize(opts.quota),
            quotaMessages: opts.quotaMessages === undefined ? null : parseCount(opts.quotaMessages),
          });
          await store.setPassword(acc.id, credential);
          process.stdout.write(
            opts.password === undefined
              ? `account ${name} added with password ${password} (shown once)\n`
              : `account ${name} added\n`,
          );
        });
      },
    );
  dataOption(account.command("list").description("list the accounts")).action(async (opts: DataOpt) => {
    await withStore(opts, async (store) => {
      const rows = (await store.listAccounts()).map((a) => [
        a.name,
        a.addresses.filter((x) => x !== a.name).join(",") || "-",
        `${formatSize(a.usedBytes)} / ${formatSize(a.quotaBytes)}`,
        `${a.usedMessages} / ${a.quotaMessages ?? "unlimited"}`,
        a.roles.join(","),
        a.disabled ? "disabled" : "",
      ]);
      printTable([["ACCOUNT", "OTHER ADDRESSES", "STORAGE", "MESSAGES", "ROLES", ""], ...rows]);
    });
  });
  dataOption(account.command("passwd <address>").description("set an account's password"))
    .option("--password <password>", "the new password (a random one is printed when omitted)")
    .action(async (address: string, opts: DataOpt & { password?: string }) => {
      await withStore(opts, async (store) => {
        const acc = await requireAccount(store, address);
        const password = opts.password ?? generatedPassword();
        await store.setPassword(acc.id, await makeCredential(password));
        process.stdout.write(
          opts.password === undefined
            ? `password of ${acc.name} set to ${password} (shown once)\n`
            : `password of ${acc.name} changed\n`,
        );
      });
    });
  dataOption(account.command("app-password <address>").description("create an application password"))
    .requiredOption("--label <label>", "what the password is for, e.g. phone")
    .action(async (address: string, opts: DataOpt & { label: string }) => {
      await withStore(opts, async (store) => {
        const acc = await requireAccount(store, address);
        const main = (await store.listCredentials(acc.id)).find((c) => c.credential.kind === "password");
        const { password, credential } = await createAppPassword({
          label: opts.label,
          ...(main ? { scramSaltFrom: main.credential } : {}),
        });
        await store.addCredential(acc.id, credential);
        process.stdout.write(`app password for ${acc.name} (${opts.label}): ${password} (shown once)\n`);
      });
    });
  dataOption(account.command("quota <address>").description("show or set an account's quotas"))
    .option("--bytes <size>", "storage quota, e.g. 2G or unlimited")
    .option("--messages <count>", "message count quota, or unlimited")
    .action(async (address: string, opts: DataOpt & { bytes?: string; messages?: string }) => {
      await withStore(opts, async (store) => {
        let acc = await requireAccount(store, address);
        if (opts.bytes !== undefined || opts.messages !== undefined) {
          acc = await store.updateAccount(acc.id, {
            ...(opts.bytes !== undefined ? { quotaBytes: parseSize(opts.bytes) } : {}),
            ...(opts.messages !== undefined ? { quotaMessages: parseCount(opts.messages) } : {}),
          });
        }
        process.stdout.write(
          `${acc.name}: storage ${formatSize(acc.usedBytes)} of ${formatSize(acc.quotaBytes)}, ` +
            `messages ${acc.usedMessages} of ${acc.quotaMessages ?? "unlimited"}\n`,
        );
      });
    });
  dataOption(account.command("remove <address>").description("remove an account and all its mail")).action(
    async (address: string, opts: DataOpt) => {
      await withStore(opts, async (store) => {
        const acc = await requireAccount(store, address);
        await store.deleteAccount(acc.id);
        process.stdout.write(`account ${acc.name} removed\n`);
      });
    },
  );

  const alias = program.command("alias").description("manage aliases (addresses that forward)");
  dataOption(
    alias
      .command("add <address> <targets...>")
      .description("make an address deliver to accounts or external addresses"),
  ).action(async (address: string, targets: string[], opts: DataOpt) => {
    const a = normalizeAddress(address);
    if (targets.length === 0) throw new UsageError("an alias needs at least one target");
    await withStore(opts, async (store) => {
      await requireLocalDomain(store, a);
      await store.setAlias({ address: a, targets: targets.map(normalizeAddress) });
      process.stdout.write(`alias ${a} -> ${targets.join(", ")}\n`);
    });
  });
  dataOption(alias.command("list [domain]").description("list aliases")).action(
    async (domainName: string | undefined, opts: DataOpt) => {
      await withStore(opts, async (store) => {
        const list = await store.listAliases(domainName ? normalizeDomain(domainName) : undefined);
        printTable([["ALIAS", "TARGETS"], ...list.map((a) => [a.address, a.targets.join(", ")])]);
      });
    },
  );
  dataOption(alias.command("remove <address>").description("remove an alias")).action(
    async (address: string, opts: DataOpt) => {
      const a = normalizeAddress(address);
      await withStore(opts, async (store) => {
        await store.removeAlias(a);
        process.stdout.write(`alias ${a} removed\n`);
      });
    },
  );
}
