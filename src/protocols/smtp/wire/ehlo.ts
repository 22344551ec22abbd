// The EHLO reply (RFC 5321 §4.1.1.1, §4.1.4): the server builds its keyword list from a
// capabilities object; a client parses a server's EHLO reply back into the same object.

import type { ParsedReply } from "./replies.ts";
import { formatReply } from "./replies.ts";

export interface EhloCapabilities {
  /** RFC 2920. */
  pipelining?: boolean;
  /** RFC 1870 §4: "SIZE" [SP max]; 0 means no fixed limit. null: advertised without a number. */
  size?: number | null;
  /** RFC 6152. */
  eightBitMime?: boolean;
  /** RFC 3030. */
  chunking?: boolean;
  binaryMime?: boolean;
  /** RFC 2034. */
  enhancedStatusCodes?: boolean;
  /** RFC 3461. */
  dsn?: boolean;
  /** RFC 3207. */
  startTls?: boolean;
  /** RFC 4954 §3: SASL mechanisms. */
  auth?: string[];
  /** RFC 6531. */
  smtputf8?: boolean;
  /** RFC 4865 §4: max-future-release-interval (seconds) and max-future-release-date-time. */
  futureRelease?: { maxInterval: number; maxDateTime: string };
  /** RFC 6710 §5: "MT-PRIORITY" [SP priority-profile]. */
  mtPriority?: { profile?: string };
  /** RFC 8689. */
  requireTls?: boolean;
  /** RFC 2852 §3: "DELIVERBY" [SP min-by-time]; null without a minimum. */
  deliverBy?: number | null;
  /** RFC 3865 §2: "NO-SOLICITING" [SP keywords]; empty without keywords. */
  noSoliciting?: string[];
  /** RFC 9422 §4: "LIMITS" with RCPTMAX, MAILMAX and RCPTDOMAINMAX. */
  limits?: { rcptMax?: number; mailMax?: number; rcptDomainMax?: number };
  /** RFC 5321 §4.1.1.8. */
  help?: boolean;
  /** RFC 5321 §4.1.1.7 (EXPN is a service extension keyword). */
  expn?: boolean;
  /** Keywords this module does not know (client side), upper-cased, with their parameters. */
  other?: Record<string, string[]>;
}

/** The keyword lines (after the greeting line) for a capabilities object. */
export function ehloKeywords(c: EhloCapabilities): string[] {
  const out: string[] = [];
  if (c.pipelining) out.push("PIPELINING");
  if (c.size !== undefined) out.push(c.size === null ? "SIZE" : `SIZE ${c.size}`);
  if (c.eightBitMime) out.push("8BITMIME");
  if (c.chunking) out.push("CHUNKING");
  if (c.binaryMime) out.push("BINARYMIME");
  if (c.enhancedStatusCodes) out.push("ENHANCEDSTATUSCODES");
  if (c.dsn) out.push("DSN");
  if (c.startTls) out.push("STARTTLS");
  if (c.auth && c.auth.length > 0) out.push(`AUTH ${c.auth.join(" ")}`);
  if (c.smtputf8) out.push("SMTPUTF8");
  if (c.futureRelease)
    out.push(`FUTURERELEASE ${c.futureRelease.maxInterval} ${c.futureRelease.maxDateTime}`);
  if (c.mtPriority) out.push(c.mtPriority.profile ? `MT-PRIORITY ${c.mtPriority.profile}` : "MT-PRIORITY");
  if (c.requireTls) out.push("REQUIRETLS");
  if (c.deliverBy !== undefined) out.push(c.deliverBy === null ? "DELIVERBY" : `DELIVERBY ${c.deliverBy}`);
  if (c.noSoliciting)
    out.push(c.noSoliciting.length > 0 ? `NO-SOLICITING ${c.noSoliciting.join(",")}` : "NO-SOLICITING");
  if (c.limits) {
    const l: string[] = [];
    if (c.limits.rcptMax !== undefined) l.push(`RCPTMAX=${c.limits.rcptMax}`);
    if (c.limits.mailMax !== undefined) l.push(`MAILMAX=${c.limits.mailMax}`);
    if (c.limits.rcptDomainMax !== undefined) l.push(`RCPTDOMAINMAX=${c.limits.rcptDomainMax}`);
    if (l.length > 0) out.push(`LIMITS ${l.join(" ")}`);
  }
  if (c.expn) out.push("EXPN");
  if (c.help) out.push("HELP");
  if (c.other) for (const [k, v] of Object.entries(c.other)) out.push([k, ...v].join(" "));
  return out;
}

/**
 * The full EHLO (or LHLO) reply: "250-domain greeting", then one line per keyword. RFC 2034
 * §3: no enhanced codes on the EHLO reply.
 */
export function formatEhlo(domain: string, greeting: string, c: EhloCapabilities): string {
  const first = greeting === "" ? domain : `${domain} ${greeting}`;
  return formatReply(250, null, [first, ...ehloKeywords(c)]);
}

/** What a client learns from an EHLO reply. */
export interface EhloInfo {
  /** The server's domain from the first line. */
  domain: string;
  /** The rest of the first line. */
  greeting: string;
  capabilities: EhloCapabilities;
}

function nonNegInt(s: string | undefined): number | null {
  return s !== undefined && /^\d{1,15}$/.test(s) ? Number(s) : null;
}

/** Parses a 250 EHLO reply (client side). Never throws; unknown keywords land in `other`. */
export function parseEhlo(reply: Pick<ParsedReply, "code" | "lines">): EhloInfo | null {
  if (reply.code !== 250 || reply.lines.length === 0) return null;
  const first = (reply.lines[0] ?? "").trim();
  const sp = first.indexOf(" ");
  const info: EhloInfo = {
    domain: sp < 0 ? first : first.slice(0, sp),
    greeting: sp < 0 ? "" : first.slice(sp + 1),
    capabilities: {},
  };
  const c = info.capabilities;
  for (const raw of reply.lines.slice(1)) {
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((w) => w !== "");
    const kw = (words[0] ?? "").toUpperCase();
    const args = words.slice(1);
    switch (kw) {
      case "":
        break;
      case "PIPELINING":
        c.pipelining = true;
        break;
      case "SIZE":
        c.size = nonNegInt(args[0]);
        break;
      case "8BITMIME":
        c.eightBitMime = true;
        break;
      case "CHUNKING":
        c.chunking = true;
        break;
      case "BINARYMIME":
        c.binaryMime = true;
        break;
      case "ENHANCEDSTATUSCODES":
        c.enhancedStatusCodes = true;
        break;
      case "DSN":
        c.dsn = true;
        break;
      case "STARTTLS":
        c.startTls = true;
        break;
      case "AUTH":
        c.auth = [...new Set([...(c.auth ?? []), ...args.map((a) => a.toUpperCase())])];
        break;
      case "SMTPUTF8":
        c.smtputf8 = true;
        break;
      case "FUTURERELEASE": {
        const n = nonNegInt(args[0]);
        if (n !== null && args[1] !== undefined) c.futureRelease = { maxInterval: n, maxDateTime: args[1] };
        break;
      }
      case "MT-PRIORITY":
        c.mtPriority = args[0] !== undefined ? { profile: args[0].toUpperCase() } : {};
        break;
      case "REQUIRETLS":
        c.requireTls = true;
        break;
      case "DELIVERBY":
        c.deliverBy = nonNegInt(args[0]);
        break;
      case "NO-SOLICITING":
        c.noSoliciting = args[0] !== undefined ? args[0].split(",").filter((k) => k !== "") : [];
        break;
      case "LIMITS": {
        const l: NonNullable<EhloCapabilities["limits"]> = {};
        for (const a of args) {
          const [k, v] = a.split("=", 2);
          const n = nonNegInt(v);
          if (n === null) continue;
          const key = (k ?? "").toUpperCase();
          if (key === "RCPTMAX") l.rcptMax = n;
          else if (key === "MAILMAX") l.mailMax = n;
          else if (key === "RCPTDOMAINMAX") l.rcptDomainMax = n;
        }
        c.limits = l;
        break;
      }
      case "HELP":
        c.help = true;
        break;
      case "EXPN":
        c.expn = true;
        break;
      default:
        // Old servers write "AUTH=PLAIN LOGIN" (pre-RFC 4954 syntax).
        if (kw.startsWith("AUTH=")) {
          const mechs = [kw.slice(5), ...args.map((a) => a.toUpperCase())].filter((m) => m !== "");
          c.auth = [...new Set([...(c.auth ?? []), ...mechs])];
        } else {
          c.other ??= Object.create(null) as Record<string, string[]>;
          c.other[kw] = args;
        }
    }
  }
  return info;
}
