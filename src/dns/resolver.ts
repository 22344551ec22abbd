// DNS behind one interface (DESIGN.md "Inject the outside world"): SPF, DKIM, DMARC, MTA-STS,
// DANE and MX delivery take a Resolver, never node:dns directly. `systemResolver` asks real
// nameservers; `StaticResolver` answers from a record map in tests.
//
// Every lookup returns the records or throws a DnsError whose code tells the callers what the
// standards need to distinguish: NXDOMAIN (the name does not exist), NODATA (it exists but has
// no record of that type), SERVFAIL and TIMEOUT (temporary: SPF "temperror", RFC 7208 §5;
// DMARC, RFC 7489 §6.6.3; try again later for outbound delivery).
import { Resolver as NodeResolver } from "node:dns/promises";
import { isIP } from "node:net";

export type DnsErrorCode = "NXDOMAIN" | "NODATA" | "SERVFAIL" | "TIMEOUT";

export class DnsError extends Error {
  readonly code: DnsErrorCode;
  readonly hostname: string;
  readonly rrtype: string;
  constructor(code: DnsErrorCode, rrtype: string, hostname: string, detail?: string) {
    super(`${rrtype} ${hostname}: ${code}${detail !== undefined ? ` (${detail})` : ""}`);
    this.name = "DnsError";
    this.code = code;
    this.hostname = hostname;
    this.rrtype = rrtype;
  }
}

export function isDnsError(e: unknown, code?: DnsErrorCode): e is DnsError {
  return e instanceof DnsError && (code === undefined || e.code === code);
}

export interface MxRecord {
  exchange: string;
  priority: number;
}

/** RFC 6698 §2.1: a TLSA record, fields as on the wire. */
export interface TlsaRecord {
  /** Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE. */
  usage: number;
  /** 0 full certificate, 1 SubjectPublicKeyInfo. */
  selector: number;
  /** 0 exact, 1 SHA-256, 2 SHA-512. */
  matchingType: number;
  data: Buffer;
}

export interface Resolver {
  resolveMx(name: string): Promise<MxRecord[]>;
  /** Each record as its character-strings; join them for SPF/DKIM (RFC 7208 §3.3). */
  resolveTxt(name: string): Promise<string[][]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  /** PTR names of an IP address (the reverse name is built here), as `dns.reverse` does. */
  resolvePtr(ip: string): Promise<string[]>;
  resolveCname(name: string): Promise<string[]>;
  /** TLSA records of a name such as "_25._tcp.mx.example.org" (RFC 6698 §3). */
  resolveTlsa(name: string): Promise<TlsaRecord[]>;
}

/** A name as a lookup key: lower case, no trailing dot. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The in-addr.arpa / ip6.arpa name of an IP address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(ip: string): string {
  const family = isIP(ip);
  if (family === 4) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (family === 6) {
    // Expand "::" to get all 32 nibbles.
    const [head = "", tail = ""] = ip.includes("::") ? ip.split("::") : [ip, ""];
    const h = head === "" ? [] : head.split(":");
    const t = tail === "" ? [] : tail.split(":");
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
    const nibbles = groups.map((g) => g.padStart(4, "0")).join("");
    return `${[...nibbles.toLowerCase()].reverse().join(".")}.ip6.arpa`;
  }
  throw new DnsError("NXDOMAIN", "PTR", ip, "not an IP address");
}

// ---------------------------------------------------------------- system resolver

function mapNodeError(e: unknown, rrtype: string, name: string): DnsError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOTFOUND":
      return new DnsError("NXDOMAIN", rrtype, name);
    case "ENODATA":
      return new DnsError("NODATA", rrtype, name);
    case "ETIMEOUT":
      return new DnsError("TIMEOUT", rrtype, name);
    default:
      return new DnsError("SERVFAIL", rrtype, name, code);
  }
}

export interface SystemResolverOptions {
  timeoutMs?: number;
  tries?: number;
}

/**
 * A resolver on node:dns/promises. `nameservers` are "ip", "ip:port" or "[ipv6]:port";
 * without them the operating system's nameservers are used.
 */
export function systemResolver(nameservers?: readonly string[], opts: SystemResolverOptions = {}): Resolver {
  const r = new NodeResolver({ timeout: opts.timeoutMs ?? 5000, tries: opts.tries ?? 2 });
  if (nameservers !== undefined && nameservers.length > 0) r.setServers([...nameservers]);
  async function run<T>(rrtype: string, name: string, f: () => Promise<T>): Promise<T> {
    try {
      const out = await f();
      if (Array.isArray(out) && out.length === 0) throw new DnsError("NODATA", rrtype, name);
      return out;
    } catch (e) {
      throw e instanceof DnsError ? e : mapNodeError(e, rrtype, name);
    }
  }
  return {
    // Only the two fields of MxRecord (Node may add others, such as `type`).
    resolveMx: (n) =>
      run("MX", n, async () =>
        (await r.resolveMx(n)).map((m) => ({ exchange: m.exchange, priority: m.priority })),
      ),
    resolveTxt: (n) => run("TXT", n, () => r.resolveTxt(n)),
    resolve4: (n) => run("A", n, () => r.resolve4(n)),
    resolve6: (n) => run("AAAA", n, () => r.resolve6(n)),
    resolvePtr: (ip) => run("PTR", ip, () => r.resolvePtr(reverseName(ip))),
    resolveCname: (n) => run("CNAME", n, () => r.resolveCname(n)),
    resolveTlsa: (n) =>
      run("TLSA", n, async () =>
        (await r.resolveTlsa(n)).map((t) => ({
          usage: t.certUsage,
          selector: t.selector,
          matchingType: t.match,
          data: Buffer.from(t.data),
        })),
      ),
  };
}

/** The resolver the configuration asks for (dns section; MAILROOM_DNS is applied at load). */
export function resolverFromConfig(dns: {
  resolver: "system" | string[];
  timeoutMs: number;
  tries: number;
}): Resolver {
  return systemResolver(dns.resolver === "system" ? undefined : dns.resolver, {
    timeoutMs: dns.timeoutMs,
    tries: dns.tries,
  });
}

// ---------------------------------------------------------------- static resolver (tests)

/** The records of one name. A name present with no record of a type answers NODATA. */
export interface StaticRecords {
  MX?: MxRecord[];
  /** A string is one single-string record; an array is one record of several strings. */
  TXT?: (string | string[])[];
  A?: string[];
  AAAA?: string[];
  PTR?: string[];
  CNAME?: string[];
  TLSA?: TlsaRecord[];
  /** Every lookup of this name fails with this code (simulate SERVFAIL, TIMEOUT). */
  fail?: DnsErrorCode;
}

type RrType = Exclude<keyof StaticRecords, "fail">;

/**
 * A resolver answering from a map of names to records. Keys are names ("example.org"),
 * or IP addresses for PTR records ("192.0.2.1": { PTR: ["mx.example.org"] }). Names absent
 * from the map answer NXDOMAIN. `queries` records every lookup made, for assertions.
 */
export class StaticResolver implements Resolver {
  readonly #zones = new Map<string, StaticRecords>();
  readonly queries: { type: string; name: string }[] = [];

  constructor(records: Record<string, StaticRecords> = {}) {
    for (const [name, recs] of Object.entries(records)) this.set(name, recs);
  }

  static #key(name: string): string {
    return isIP(name) !== 0 ? reverseName(name) : normalizeName(name);
  }

  /** Replace the records of a name. */
  set(name: string, records: StaticRecords): void {
    this.#zones.set(StaticResolver.#key(name), records);
  }

  /** Add records of one type to a name, creating it if needed. */
  add<T extends RrType>(name: string, type: T, records: NonNullable<StaticRecords[T]>): void {
    const key = StaticResolver.#key(name);
    const z = this.#zones.get(key) ?? {};
    const prev = (z[type] ?? []) as unknown[];
    this.#zones.set(key, { ...z, [type]: [...prev, ...(records as unknown[])] });
  }

  /** Remove a name (it then answers NXDOMAIN). */
  delete(name: string): void {
    this.#zones.delete(StaticResolver.#key(name));
  }

  #lookup<T extends RrType>(type: T, name: string): NonNullable<StaticRecords[T]> {
    this.queries.push({ type, name });
    const z = this.#zones.get(StaticResolver.#key(name));
    if (z === undefined) throw new DnsError("NXDOMAIN", type, name);
    if (z.fail !== undefined) throw new DnsError(z.fail, type, name);
    const recs = z[type];
    if (recs === undefined || recs.length === 0) throw new DnsError("NODATA", type, name);
    return recs;
  }

  async resolveMx(name: string): Promise<MxRecord[]> {
    return this.#lookup("MX", name).map((r) => ({ ...r }));
  }
  async resolveTxt(name: string): Promise<string[][]> {
    return this.#lookup("TXT", name).map((r) => (typeof r === "string" ? [r] : [...r]));
  }
  async resolve4(name: string): Promise<string[]> {
    return [...this.#lookup("A", name)];
  }
  async resolve6(name: string): Promise<string[]> {
    return [...this.#lookup("AAAA", name)];
  }
  async resolvePtr(ip: string): Promise<string[]> {
    return [...this.#lookup("PTR", ip)];
  }
  async resolveCname(name: string): Promise<string[]> {
    return [...this.#lookup("CNAME", name)];
  }
  async resolveTlsa(name: string): Promise<TlsaRecord[]> {
    return this.#lookup("TLSA", name).map((r) => ({ ...r, data: Buffer.from(r.data) }));
  }
}
