// Loading and validating the configuration: TOML text -> plain object -> zod schema. Every
// error names the file, the field path and what was expected, so an operator can fix it
// without reading the source.
import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import type { z } from "zod";
import { configSchema, type Config } from "./schema.ts";

/** One problem in a configuration: the dotted field path ("" for the whole file) and why. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A configuration that cannot be used; `message` lists every issue, one per line. */
export class ConfigError extends Error {
  readonly source: string;
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    super(
      `invalid configuration in ${source}:\n` +
        issues.map((i) => `  ${i.path === "" ? "(file)" : i.path}: ${i.message}`).join("\n"),
    );
    this.name = "ConfigError";
    this.source = source;
    this.issues = issues;
  }
}

/** The environment variables the configuration reads. */
export interface ConfigEnv {
  /** `MAILROOM_DNS=ip:port` replaces dns.resolver with that one nameserver. */
  MAILROOM_DNS?: string | undefined;
}

export interface ParseOptions {
  /** Where the object came from, for messages (a file path, "defaults", "test"). */
  source?: string;
  /** Environment overrides; defaults to none (pass process.env to honour MAILROOM_DNS). */
  env?: ConfigEnv | undefined;
  /**
   * Settings that win over the file, merged table by table before validation (command-line
   * options such as `{ server: { dataDir: "/srv/mail" } }`). Applied again at every reload.
   */
  overrides?: Record<string, unknown> | undefined;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** `over` merged onto `base`: tables merged key by key, anything else replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isTable(base) || !isTable(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
    .join(".")
    .replaceAll(".[", "[");
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // zod's messages read "Invalid input: expected number, received string"; keep them, but
  // spell out the allowed values of enums and the unknown keys, which are the usual typos.
  if (issue.code === "invalid_value" && issue.values.length > 0) {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  if (issue.code === "unrecognized_keys") {
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  }
  return issue.message;
}

/** Apply environment overrides to the raw (unvalidated) object. */
function applyEnv(raw: unknown, env: ConfigEnv | undefined): unknown {
  const dns = env?.MAILROOM_DNS?.trim();
  if (dns === undefined || dns === "" || typeof raw !== "object" || raw === null) return raw;
  const obj = raw as Record<string, unknown>;
  const section =
    typeof obj["dns"] === "object" && obj["dns"] !== null ? (obj["dns"] as Record<string, unknown>) : {};
  return { ...obj, dns: { ...section, resolver: dns.split(/[\s,]+/).filter((s) => s !== "") } };
}

/** Validate a plain object (parsed TOML, or built by a test) into a Config. Throws ConfigError. */
export function parseConfig(raw: unknown, opts: ParseOptions = {}): Config {
  const source = opts.source ?? "configuration";
  const merged = opts.overrides === undefined ? (raw ?? {}) : deepMerge(raw ?? {}, opts.overrides);
  const result = configSchema.safeParse(applyEnv(merged, opts.env));
  if (result.success) return result.data;
  throw new ConfigError(
    source,
    result.error.issues.map((i) => ({ path: issuePath(i.path), message: describeIssue(i) })),
  );
}

/** Parse TOML text and validate it. Throws ConfigError (TOML syntax errors carry line:column). */
export function parseConfigText(text: string, opts: ParseOptions = {}): Config {
  const source = opts.source ?? "configuration";
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0] ?? e.message;
      throw new ConfigError(source, [
        { path: "", message: `TOML syntax error at line ${e.line}, column ${e.column}: ${first}` },
      ]);
    }
    throw e;
  }
  return parseConfig(raw, { ...opts, source });
}

/**
 * Read and validate a TOML configuration file. Without a path, the defaults (plus environment
 * overrides) are returned. A missing or unreadable file is a ConfigError. `env` defaults to
 * process.env (MAILROOM_DNS); pass {} to ignore the environment.
 */
export async function loadConfig(
  path: string | undefined,
  opts: { env?: ConfigEnv | undefined; overrides?: Record<string, unknown> | undefined } = {},
): Promise<Config> {
  const env = opts.env ?? process.env;
  const overrides = opts.overrides;
  if (path === undefined) return parseConfig({}, { source: "defaults", env, overrides });
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new ConfigError(path, [
      { path: "", message: code === "ENOENT" ? "file not found" : `cannot read file (${code})` },
    ]);
  }
  return parseConfigText(text, { source: path, env, overrides });
}

/** The file locations derived from the configuration (empty settings resolved under dataDir). */
export interface DataPaths {
  dataDir: string;
  sqlite: string;
  blobDir: string;
  tlsDir: string;
}

export function dataPaths(c: Config): DataPaths {
  const dataDir = resolve(c.server.dataDir);
  const under = (p: string, fallback: string): string =>
    p === "" ? join(dataDir, fallback) : isAbsolute(p) ? p : resolve(p);
  return {
    dataDir,
    sqlite: under(c.store.path, "mailroom.sqlite"),
    blobDir: under(c.store.blobDir, "blobs"),
    tlsDir: join(dataDir, "tls"),
  };
}

/** The port a listener binds: its port plus server.portOffset (0 stays 0). */
export function effectivePort(c: Config, port: number): number {
  return port === 0 ? 0 : port + c.server.portOffset;
}
