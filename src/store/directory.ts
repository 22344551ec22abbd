// The directory part of the store: domains, accounts (principals) with their addresses,
// credentials, aliases, and recipient resolution for delivery.
import type { StoredCredential } from "../auth/types.ts";
import { StoreError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { StoreContext } from "./context.ts";
import { chunks, lockAccount, marks, writeAccount } from "./context.ts";
import { createDefaultMailboxes } from "./mailboxes.ts";
import type { SqlExecutor } from "./sql.ts";
import type {
  Account,
  AccountPatch,
  Alias,
  CredentialRecord,
  Domain,
  Id,
  NewAccount,
  PrincipalKind,
  Recipient,
} from "./types.ts";

// ---- names and addresses ----

/** Addresses compare case-insensitively here (RFC 5321 §2.4 allows case-sensitive local parts; nobody relies on it). */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** A login name: trimmed, the domain part of an address lower-cased. */
export function normalizeName(name: string): string {
  const n = name.trim();
  const at = n.lastIndexOf("@");
  return at < 0 ? n : n.slice(0, at) + "@" + n.slice(at + 1).toLowerCase();
}

function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at < 0 ? "" : address.slice(at + 1);
}

function checkAddress(a: string): string {
  const v = normalizeAddress(a);
  const at = v.lastIndexOf("@");
  if (at <= 0 || at === v.length - 1 || /\s/.test(v)) throw new StoreError("INVALID", `bad address ${a}`);
  return v;
}

// ---- domains ----

interface DomainRow {
  name: string;
  catch_all: string | null;
  created_at: number;
}

const toDomain = (r: DomainRow): Domain => ({ name: r.name, catchAll: r.catch_all, createdAt: r.created_at });

function domainName(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, "");
  if (!n || n.includes("@") || /\s/.test(n)) throw new StoreError("INVALID", `bad domain name ${name}`);
  return n;
}

export async function createDomain(
  ctx: StoreContext,
  name: string,
  opts?: { catchAll?: string | null },
): Promise<Domain> {
  const d: DomainRow = {
    name: domainName(name),
    catch_all: opts?.catchAll ?? null,
    created_at: ctx.clock.now(),
  };
  await ctx.driver.transaction(async (tx) => {
    const r = await tx.run(
      "INSERT INTO domains (name, catch_all, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
      [d.name, d.catch_all, d.created_at],
    );
    if (r.changes === 0) throw new StoreError("EXISTS", `domain ${d.name} exists`);
  });
  return toDomain(d);
}

export async function getDomain(ctx: StoreContext, name: string): Promise<Domain | null> {
  const r = await ctx.driver.get<DomainRow>(
    "SELECT name, catch_all, created_at FROM domains WHERE name = ?",
    [name.trim().toLowerCase()],
  );
  return r ? toDomain(r) : null;
}

export async function listDomains(ctx: StoreContext): Promise<Domain[]> {
  const rows = await ctx.driver.all<DomainRow>(
    "SELECT name, catch_all, created_at FROM domains ORDER BY name",
  );
  return rows.map(toDomain);
}

export async function updateDomain(
  ctx: StoreContext,
  name: string,
  patch: { catchAll?: string | null },
): Promise<Domain> {
  const n = name.trim().toLowerCase();
  return ctx.driver.transaction(async (tx) => {
    if (patch.catchAll !== undefined) {
      await tx.run("UPDATE domains SET catch_all = ? WHERE name = ?", [patch.catchAll, n]);
    }
    const r = await tx.get<DomainRow>("SELECT name, catch_all, created_at FROM domains WHERE name = ?", [n]);
    if (!r) throw new StoreError("NOTFOUND", `no domain ${n}`);
    return toDomain(r);
  });
}

async function addressesInDomain(
  db: SqlExecutor,
  table: "addresses" | "aliases",
  domain: string,
): Promise<string[]> {
  // LIKE narrows (its "_" wildcard may over-match), the exact suffix test decides.
  const rows = await db.all<{ address: string }>(
    `SELECT DISTINCT address FROM ${table} WHERE address LIKE ?`,
    [`%@${domain}`],
  );
  return rows.map((r) => r.address).filter((a) => domainOf(a) === domain);
}

export async function deleteDomain(ctx: StoreContext, name: string): Promise<void> {
  const n = name.trim().toLowerCase();
  await ctx.driver.transaction(async (tx) => {
    if ((await addressesInDomain(tx, "addresses", n)).length > 0) {
      throw new StoreError("INVALID", `accounts still have addresses in ${n}`);
    }
    for (const a of await addressesInDomain(tx, "aliases", n))
      await tx.run("DELETE FROM aliases WHERE address = ?", [a]);
    const r = await tx.run("DELETE FROM domains WHERE name = ?", [n]);
    if (r.changes === 0) throw new StoreError("NOTFOUND", `no domain ${n}`);
  });
}

// ---- accounts ----

interface AccountRowFull {
  num: number;
  id: string;
  name: string;
  kind: string;
  display_name: string | null;
  roles: string;
  quota_bytes: number | null;
  quota_messages: number | null;
  used_bytes: number;
  used_messages: number;
  disabled: number;
  created_at: number;
}

const ACCOUNT_SELECT = `SELECT num, id, name, kind, display_name, roles, quota_bytes, quota_messages, used_bytes,
  used_messages, disabled, created_at FROM accounts`;

async function toAccounts(db: SqlExecutor, rows: AccountRowFull[]): Promise<Account[]> {
  const addrs = new Map<number, string[]>();
  for (const part of chunks(rows.map((r) => r.num))) {
    const list = await db.all<{ account_num: number; address: string }>(
      `SELECT account_num, address FROM addresses WHERE account_num IN (${marks(part.length)}) ORDER BY position`,
      part,
    );
    for (const a of list) {
      const l = addrs.get(a.account_num);
      if (l) l.push(a.address);
      else addrs.set(a.account_num, [a.address]);
    }
  }
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind as PrincipalKind,
    displayName: r.display_name,
    addresses: addrs.get(r.num) ?? [],
    roles: JSON.parse(r.roles) as string[],
    quotaBytes: r.quota_bytes,
    quotaMessages: r.quota_messages,
    usedBytes: r.used_bytes,
    usedMessages: r.used_messages,
    disabled: r.disabled !== 0,
    createdAt: r.created_at,
  }));
}

async function oneAccount(db: SqlExecutor, where: string, param: string): Promise<Account | null> {
  const rows = await db.all<AccountRowFull>(`${ACCOUNT_SELECT} WHERE ${where}`, [param]);
  const [a] = await toAccounts(db, rows);
  return a ?? null;
}

export async function getAccount(ctx: StoreContext, id: Id): Promise<Account | null> {
  return oneAccount(ctx.driver, "id = ?", id);
}

export async function getAccountByName(ctx: StoreContext, name: string): Promise<Account | null> {
  return oneAccount(ctx.driver, "name = ?", normalizeName(name));
}

export async function getAccountByAddress(ctx: StoreContext, address: string): Promise<Account | null> {
  return oneAccount(
    ctx.driver,
    "num = (SELECT account_num FROM addresses WHERE address = ?)",
    normalizeAddress(address),
  );
}

export async function listAccounts(ctx: StoreContext): Promise<Account[]> {
  return toAccounts(ctx.driver, await ctx.driver.all<AccountRowFull>(`${ACCOUNT_SELECT} ORDER BY name`));
}

async function writeAddresses(tx: SqlExecutor, num: number, addresses: string[]): Promise<void> {
  await tx.run("DELETE FROM addresses WHERE account_num = ?", [num]);
  for (const [i, a] of addresses.entries()) {
    const taken = await tx.get<{ n: number }>("SELECT 1 AS n FROM aliases WHERE address = ?", [a]);
    if (taken) throw new StoreError("EXISTS", `${a} is an alias`);
    const r = await tx.run(
      "INSERT INTO addresses (address, account_num, position) VALUES (?, ?, ?) ON CONFLICT (address) DO NOTHING",
      [a, num, i],
    );
    if (r.changes === 0) throw new StoreError("EXISTS", `address ${a} is taken`);
  }
}

function checkQuota(v: number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (!Number.isSafeInteger(v) || v < 0) throw new StoreError("INVALID", "a quota is a non-negative integer");
  return v;
}

export async function createAccount(ctx: StoreContext, input: NewAccount): Promise<Account> {
  const name = normalizeName(input.name);
  if (!name) throw new StoreError("INVALID", "empty account name");
  const addresses = [...new Set((input.addresses ?? (name.includes("@") ? [name] : [])).map(checkAddress))];
  const id = newId("a");
  await writeAccount(
    ctx,
    id,
    async (w) => {
      await createDefaultMailboxes(w);
      return {};
    },
    {
      before: async (tx) => {
        const r = await tx.run(
          `INSERT INTO accounts (id, name, kind, display_name, roles, quota_bytes, quota_messages, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
          [
            id,
            name,
            input.kind ?? "individual",
            input.displayName ?? null,
            JSON.stringify(input.roles ?? ["user"]),
            checkQuota(input.quotaBytes),
            checkQuota(input.quotaMessages),
            ctx.clock.now(),
          ],
        );
        if (r.changes === 0) throw new StoreError("EXISTS", `account ${name} exists`);
        const row = await lockAccount(tx, id);
        await writeAddresses(tx, row.num, addresses);
      },
    },
  );
  const a = await getAccount(ctx, id);
  if (!a) throw new StoreError("TEMP", "account vanished after creation");
  return a;
}

export async function updateAccount(ctx: StoreContext, id: Id, patch: AccountPatch): Promise<Account> {
  await ctx.driver.transaction(async (tx) => {
    const row = await lockAccount(tx, id);
    const sets: string[] = [];
    const params: Array<string | number | null> = [];
    const set = (col: string, v: string | number | null): void => {
      sets.push(`${col} = ?`);
      params.push(v);
    };
    if (patch.displayName !== undefined) set("display_name", patch.displayName);
    if (patch.roles !== undefined) set("roles", JSON.stringify(patch.roles));
    if (patch.quotaBytes !== undefined) set("quota_bytes", checkQuota(patch.quotaBytes));
    if (patch.quotaMessages !== undefined) set("quota_messages", checkQuota(patch.quotaMessages));
    if (patch.disabled !== undefined) set("disabled", patch.disabled ? 1 : 0);
    if (sets.length > 0)
      await tx.run(`UPDATE accounts SET ${sets.join(", ")} WHERE num = ?`, [...params, row.num]);
    if (patch.addresses !== undefined) {
      await writeAddresses(tx, row.num, [...new Set(patch.addresses.map(checkAddress))]);
    }
  });
  const a = await getAccount(ctx, id);
  if (!a) throw new StoreError("NOTFOUND", `no account ${id}`);
  return a;
}

export async function deleteAccount(ctx: StoreContext, id: Id): Promise<void> {
  await ctx.driver.transaction(async (tx) => {
    const row = await lockAccount(tx, id);
    const emails = await tx.all<{ num: number }>("SELECT num FROM emails WHERE account_num = ?", [row.num]);
    for (const part of chunks(emails.map((e) => e.num))) await ctx.search.remove(tx, part);
    await tx.run(
      "DELETE FROM tombstones WHERE mailbox_num IN (SELECT num FROM mailboxes WHERE account_num = ?)",
      [row.num],
    );
    await tx.run("DELETE FROM changes WHERE account_num = ?", [row.num]);
    await tx.run("DELETE FROM history_marks WHERE account_num = ?", [row.num]);
    await tx.run("DELETE FROM message_ids WHERE account_num = ?", [row.num]);
    // memberships go with emails and mailboxes (ON DELETE CASCADE), as do addresses and credentials.
    await tx.run("DELETE FROM emails WHERE account_num = ?", [row.num]);
    await tx.run("DELETE FROM threads WHERE account_num = ?", [row.num]);
    await tx.run("DELETE FROM mailboxes WHERE account_num = ?", [row.num]);
    await tx.run("DELETE FROM accounts WHERE num = ?", [row.num]);
  });
}

// ---- credentials ----

export async function addCredential(
  ctx: StoreContext,
  accountId: Id,
  credential: StoredCredential,
): Promise<Id> {
  const id = newId("c");
  await ctx.driver.transaction(async (tx) => {
    const row = await lockAccount(tx, accountId);
    await tx.run("INSERT INTO credentials (id, account_num, kind, data, created_at) VALUES (?, ?, ?, ?, ?)", [
      id,
      row.num,
      credential.kind,
      JSON.stringify(credential),
      ctx.clock.now(),
    ]);
  });
  return id;
}

export async function listCredentials(ctx: StoreContext, accountId: Id): Promise<CredentialRecord[]> {
  const rows = await ctx.driver.all<{ id: string; data: string }>(
    `SELECT c.id, c.data FROM credentials c JOIN accounts a ON a.num = c.account_num WHERE a.id = ?
      ORDER BY c.created_at, c.id`,
    [accountId],
  );
  return rows.map((r) => ({ id: r.id, accountId, credential: JSON.parse(r.data) as StoredCredential }));
}

export async function removeCredential(ctx: StoreContext, accountId: Id, credentialId: Id): Promise<void> {
  await ctx.driver.transaction(async (tx) => {
    const row = await lockAccount(tx, accountId);
    const r = await tx.run("DELETE FROM credentials WHERE id = ? AND account_num = ?", [
      credentialId,
      row.num,
    ]);
    if (r.changes === 0) throw new StoreError("NOTFOUND", `no credential ${credentialId}`);
  });
}

export async function setPassword(
  ctx: StoreContext,
  accountId: Id,
  credential: StoredCredential,
): Promise<void> {
  await ctx.driver.transaction(async (tx) => {
    const row = await lockAccount(tx, accountId);
    await tx.run("DELETE FROM credentials WHERE account_num = ? AND kind = 'password'", [row.num]);
    await tx.run("INSERT INTO credentials (id, account_num, kind, data, created_at) VALUES (?, ?, ?, ?, ?)", [
      newId("c"),
      row.num,
      "password",
      JSON.stringify({ ...credential, kind: "password" }),
      ctx.clock.now(),
    ]);
  });
}

// ---- aliases ----

function aliasTarget(t: string): string {
  const v = t.trim();
  if (!v) throw new StoreError("INVALID", "empty alias target");
  return v.includes("@") ? normalizeAddress(v) : v;
}

export async function setAlias(ctx: StoreContext, alias: Alias): Promise<void> {
  const address = checkAddress(alias.address);
  const targets = [...new Set(alias.targets.map(aliasTarget))];
  if (targets.length === 0) throw new StoreError("INVALID", "an alias needs a target");
  await ctx.driver.transaction(async (tx) => {
    const taken = await tx.get<{ n: number }>("SELECT 1 AS n FROM addresses WHERE address = ?", [address]);
    if (taken) throw new StoreError("EXISTS", `${address} is an account address`);
    await tx.run("DELETE FROM aliases WHERE address = ?", [address]);
    for (const t of targets)
      await tx.run("INSERT INTO aliases (address, target) VALUES (?, ?)", [address, t]);
  });
}

export async function removeAlias(ctx: StoreContext, address: string): Promise<void> {
  const r = await ctx.driver.run("DELETE FROM aliases WHERE address = ?", [normalizeAddress(address)]);
  if (r.changes === 0) throw new StoreError("NOTFOUND", `no alias ${address}`);
}

export async function listAliases(ctx: StoreContext, domain?: string): Promise<Alias[]> {
  const rows = await ctx.driver.all<{ address: string; target: string }>(
    "SELECT address, target FROM aliases ORDER BY address, target",
  );
  const d = domain?.trim().toLowerCase();
  const out = new Map<string, string[]>();
  for (const r of rows) {
    if (d !== undefined && domainOf(r.address) !== d) continue;
    const l = out.get(r.address);
    if (l) l.push(r.target);
    else out.set(r.address, [r.target]);
  }
  return [...out].map(([address, targets]) => ({ address, targets }));
}

// ---- recipient resolution ----

const MAX_ALIAS_DEPTH = 10;

/**
 * RFC 5321 §2.3.11 / RFC 5233: resolves an address to local accounts and external
 * forwards. Order: an account address, then an alias (recursively; loops and depth cut),
 * then the address without its "+detail", then the domain's catch-all.
 */
export async function resolveRecipient(
  ctx: StoreContext,
  address: string,
  opts?: { subaddressSeparator?: string },
): Promise<Recipient | null> {
  const db = ctx.driver;
  const sep = opts?.subaddressSeparator ?? "+";
  const accounts = new Set<Id>();
  const external = new Set<string>();
  const visited = new Set<string>();

  const accountByAddress = async (a: string): Promise<Id | null> =>
    (
      await db.get<{ id: string }>(
        "SELECT a.id FROM addresses d JOIN accounts a ON a.num = d.account_num WHERE d.address = ?",
        [a],
      )
    )?.id ?? null;
  const isLocalDomain = async (d: string): Promise<boolean> =>
    !!(await db.get<{ n: number }>("SELECT 1 AS n FROM domains WHERE name = ?", [d]));

  /** Resolves one exact address (no subaddress, no catch-all); false when unknown. */
  const exact = async (a: string, depth: number): Promise<boolean> => {
    if (visited.has(a)) return true; // a loop: already counted
    visited.add(a);
    const acct = await accountByAddress(a);
    if (acct) {
      accounts.add(acct);
      return true;
    }
    const targets = await db.all<{ target: string }>("SELECT target FROM aliases WHERE address = ?", [a]);
    if (targets.length === 0) return false;
    if (depth >= MAX_ALIAS_DEPTH) return true;
    for (const { target } of targets) await target_(target, depth + 1);
    return true;
  };

  const target_ = async (t: string, depth: number): Promise<void> => {
    if (!t.includes("@")) {
      const row = await db.get<{ id: string }>("SELECT id FROM accounts WHERE name = ?", [t]);
      if (row) accounts.add(row.id);
      return;
    }
    // A local address (subaddress and catch-all included), else a forward if not ours.
    if (await full(t, depth)) return;
    if (!(await isLocalDomain(domainOf(t)))) external.add(t);
  };

  let detail: string | null = null;
  const full = async (a: string, depth: number): Promise<boolean> => {
    if (await exact(a, depth)) return true;
    const at = a.lastIndexOf("@");
    const local = a.slice(0, at);
    const domain = a.slice(at + 1);
    const cut = sep ? local.indexOf(sep) : -1;
    if (cut > 0) {
      const base = `${local.slice(0, cut)}@${domain}`;
      if (await exact(base, depth)) {
        if (depth === 0) detail = local.slice(cut + sep.length);
        return true;
      }
    }
    const dom = await db.get<{ catch_all: string | null }>("SELECT catch_all FROM domains WHERE name = ?", [
      domain,
    ]);
    const catchAll = dom?.catch_all;
    if (catchAll && !visited.has(`catchall:${domain}`)) {
      visited.add(`catchall:${domain}`);
      await target_(aliasTarget(catchAll), depth + 1);
      return accounts.size > 0 || external.size > 0;
    }
    return false;
  };

  const addr = normalizeAddress(address);
  if (addr.lastIndexOf("@") <= 0) return null;
  if (!(await full(addr, 0))) return null;
  if (accounts.size === 0 && external.size === 0) return null;
  return { accountIds: [...accounts], external: [...external], detail };
}
