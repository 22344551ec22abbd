// Our Resolver (src/dns/resolver.ts) in the shape the `mailauth` package injects: one function
// `(name, rrtype) => Promise<records>` that answers like node:dns `resolve()` and fails with an
// Error whose `code` is a node:dns code. mailauth tells the outcomes apart by that code:
// ENOTFOUND / ENODATA are "no record" (SPF void lookups, RFC 7208 §4.6.4; DKIM "no key",
// RFC 6376 §6.1.2; DMARC "no policy", RFC 7489 §6.6.3) and anything else is temporary
// (SPF temperror, RFC 7208 §5; DKIM temperror, RFC 6376 §6.1.2).
import { isIP } from "node:net";
import type { DnsErrorCode, Resolver } from "../dns/resolver.ts";
import { isDnsError } from "../dns/resolver.ts";

/** The resolver function mailauth takes (its `DNSResolver` type). */
export type MailauthResolver = (name: string, rrtype: string) => Promise<string[][] | string[] | MxAnswer[]>;

interface MxAnswer {
  exchange: string;
  priority: number;
}

const NODE_CODES: Record<DnsErrorCode, string> = {
  NXDOMAIN: "ENOTFOUND",
  NODATA: "ENODATA",
  SERVFAIL: "ESERVFAIL",
  TIMEOUT: "ETIMEOUT",
};

function dnsFailure(code: string, rrtype: string, name: string): Error & { code: string } {
  const e = new Error(`query${rrtype} ${code} ${name}`) as Error & { code: string; hostname: string };
  e.code = code;
  e.hostname = name;
  return e;
}

/**
 * The IP address of a reverse name ("4.3.2.1.in-addr.arpa" -> "1.2.3.4", RFC 1035 §3.5;
 * nibbles of ip6.arpa, RFC 3596 §2.5), or null when it is not one. mailauth asks PTR by the
 * reverse name; our Resolver asks by address.
 */
export function addressOfReverseName(name: string): string | null {
  const n = name.toLowerCase().replace(/\.$/, "");
  if (n.endsWith(".in-addr.arpa")) {
    const parts = n.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
    return parts.reverse().join(".");
  }
  if (n.endsWith(".ip6.arpa")) {
    const nibbles = n.slice(0, -".ip6.arpa".length).split(".");
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return null;
    const hex = nibbles.reverse().join("");
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4).replace(/^0+(?=.)/, ""));
    const ip = groups.join(":");
    return isIP(ip) === 6 ? ip : null;
  }
  return null;
}

/** Adapts a Resolver to mailauth's injectable resolver (DESIGN.md "Inject the outside world"). */
export function mailauthResolver(resolver: Resolver): MailauthResolver {
  return async (name, rrtype) => {
    const type = rrtype.toUpperCase();
    try {
      switch (type) {
        case "TXT":
          return await resolver.resolveTxt(name);
        case "A":
          return await resolver.resolve4(name);
        case "AAAA":
          return await resolver.resolve6(name);
        case "MX":
          return await resolver.resolveMx(name);
        case "CNAME":
          return await resolver.resolveCname(name);
        case "PTR": {
          const ip = addressOfReverseName(name);
          if (ip === null) throw dnsFailure("ENOTFOUND", type, name);
          return await resolver.resolvePtr(ip);
        }
        default:
          // mailauth asks nothing else on these paths; answer "no data" rather than guess.
          throw dnsFailure("ENODATA", type, name);
      }
    } catch (e) {
      if (isDnsError(e)) throw dnsFailure(NODE_CODES[e.code], type, name);
      throw e;
    }
  };
}
