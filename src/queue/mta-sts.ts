// MTA-STS (RFC 8461): a recipient domain's promise that its MX hosts take mail over TLS with
// a certificate valid for their name. The queue looks the policy up before delivering:
// `_mta-sts.<domain>` TXT (§3.1) names the current policy id; the policy itself comes over
// HTTPS from `https://mta-sts.<domain>/.well-known/mta-sts.txt` (§3.3) and is cached by id for
// max_age (§5). Under `enforce`, only MX hosts the policy lists are used, over verified TLS
// (§5.1); under `testing`, failures are only reported (TLS-RPT) and delivery goes on.
// DNS and HTTPS are injected (DESIGN.md "Inject the outside world").
import { request } from "node:https";
import type { LookupFunction } from "node:net";
import type { Clock } from "../core/clock.ts";
import { isDnsError, type Resolver } from "../dns/resolver.ts";

export type StsMode = "enforce" | "testing" | "none";

export interface StsPolicy {
  /** The id of the TXT record this policy was fetched for (§3.1). */
  id: string;
  mode: StsMode;
  /** MX patterns: host names, or "*.example.com" for one leftmost label (§4.1). */
  mx: string[];
  /** Seconds the policy may be cached (§3.2; at most 31557600). */
  maxAge: number;
  fetchedAt: number;
}

/** RFC 8461 §3.2: a policy body is at most 64 KiB. */
export const MAX_POLICY_BYTES = 64 * 1024;
const MAX_AGE_LIMIT = 31_557_600;

/**
 * §3.1: the record's fields, or null when there is no usable record: none, or several
 * records beginning with "v=STSv1" (then "the sender MUST assume the domain has no policy").
 */
export function parseStsRecord(txt: readonly (readonly string[])[]): { id: string } | null {
  const records = txt.map((parts) => parts.join("")).filter((r) => /^v=STSv1\s*(;|$)/.test(r));
  if (records.length !== 1) return null;
  const fields = new Map<string, string>();
  for (const f of records[0]!.split(";")) {
    const eq = f.indexOf("=");
    if (eq <= 0) continue;
    fields.set(f.slice(0, eq).trim(), f.slice(eq + 1).trim());
  }
  const id = fields.get("id");
  // sts-id = 1*32(ALPHA / DIGIT)
  return id !== undefined && /^[A-Za-z0-9]{1,32}$/.test(id) ? { id } : null;
}

/** §3.2: the policy body, or a text saying why it is not one. */
export function parsePolicy(body: string, id: string, now: number): StsPolicy | string {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return `malformed line ${JSON.stringify(line.slice(0, 80))}`;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "mx") mx.push(value.toLowerCase());
    // Only the first of a repeated field counts; unknown fields are ignored (§3.2).
    else if (!fields.has(key)) fields.set(key, value);
  }
  if (fields.get("version") !== "STSv1") return "version is not STSv1";
  const mode = fields.get("mode");
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") return `bad mode ${String(mode)}`;
  const age = fields.get("max_age") ?? "";
  if (!/^\d{1,20}$/.test(age)) return "bad max_age";
  if (mode !== "none" && mx.length === 0) return "no mx";
  return { id, mode, mx, maxAge: Math.min(Number(age), MAX_AGE_LIMIT), fetchedAt: now };
}

/** §4.1: an MX host against the policy's patterns; a wildcard stands for exactly one label. */
export function mxMatches(patterns: readonly string[], host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return patterns.some((p) => {
    const pat = p.replace(/\.$/, "");
    if (!pat.startsWith("*.")) return pat === h;
    const dot = h.indexOf(".");
    return dot > 0 && h.slice(dot + 1) === pat.slice(2);
  });
}

export interface FetchResult {
  status: number;
  contentType: string;
  body: string;
}

/** GETs an HTTPS URL: no redirects followed (§3.3), the body bounded. */
export type PolicyFetcher = (url: string) => Promise<FetchResult>;

/**
 * The default fetcher: node:https with certificate verification against the system CAs (or
 * `ca`), host names resolved through our Resolver, a time limit, at most 64 KiB read.
 */
export function httpsPolicyFetcher(opts: {
  resolver: Resolver;
  ca?: string | Buffer | Array<string | Buffer>;
  timeoutMs?: number;
  port?: number;
}): PolicyFetcher {
  const lookup = resolverLookup(opts.resolver);
  return (url) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = request(
        {
          host: u.hostname,
          port: opts.port ?? (u.port === "" ? 443 : Number(u.port)),
          path: u.pathname,
          method: "GET",
          servername: u.hostname,
          lookup,
          timeout: opts.timeoutMs ?? 30_000,
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY_BYTES) {
              req.destroy(new Error("policy larger than 64 KiB"));
              return;
            }
            chunks.push(c);
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers["content-type"] ?? ""),
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("policy fetch timed out")));
      req.on("error", reject);
      req.end();
    });
}

/** A `lookup` for node:net/https that asks our Resolver (IPv4) instead of the system. */
export function resolverLookup(resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver.resolve4(hostname).then(
      (addrs) => {
        const address = addrs[0]!;
        if (typeof options === "object" && options.all) callback(null, [{ address, family: 4 }]);
        else callback(null, address, 4);
      },
      (e: unknown) =>
        callback(e instanceof Error ? (e as NodeJS.ErrnoException) : new Error(String(e)), "", 4),
    );
  };
}

export interface StsLookup {
  policy: StsPolicy | null;
  /** Why there is no (new) policy, for TLS-RPT and logs: "sts-policy-fetch-error" etc. */
  failure?: string;
}

/**
 * Policies by domain, in memory: a cached policy is used while its max_age runs, unless the
 * TXT record announces another id (§5.1: then it is fetched again); a failed refresh keeps
 * the cached policy (§5.1 "continue to use the cached policy").
 */
export class MtaStsResolver {
  readonly #cache = new Map<string, StsPolicy>();
  readonly #resolver: Resolver;
  readonly #fetch: PolicyFetcher;
  readonly #clock: Clock;

  constructor(opts: { resolver: Resolver; fetcher: PolicyFetcher; clock: Clock }) {
    this.#resolver = opts.resolver;
    this.#fetch = opts.fetcher;
    this.#clock = opts.clock;
  }

  async lookup(domain: string): Promise<StsLookup> {
    const d = domain.toLowerCase();
    const now = this.#clock.now();
    const cached = this.#cache.get(d);
    const fresh = cached && now < cached.fetchedAt + cached.maxAge * 1000 ? cached : undefined;
    if (!fresh && cached) this.#cache.delete(d);
    let record: { id: string } | null;
    try {
      record = parseStsRecord(await this.#resolver.resolveTxt(`_mta-sts.${d}`));
    } catch (e) {
      if (!isDnsError(e, "NXDOMAIN") && !isDnsError(e, "NODATA")) return { policy: fresh ?? null };
      record = null;
    }
    // §5.1: no record, but a cached policy still valid: keep using it.
    if (!record) return { policy: fresh ?? null };
    if (fresh && fresh.id === record.id) return { policy: fresh };
    try {
      const res = await this.#fetch(`https://mta-sts.${d}/.well-known/mta-sts.txt`);
      if (res.status !== 200) return { policy: fresh ?? null, failure: "sts-policy-fetch-error" };
      // §3.3: the media type is text/plain (parameters allowed).
      if (!/^text\/plain\s*(;|$)/i.test(res.contentType))
        return { policy: fresh ?? null, failure: "sts-policy-invalid" };
      const p = parsePolicy(res.body, record.id, now);
      if (typeof p === "string") return { policy: fresh ?? null, failure: "sts-policy-invalid" };
      this.#cache.set(d, p);
      return { policy: p };
    } catch {
      return { policy: fresh ?? null, failure: "sts-policy-fetch-error" };
    }
  }
}
