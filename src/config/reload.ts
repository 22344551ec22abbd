// The live configuration of one server. `current()` is what every protocol reads (read it at
// each use, never cache the dynamic sections); `reload()` re-reads the file, validates it and
// applies the dynamic sections. A reload that is invalid, or that changes a static section,
// is refused and the running settings stay as they were.
import { EventEmitter } from "node:events";
import type { Logger } from "../core/logger.ts";
import { ConfigError, loadConfig, parseConfig, type ConfigEnv } from "./load.ts";
import { dynamicPart, STATIC_SECTIONS, type Config, type DynamicConfig } from "./schema.ts";

/** A refused reload: the file is invalid, or static settings changed (`restartNeeded`). */
export class ReloadError extends Error {
  /** Dotted paths of the static settings that differ from the running ones. */
  readonly restartNeeded: string[];
  override readonly cause: unknown;
  constructor(message: string, restartNeeded: string[] = [], cause?: unknown) {
    super(message);
    this.name = "ReloadError";
    this.restartNeeded = restartNeeded;
    this.cause = cause;
  }
}

export interface ConfigManagerEvents {
  /** A reload applied: the new dynamic settings and the whole new configuration. */
  change: [dynamic: DynamicConfig, config: Config];
}

export interface ConfigManagerOptions {
  /** The file `reload()` re-reads; without it reload() keeps the current settings. */
  path?: string | undefined;
  /** Environment overrides (MAILROOM_DNS); fromFile defaults to process.env. */
  env?: ConfigEnv | undefined;
  /** Settings that win over the file at every load (command-line options); see ParseOptions. */
  overrides?: Record<string, unknown> | undefined;
  logger?: Logger | undefined;
}

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

/** The dotted paths where two values differ (leaves, or whole arrays). */
function diffPaths(a: unknown, b: unknown, prefix: string, out: string[]): void {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === "object" && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      diffPaths(a[k], b[k], prefix === "" ? k : `${prefix}.${k}`, out);
    }
    return;
  }
  if (stableJson(a) !== stableJson(b)) out.push(prefix);
}

/** The static settings that differ between two configurations, as dotted paths. */
export function staticChanges(before: Config, after: Config): string[] {
  const out: string[] = [];
  for (const section of STATIC_SECTIONS) diffPaths(before[section], after[section], section, out);
  return out;
}

export class ConfigManager extends EventEmitter<ConfigManagerEvents> {
  #current: Config;
  readonly #path: string | undefined;
  readonly #env: ConfigEnv | undefined;
  readonly #overrides: Record<string, unknown> | undefined;
  #logger: Logger | undefined;

  constructor(config: Config, opts: ConfigManagerOptions = {}) {
    super();
    this.#current = config;
    this.#path = opts.path;
    this.#env = opts.env;
    this.#overrides = opts.overrides;
    this.#logger = opts.logger;
  }

  /**
   * Load `path` (or the defaults when undefined) and manage it; the environment (MAILROOM_DNS)
   * is process.env unless `env` is given. Throws ConfigError.
   */
  static async fromFile(
    path: string | undefined,
    opts: Omit<ConfigManagerOptions, "path"> = {},
  ): Promise<ConfigManager> {
    const env = opts.env ?? process.env;
    const config = await loadConfig(path, { env, overrides: opts.overrides });
    return new ConfigManager(config, { ...opts, env, path });
  }

  /** Validate a plain object (tests, embedding) and manage it. Throws ConfigError. */
  static fromObject(raw: unknown, opts: Omit<ConfigManagerOptions, "path"> = {}): ConfigManager {
    return new ConfigManager(
      parseConfig(raw, { source: "configuration", env: opts.env, overrides: opts.overrides }),
      opts,
    );
  }

  /** The file this manager reloads from, if any. */
  get path(): string | undefined {
    return this.#path;
  }

  /** The running configuration. Read it at each use: the dynamic sections change on reload. */
  current(): Config {
    return this.#current;
  }

  /** The hot-reloaded sections of the running configuration. */
  dynamic(): DynamicConfig {
    return dynamicPart(this.#current);
  }

  /** Use the logger of the server from now on (the server creates it from the config). */
  setLogger(logger: Logger): void {
    this.#logger = logger;
  }

  /**
   * Re-read the file and apply it. Resolves with the new configuration; rejects with a
   * ReloadError (and logs it) when the file is invalid or a static setting changed, in which
   * case nothing changes.
   */
  async reload(): Promise<Config> {
    if (this.#path === undefined) {
      // Built from an object: there is nothing to re-read.
      this.#logger?.info("no configuration file to reload");
      return this.#current;
    }
    let next: Config;
    try {
      next = await loadConfig(this.#path, { env: this.#env, overrides: this.#overrides });
    } catch (e) {
      const err =
        e instanceof ConfigError
          ? new ReloadError(`configuration not reloaded, keeping the running settings: ${e.message}`, [], e)
          : new ReloadError(`configuration not reloaded: ${String(e)}`, [], e);
      this.#logger?.error({ err: err.message }, "config reload refused");
      throw err;
    }
    return this.apply(next);
  }

  /**
   * Apply an already validated configuration as a reload would: refused when a static
   * setting differs, else the dynamic sections are replaced and "change" is emitted.
   */
  apply(next: Config): Config {
    const changed = staticChanges(this.#current, next);
    if (changed.length > 0) {
      for (const p of changed) this.#logger?.warn({ setting: p }, `restart needed for ${p}`);
      const err = new ReloadError(
        `configuration not reloaded, keeping the running settings: restart needed for ${changed.join(", ")}`,
        changed,
      );
      this.#logger?.error({ restartNeeded: changed }, "config reload refused");
      throw err;
    }
    this.#current = next;
    this.#logger?.info({ source: this.#path ?? "defaults" }, "configuration reloaded");
    this.emit("change", dynamicPart(next), next);
    return next;
  }

  /** Validate a plain object and apply it as a reload (tests). Throws ConfigError or ReloadError. */
  applyObject(raw: unknown): Config {
    return this.apply(
      parseConfig(raw, { source: "configuration", env: this.#env, overrides: this.#overrides }),
    );
  }
}
