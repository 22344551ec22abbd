// SMTP paths and mailboxes (RFC 5321 §4.1.2, §4.1.3), with the UTF-8 extensions of RFC 6531
// §3.3, the length limits of RFC 5321 §4.5.3.1, and the serializer a client needs.

import { isIPv6 } from "node:net";

/** A domain given as an address literal (RFC 5321 §4.1.3). */
export interface AddressLiteral {
  kind: "ipv4" | "ipv6" | "general";
  /** The address: "192.0.2.1", "::1" (without "IPv6:"), or the general literal's content. */
  value: string;
  /** Standardized-tag of a general literal. */
  tag?: string;
}

/** A mailbox from a path. */
export interface SmtpAddress {
  /** The local part with quotes removed and quoted-pairs resolved. */
  localPart: string;
  /**
   * The domain as written (no case folding), or an address literal with its brackets
   * ("[192.0.2.1]", "[IPv6:::1]"). Empty only for the bare `<Postmaster>` of RCPT (RFC 5321
   * §4.1.1.3).
   */
  domain: string;
  literal?: AddressLiteral;
  /** True when the local part was a quoted-string on the wire. */
  quoted: boolean;
  /** True when the address holds non-ASCII characters (RFC 6531). */
  utf8: boolean;
  /** A-d-l source route given before the mailbox: accepted and ignored (RFC 5321 §4.1.2, App. C). */
  sourceRoute?: string[];
}

/** RFC 5321 §4.5.3.1: size limits, in octets. */
export const PATH_LIMITS = {
  localPart: 64,
  domain: 255,
  /** Path including "<" and ">" (RFC 5321 §4.5.3.1.3). */
  path: 256,
} as const;

export type PathError =
  "syntax" | "utf8-not-permitted" | "local-part-too-long" | "domain-too-long" | "path-too-long";

export type PathResult =
  { ok: true; address: SmtpAddress | null; end: number } | { ok: false; error: PathError; message: string };

export interface PathOptions {
  /** UTF-8 addresses allowed (RFC 6531: SMTPUTF8 given on this transaction's MAIL). */
  utf8: boolean;
  /** "reverse": `<>` allowed (MAIL). "forward": bare `<Postmaster>` allowed (RCPT). */
  kind: "reverse" | "forward";
}

// RFC 5322 §3.2.3 atext, as RFC 5321 §4.1.2 Atom uses it.
const ATEXT = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~") {
  ATEXT[c.charCodeAt(0)] = 1;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

const fail = (error: PathError, message: string): PathResult => ({ ok: false, error, message });

/** Octets of a string in UTF-8. */
function octets(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/**
 * RFC 5321 §4.1.2 Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str];
 * RFC 6531 §3.3 adds U-labels (any non-ASCII characters here; IDNA validity is a later check).
 */
export function isDomain(s: string, utf8: boolean): boolean {
  if (s.length === 0) return false;
  for (const label of s.split(".")) {
    if (label.length === 0 || octets(label) > 63) return false;
    const first = label.charCodeAt(0);
    const last = label.charCodeAt(label.length - 1);
    if (first === 0x2d || last === 0x2d) return false;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (isAlnum(c) || c === 0x2d) continue;
      if (utf8 && c >= 0x80) continue;
      return false;
    }
  }
  return true;
}

/** Parses the content of an address literal, between "[" and "]" (RFC 5321 §4.1.3). */
export function parseAddressLiteral(inner: string): AddressLiteral | null {
  // IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0..255.
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(inner)) {
    return inner.split(".").every((n) => Number(n) <= 255) ? { kind: "ipv4", value: inner } : null;
  }
  const colon = inner.indexOf(":");
  if (colon <= 0) return null;
  const tag = inner.slice(0, colon);
  const rest = inner.slice(colon + 1);
  // IPv6-address-literal = "IPv6:" IPv6-addr (the tag read case-insensitively).
  if (tag.toLowerCase() === "ipv6")
    return isIPv6(rest) && !rest.includes("%") ? { kind: "ipv6", value: rest } : null;
  // General-address-literal = Standardized-tag ":" 1*dcontent; dcontent = %d33-90 / %d94-126.
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(tag) || rest.length === 0) return null;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c < 33 || c > 126 || (c >= 91 && c <= 93)) return null;
  }
  return { kind: "general", tag, value: rest };
}

/** Reads a domain or address literal starting at `i`; answers its end or -1. */
function readDomain(
  s: string,
  i: number,
  utf8: boolean,
  allowLiteral: boolean,
): { end: number; literal?: AddressLiteral } | null {
  if (s.charCodeAt(i) === 0x5b) {
    if (!allowLiteral) return null;
    const close = s.indexOf("]", i + 1);
    if (close < 0) return null;
    const literal = parseAddressLiteral(s.slice(i + 1, close));
    return literal ? { end: close + 1, literal } : null;
  }
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (isAlnum(c) || c === 0x2d || c === 0x2e || c >= 0x80) j++;
    else break;
  }
  return isDomain(s.slice(i, j), utf8) ? { end: j } : null;
}

/**
 * Parses a Reverse-path or Forward-path that starts at `start` (the "<"), returning the address
 * and the index after ">". `<>` gives null for a reverse path. Never throws.
 */
export function parsePath(s: string, start: number, opts: PathOptions): PathResult {
  if (s.charCodeAt(start) !== 0x3c) return fail("syntax", "Path must be enclosed in <>");
  let i = start + 1;
  if (s.charCodeAt(i) === 0x3e) {
    if (opts.kind === "reverse") return { ok: true, address: null, end: i + 1 };
    return fail("syntax", "Empty forward path");
  }
  // A-d-l = At-domain *( "," At-domain ) ":"  (RFC 5321 §4.1.2: accepted, ignored).
  let sourceRoute: string[] | undefined;
  if (s.charCodeAt(i) === 0x40) {
    sourceRoute = [];
    for (;;) {
      if (s.charCodeAt(i) !== 0x40) return fail("syntax", "Bad source route");
      const d = readDomain(s, i + 1, opts.utf8, true);
      if (!d) return fail("syntax", "Bad source route domain");
      sourceRoute.push(s.slice(i + 1, d.end));
      i = d.end;
      const c = s.charCodeAt(i);
      if (c === 0x2c) i++;
      else if (c === 0x3a) {
        i++;
        break;
      } else return fail("syntax", "Bad source route");
    }
  }
  // Local-part = Dot-string / Quoted-string.
  let localPart = "";
  let quoted = false;
  let utf8 = false;
  const localStart = i;
  if (s.charCodeAt(i) === 0x22) {
    quoted = true;
    i++;
    for (;;) {
      if (i >= s.length) return fail("syntax", "Unterminated quoted local part");
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        break;
      }
      if (c === 0x5c) {
        // quoted-pairSMTP = %d92 %d32-126
        const n = s.charCodeAt(i + 1);
        if (!(n >= 32 && n <= 126)) return fail("syntax", "Bad quoted pair in local part");
        localPart += s[i + 1];
        i += 2;
        continue;
      }
      // qtextSMTP = %d32-33 / %d35-91 / %d93-126, and UTF8-non-ascii (RFC 6531 §3.3).
      if (c >= 32 && c <= 126) {
        localPart += s[i];
        i++;
      } else if (c >= 0x80) {
        utf8 = true;
        localPart += s[i];
        i++;
      } else return fail("syntax", "Bad character in quoted local part");
    }
  } else {
    // Dot-string = Atom *("." Atom); atext plus UTF8-non-ascii (RFC 6531 §3.3).
    let prevDot = true;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x2e) {
        if (prevDot) return fail("syntax", "Bad dot in local part");
        prevDot = true;
      } else if (c < 128 && ATEXT[c] === 1) prevDot = false;
      else if (c >= 0x80) {
        utf8 = true;
        prevDot = false;
      } else break;
      i++;
    }
    if (i === localStart || prevDot) return fail("syntax", "Bad local part");
    localPart = s.slice(localStart, i);
  }
  const localRaw = s.slice(localStart, i);
  let domain = "";
  let literal: AddressLiteral | undefined;
  if (s.charCodeAt(i) === 0x40) {
    const d = readDomain(s, i + 1, true, true);
    if (!d) return fail("syntax", "Bad domain");
    domain = s.slice(i + 1, d.end);
    literal = d.literal;
    i = d.end;
    for (let k = 0; k < domain.length; k++) if (domain.charCodeAt(k) >= 0x80) utf8 = true;
  } else if (!(
    opts.kind === "forward" &&
    !quoted &&
    localPart.toLowerCase() === "postmaster" &&
    !sourceRoute
  )) {
    // RFC 5321 §4.1.1.3: only "<Postmaster>" may go without a domain.
    return fail("syntax", "Address must have a domain");
  }
  if (s.charCodeAt(i) !== 0x3e) return fail("syntax", "Path must end with >");
  i++;
  if (utf8 && !opts.utf8) return fail("utf8-not-permitted", "Non-ASCII address needs SMTPUTF8");
  if (octets(localRaw) > PATH_LIMITS.localPart) return fail("local-part-too-long", "Local part too long");
  if (octets(domain) > PATH_LIMITS.domain) return fail("domain-too-long", "Domain too long");
  if (octets(s.slice(start, i)) > PATH_LIMITS.path) return fail("path-too-long", "Path too long");
  const address: SmtpAddress = { localPart, domain, quoted, utf8 };
  if (literal) address.literal = literal;
  if (sourceRoute) address.sourceRoute = sourceRoute;
  return { ok: true, address, end: i };
}

/** True when the local part can go on the wire unquoted (a Dot-string, RFC 5321 §4.1.2). */
export function isDotString(local: string): boolean {
  if (local.length === 0) return false;
  let prevDot = true;
  for (let i = 0; i < local.length; i++) {
    const c = local.charCodeAt(i);
    if (c === 0x2e) {
      if (prevDot) return false;
      prevDot = true;
    } else if ((c < 128 && ATEXT[c] === 1) || c >= 0x80) prevDot = false;
    else return false;
  }
  return !prevDot;
}

/**
 * Serializes a mailbox for the wire: the local part as a Dot-string when it is one, else as a
 * quoted string (RFC 5321 §4.1.2: "SHOULD NOT" quote needlessly).
 */
export function formatAddress(a: Pick<SmtpAddress, "localPart" | "domain">): string {
  const local = isDotString(a.localPart) ? a.localPart : '"' + a.localPart.replace(/(["\\])/g, "\\$1") + '"';
  return a.domain === "" ? local : `${local}@${a.domain}`;
}

/** A path for MAIL FROM / RCPT TO: `<local@domain>`, or `<>` for null. */
export function formatPath(a: Pick<SmtpAddress, "localPart" | "domain"> | null): string {
  return a === null ? "<>" : `<${formatAddress(a)}>`;
}
