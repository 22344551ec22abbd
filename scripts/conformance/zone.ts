// The DNS data of one published test case, served through our Resolver interface
// (src/dns/resolver.ts), the way the suites' own drivers serve it:
// - a name absent from the zone is NXDOMAIN; a name without records of the asked type NODATA;
// - a CNAME is followed for the other types (at most 8 links; a loop ends as NODATA);
// - "TIMEOUT" on a name makes every lookup of a type it has no record of time out;
// - OpenSPF suite: type SPF (99) records are served as TXT for a name that has no TXT entry
//   ("TXT: NONE" is an entry that holds no record), as its drivers do (RFC 7208 §3.1 dropped
//   type SPF; the "Record lookup" scenario checks that only TXT is asked).
import type { MxRecord, Resolver, TlsaRecord } from "../../src/dns/resolver.ts";
import { DnsError, normalizeName, reverseName } from "../../src/dns/resolver.ts";
import { isIP } from "node:net";

interface Name {
  A: string[];
  AAAA: string[];
  MX: MxRecord[];
  TXT: string[][];
  PTR: string[];
  CNAME: string[];
  timeout: boolean;
}

type Type = "A" | "AAAA" | "MX" | "TXT" | "PTR" | "CNAME";

const blank = (): Name => ({ A: [], AAAA: [], MX: [], TXT: [], PTR: [], CNAME: [], timeout: false });

export class ZoneResolver implements Resolver {
  readonly #names = new Map<string, Name>();
  readonly queries: string[] = [];

  #get(name: string): Name {
    const key = normalizeName(name);
    let n = this.#names.get(key);
    if (n === undefined) {
      n = blank();
      this.#names.set(key, n);
    }
    return n;
  }

  /** Declares a name (it then exists, NODATA for every type). */
  touch(name: string): void {
    this.#get(name);
  }
  timeout(name: string): void {
    this.#get(name).timeout = true;
  }
  add(name: string, type: Type, value: string | string[] | MxRecord): void {
    const n = this.#get(name);
    if (type === "TXT") n.TXT.push(typeof value === "string" ? [value] : (value as string[]));
    else if (type === "MX") n.MX.push(value as MxRecord);
    else n[type].push(value as string);
  }

  #lookup<T extends Type>(type: T, name: string, depth = 0): Name[T] {
    this.queries.push(`${type} ${name}`);
    const n = this.#names.get(normalizeName(name));
    if (n === undefined) throw new DnsError("NXDOMAIN", type, name);
    const recs = n[type];
    if (recs.length > 0) return recs;
    if (type !== "CNAME" && n.CNAME.length > 0 && n.CNAME[0] !== undefined) {
      if (depth >= 8) throw new DnsError("NODATA", type, name);
      return this.#lookup(type, n.CNAME[0], depth + 1);
    }
    if (n.timeout) throw new DnsError("TIMEOUT", type, name);
    throw new DnsError("NODATA", type, name);
  }

  async resolveMx(name: string): Promise<MxRecord[]> {
    return this.#lookup("MX", name).map((m) => ({ ...m }));
  }
  async resolveTxt(name: string): Promise<string[][]> {
    return this.#lookup("TXT", name).map((r) => [...r]);
  }
  async resolve4(name: string): Promise<string[]> {
    return [...this.#lookup("A", name)];
  }
  async resolve6(name: string): Promise<string[]> {
    return [...this.#lookup("AAAA", name)];
  }
  async resolvePtr(ip: string): Promise<string[]> {
    if (isIP(ip) === 0) throw new DnsError("NXDOMAIN", "PTR", ip);
    return [...this.#lookup("PTR", reverseName(ip))];
  }
  async resolveCname(name: string): Promise<string[]> {
    return [...this.#lookup("CNAME", name)];
  }
  async resolveTlsa(name: string): Promise<TlsaRecord[]> {
    throw new DnsError("NODATA", "TLSA", name);
  }
}

/** A zone of TXT records: { name: value } (DKIM and ARC keys of the ARC and DKIM suites). */
export function txtZone(records: Record<string, string | string[]>): ZoneResolver {
  const z = new ZoneResolver();
  for (const [name, v] of Object.entries(records)) z.add(name, "TXT", v);
  return z;
}
