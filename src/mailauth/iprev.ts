// iprev (RFC 8601 §3, "forward-confirmed reverse DNS"): the PTR names of the client's address
// are looked up (RFC 1035 §3.5, RFC 3596 §2.5), and the check passes when one of them resolves
// (A or AAAA) back to the address. Results (§2.7.3): pass; fail (no PTR, or no name comes
// back to the address: NXDOMAIN or no match); temperror (a DNS failure that may go away);
// permerror is not produced.
import { isIP } from "node:net";
import type { Resolver } from "../dns/resolver.ts";
import { isDnsError } from "../dns/resolver.ts";

export type IprevResult = "pass" | "fail" | "temperror";

export interface IprevOutcome {
  result: IprevResult;
  /** The PTR name that confirmed the address (pass), or the names found. */
  names: string[];
  /** The name that confirmed it. */
  confirmed?: string;
}

/** At most this many PTR names are followed (RFC 7208 §4.6.4 uses 10 for the same walk). */
export const MAX_PTR_NAMES = 10;

const temporary = (e: unknown) => isDnsError(e, "SERVFAIL") || isDnsError(e, "TIMEOUT");

/** Canonical form of an address for comparison (IPv6 zero runs, case). */
function canonical(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head = "", tail = ""] = ip.toLowerCase().includes("::")
    ? ip.toLowerCase().split("::")
    : [ip.toLowerCase(), ""];
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : tail.split(":");
  return [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t]
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":");
}

export async function checkIprev(resolver: Resolver, ip: string): Promise<IprevOutcome> {
  // IPv4-mapped IPv6 clients are IPv4 clients.
  const addr = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  let names: string[];
  try {
    names = (await resolver.resolvePtr(addr)).map((n) => n.toLowerCase().replace(/\.$/, ""));
  } catch (e) {
    return { result: temporary(e) ? "temperror" : "fail", names: [] };
  }
  names = names.slice(0, MAX_PTR_NAMES);
  const want = canonical(addr);
  let sawTemp = false;
  for (const name of names) {
    try {
      const addrs = isIP(addr) === 6 ? await resolver.resolve6(name) : await resolver.resolve4(name);
      if (addrs.some((a) => canonical(a) === want)) return { result: "pass", names, confirmed: name };
    } catch (e) {
      if (temporary(e)) sawTemp = true;
    }
  }
  return { result: sawTemp ? "temperror" : "fail", names };
}
