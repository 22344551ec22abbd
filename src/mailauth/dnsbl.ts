// DNS blocklists (RFC 5782): the client's address is looked up as an A record under each
// configured list's zone, with the octets (IPv4, §2.1) or nibbles (IPv6, §2.4) reversed. An
// answer in 127.0.0.0/8 means listed (§2.3; 127.0.0.2 is the test entry every list must
// answer, §5), NXDOMAIN means not listed. A TXT record at the same name may say why (§2.1).
// Answers outside 127.0.0.0/8, 127.0.0.1 itself and the 127.255.255.0/24 "query refused"
// codes some lists return are not listings. A lookup that fails temporarily counts as not
// listed: a list that cannot be asked must not stop mail (fail open), and it is logged.
import { isIP } from "node:net";
import type { Resolver } from "../dns/resolver.ts";
import { isDnsError, reverseName } from "../dns/resolver.ts";

export interface DnsblListing {
  zone: string;
  /** The A records returned (the list's codes). */
  codes: string[];
  /** The TXT reason, when published. */
  reason?: string;
}

export interface DnsblOutcome {
  listed: DnsblListing[];
  /** Zones whose lookup failed temporarily. */
  errors: string[];
}

/** The query name of `ip` under `zone`, e.g. "2.0.0.127.zen.example" (RFC 5782 §2.1, §2.4). */
export function dnsblName(ip: string, zone: string): string {
  const rev = reverseName(ip);
  const base = rev.replace(/\.(in-addr|ip6)\.arpa$/, "");
  return `${base}.${zone.replace(/^\.+|\.+$/g, "")}`;
}

function isListing(code: string): boolean {
  if (isIP(code) !== 4 || !code.startsWith("127.")) return false;
  if (code === "127.0.0.1") return false;
  return !code.startsWith("127.255.255.");
}

export async function checkDnsbl(
  resolver: Resolver,
  ip: string,
  zones: readonly string[],
): Promise<DnsblOutcome> {
  const addr = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  const out: DnsblOutcome = { listed: [], errors: [] };
  if (isIP(addr) === 0) return out;
  await Promise.all(
    zones.map(async (zone) => {
      const name = dnsblName(addr, zone);
      let codes: string[];
      try {
        codes = (await resolver.resolve4(name)).filter(isListing);
      } catch (e) {
        if (isDnsError(e, "SERVFAIL") || isDnsError(e, "TIMEOUT")) out.errors.push(zone);
        return;
      }
      if (codes.length === 0) return;
      const listing: DnsblListing = { zone, codes };
      try {
        const txt = await resolver.resolveTxt(name);
        const first = txt[0];
        if (first !== undefined) listing.reason = first.join("").slice(0, 200);
      } catch {
        // §2.1: the TXT record is optional.
      }
      out.listed.push(listing);
    }),
  );
  out.listed.sort((a, b) => zones.indexOf(a.zone) - zones.indexOf(b.zone));
  return out;
}
