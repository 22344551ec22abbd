// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order, equal
// preferences shuffled; the domain itself when it has no MX but an address ("implicit MX");
// nowhere for a null MX (RFC 7505 §3: one MX of preference 0 with the root "." as exchange,
// answered 5.1.10) or a domain that does not exist (5.1.2). DNS failures that may pass
// (SERVFAIL, timeouts) are temporary: the message waits for the next attempt.
import { isIP } from "node:net";
import { isDnsError, type MxRecord, type Resolver } from "../dns/resolver.ts";

export interface RouteHost {
  /** The host name (for TLS, MTA-STS and DANE) or an address literal's address. */
  name: string;
  preference: number;
}

export type Route =
  { kind: "hosts"; hosts: RouteHost[]; implicit: boolean } | { kind: "null-mx" } | { kind: "no-domain" };

/** A temporary routing failure (the domain's DNS did not answer). */
export class RouteTempError extends Error {
  override readonly name = "RouteTempError";
}

function shuffled<T>(list: T[], random: () => number): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** The address of a domain literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"), or null. */
export function domainLiteral(domain: string): string | null {
  const m = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  return m && isIP(m[1]!) !== 0 ? m[1]! : null;
}

export async function findRoute(
  resolver: Resolver,
  domain: string,
  random: () => number = Math.random,
): Promise<Route> {
  const literal = domainLiteral(domain);
  if (literal !== null) return { kind: "hosts", hosts: [{ name: literal, preference: 0 }], implicit: true };
  let mx: MxRecord[];
  try {
    mx = await resolver.resolveMx(domain);
  } catch (e) {
    if (isDnsError(e, "NXDOMAIN")) return { kind: "no-domain" };
    if (!isDnsError(e, "NODATA")) throw new RouteTempError(`MX lookup for ${domain} failed: ${String(e)}`);
    mx = [];
  }
  const records = mx.map((r) => ({
    name: r.exchange.toLowerCase().replace(/\.$/, ""),
    preference: r.priority,
  }));
  // RFC 7505 §3: a null MX is the only MX; §4.3: mail to such a domain is refused at once.
  if (records.some((r) => r.name === "")) return { kind: "null-mx" };
  if (records.length === 0) {
    // RFC 5321 §5.1: no MX, then the domain itself is the one host, if it has an address.
    const addrs = await addressesOf(resolver, domain);
    return addrs.length > 0
      ? { kind: "hosts", hosts: [{ name: domain.toLowerCase(), preference: 0 }], implicit: true }
      : { kind: "no-domain" };
  }
  // RFC 5321 §5.1: lowest preference first; hosts of equal preference in random order.
  const byPref = new Map<number, RouteHost[]>();
  for (const r of records) byPref.set(r.preference, [...(byPref.get(r.preference) ?? []), r]);
  const hosts = [...byPref.keys()].sort((a, b) => a - b).flatMap((p) => shuffled(byPref.get(p)!, random));
  return { kind: "hosts", hosts, implicit: false };
}

/**
 * A host's addresses, IPv4 first then IPv6 (this machine may have no IPv6 route; RFC 5321
 * §5.1 leaves the order to us). A host without addresses gives []; a temporary failure of
 * both lookups throws RouteTempError.
 */
export async function addressesOf(resolver: Resolver, host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  const out: string[] = [];
  let temp: Error | null = null;
  for (const lookup of [resolver.resolve4.bind(resolver), resolver.resolve6.bind(resolver)]) {
    try {
      out.push(...(await lookup(host)));
    } catch (e) {
      if (!isDnsError(e, "NXDOMAIN") && !isDnsError(e, "NODATA"))
        temp = e instanceof Error ? e : new Error(String(e));
    }
  }
  if (out.length === 0 && temp !== null)
    throw new RouteTempError(`address lookup for ${host} failed: ${temp.message}`);
  return out;
}
