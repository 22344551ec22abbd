// The data folder every CLI command works on (`--data DIR`): its configuration file, its
// store, and the first-run setup (config file, store, the domain `localhost` and an admin
// account whose password is printed once). Commands other than `serve` open the same store
// as a running server; SQLite allows it (WAL, busy timeout) and the server reads accounts
// and domains from the store at each use, so it sees changes at once.
import { randomBytes } from "node:crypto";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { parse as parseToml } from "smol-toml";
import { join, resolve } from "node:path";
import { makeCredential } from "../auth/password.ts";
import { systemClock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { ConfigManager } from "../config/reload.ts";
import { dataPaths } from "../config/load.ts";
import { SERVICES, type Config } from "../config/schema.ts";
import { openStore } from "../store/open.ts";
import type { MaintainedMailStore } from "../store/mail-store.ts";
import type { ChangeBus, MailStore } from "../store/types.ts";
import type { WorkerStoreOptions } from "../server/workers.ts";

export const CONFIG_FILE = "mailroom.toml";

export interface DataDirOptions {
  /** The data folder. */
  dir: string;
  /** Bind every listener to this address (`--host`). */
  host?: string;
  /** `--port-offset`; when absent, the file's value or the automatic choice applies. */
  portOffset?: number;
}

export interface DataDir {
  dir: string;
  configPath: string;
  config: ConfigManager;
  /** True when this call created the folder's configuration (a first start). */
  created: boolean;
  /** Set when the port offset was chosen automatically (the CLI says so). */
  autoPortOffset?: number;
}

const DEFAULT_CONFIG = `# Mailroom configuration. Every setting has a default; the reference is docs/config.md
# in the Mailroom repository (\`mailroom config describe\` prints it).
# Static settings (server, listeners, tls, store, logging, http, dns) need a restart;
# the others (limits, auth, domains) reload on SIGHUP.

[server]
hostname = "localhost"
`;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ports below 1024 need root or CAP_NET_BIND_SERVICE, unless the kernel lowered
 * net.ipv4.ip_unprivileged_port_start.
 */
export async function canBindLowPorts(): Promise<boolean> {
  if (process.getuid?.() === 0) return true;
  try {
    const start = Number((await readFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).trim());
    if (Number.isFinite(start) && start <= 25) return true;
    const status = await readFile("/proc/self/status", "utf8");
    const eff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
    // CAP_NET_BIND_SERVICE is capability 10.
    return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 10n)) !== 0n;
  } catch {
    return false;
  }
}

/** Opens (and on first use creates) the data folder's configuration. */
export async function openDataDir(opts: DataDirOptions): Promise<DataDir> {
  const dir = resolve(opts.dir);
  const configPath = join(dir, CONFIG_FILE);
  let created = false;
  if (!(await exists(configPath))) {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await writeFile(configPath, DEFAULT_CONFIG, { mode: 0o640, flag: "wx" }).catch(
      (e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      },
    );
    created = true;
  }
  // Command-line settings win over the file, at start and at every reload.
  const server: Record<string, unknown> = { dataDir: dir };
  let autoPortOffset: number | undefined;
  if (opts.portOffset !== undefined) server["portOffset"] = opts.portOffset;
  else if (!(await fileSetsPortOffset(configPath)) && !(await canBindLowPorts())) {
    server["portOffset"] = autoPortOffset = 10000;
  }
  const overrides: Record<string, unknown> = { server };
  if (opts.host !== undefined) {
    overrides["listeners"] = Object.fromEntries(SERVICES.map((name) => [name, { bind: opts.host }]));
  }
  const config = await ConfigManager.fromFile(configPath, { env: process.env, overrides });
  return { dir, configPath, config, created, ...(autoPortOffset !== undefined ? { autoPortOffset } : {}) };
}

/** Whether the configuration file sets server.portOffset itself (then it is not chosen for it). */
async function fileSetsPortOffset(path: string): Promise<boolean> {
  try {
    const raw = parseToml(await readFile(path, "utf8")) as { server?: { portOffset?: unknown } };
    return raw.server?.portOffset !== undefined;
  } catch {
    return false; // the configuration load reports the problem
  }
}

/** The store options the configuration names (what a session process opens too). */
export function dataStoreOptions(config: Config): WorkerStoreOptions {
  const paths = dataPaths(config);
  return {
    backend: config.store.backend,
    sqlitePath: paths.sqlite,
    postgresUrl: config.store.url,
    blobs: config.store.blobs,
    inlineBlobMax: config.store.inlineBlobMax,
    blobDir: paths.blobDir,
  };
}

/**
 * Opens the store the configuration names. A server (`watch`) also notices writes made by
 * other processes on the same SQLite file (the CLI), so they reach IDLE and push clients;
 * with session processes (server.workers) its change bus is the one they share.
 */
export async function openDataStore(
  config: Config,
  logger: Logger,
  opts: { watch?: boolean; bus?: ChangeBus } = {},
): Promise<MaintainedMailStore> {
  const paths = dataPaths(config);
  await mkdir(paths.dataDir, { recursive: true, mode: 0o750 });
  return openStore({
    ...dataStoreOptions(config),
    clock: systemClock,
    logger,
    ...(opts.bus ? { bus: opts.bus } : {}),
    ...(opts.watch && config.store.backend === "sqlite" ? { watchExternalChangesMs: 500 } : {}),
    // the server's own store (watch): marked as running while it runs (store/modseq-gap.ts)
    ...(opts.watch ? { server: true } : {}),
  });
}

export interface Bootstrap {
  domain: string;
  admin: string;
  password: string;
}

/**
 * First run: an empty store gets the domain `localhost` and the account
 * `admin@localhost` (role admin) with a random password, returned to be printed once.
 */
export async function bootstrapStore(store: MailStore): Promise<Bootstrap | null> {
  const [domains, accounts] = await Promise.all([store.listDomains(), store.listAccounts()]);
  if (domains.length > 0 || accounts.length > 0) return null;
  const domain = "localhost";
  const admin = `admin@${domain}`;
  const password = randomBytes(12).toString("base64url");
  await store.createDomain(domain);
  const account = await store.createAccount({ name: admin, roles: ["admin"], displayName: "Administrator" });
  await store.setPassword(account.id, await makeCredential(password));
  return { domain, admin, password };
}
