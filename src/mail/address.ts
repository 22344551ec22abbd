// RFC 5322 §3.4 address lists (mailbox, group, angle-addr, obs-route §4.4, quoted local parts,
// comments, RFC 2047 display names), to decoded Address/AddressGroup form and to the IMAP
// ENVELOPE address form (RFC 9051 §7.5.2). Tolerant: never throws, keeps what it can.
import { domainToASCII, domainToUnicode } from "node:url";
import { decodeWords } from "./headers.ts";
import type { Address, AddressGroup, EnvelopeAddress } from "./types.ts";

/** A lexical token; `w` tells whether white space came before it. */
interface Tok {
  /** atom (atom or dot-atom text), qs (quoted-string, unescaped), comment, dlit (domain
   *  literal, brackets kept) or sp (a special: < > @ , ; : .) */
  t: "atom" | "qs" | "comment" | "dlit" | "sp";
  v: string;
  w: boolean;
}

const MAX_INPUT = 256 * 1024;
const MAX_ADDRESSES = 10_000;

function tokenize(input: string): Tok[] {
  const s = input.length > MAX_INPUT ? input.slice(0, MAX_INPUT) : input;
  const toks: Tok[] = [];
  let i = 0;
  let w = false;
  const push = (t: Tok["t"], v: string): void => {
    toks.push({ t, v, w });
    w = false;
  };
  while (i < s.length) {
    const c = s[i] ?? "";
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      w = true;
      i++;
    } else if (c === '"') {
      let v = "";
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length) i++;
        const ch = s[i] ?? "";
        // RFC 5322 §3.2.4: CRLF in a quoted string is folding, not content
        if (ch !== "\r" && ch !== "\n") v += ch;
        i++;
      }
      i++;
      push("qs", v);
    } else if (c === "(") {
      // RFC 5322 §3.2.2: comments nest and may hold quoted-pairs
      let depth = 1;
      let v = "";
      i++;
      while (i < s.length && depth > 0) {
        const ch = s[i] ?? "";
        if (ch === "\\" && i + 1 < s.length) {
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (ch === "(") depth++;
        else if (ch === ")") depth--;
        if (depth > 0) v += ch;
        i++;
      }
      push("comment", v.trim());
    } else if (c === "[") {
      const close = s.indexOf("]", i);
      const end = close < 0 ? s.length : close + 1;
      push("dlit", s.slice(i, end));
      i = end;
    } else if ("<>@,;:.".includes(c)) {
      push("sp", c);
      i++;
    } else {
      let j = i;
      while (j < s.length && !' \t\r\n"(<>@,;:[]'.includes(s[j] ?? " ")) {
        if (s[j] === ".") break;
        j++;
      }
      if (j === i) {
        // a stray "]" or ")": keep it as text
        push("atom", c);
        i++;
      } else {
        push("atom", s.slice(i, j));
        i = j;
      }
    }
  }
  return toks;
}

/** One parsed mailbox, raw (display name unquoted but not RFC 2047 decoded). */
interface RawMailbox {
  name: string | null;
  route: string | null;
  local: string;
  domain: string | null;
}
interface RawGroup {
  group: string;
  members: RawMailbox[];
}
type RawEntry = RawMailbox | RawGroup;

function isGroup(e: RawEntry): e is RawGroup {
  return "group" in e;
}

/** Joins phrase tokens (atoms, quoted strings, dots) with single spaces as RFC 5322 §3.2.5. */
function phrase(toks: Tok[]): string | null {
  let out = "";
  for (const t of toks) {
    if (t.t === "comment") continue;
    if (out.length > 0 && (t.w || (t.t === "qs" && !out.endsWith(".")))) out += " ";
    out += t.v;
  }
  out = out.trim();
  return out.length > 0 ? out : null;
}

/** Splits "local@domain" tokens of an addr-spec (dot-atoms, quoted local part, literal). */
function addrSpec(toks: Tok[]): { local: string; domain: string | null; comment: string | null } {
  let local = "";
  let domain: string | null = null;
  let comment: string | null = null;
  let inDomain = false;
  for (const t of toks) {
    if (t.t === "comment") {
      comment ??= t.v.length > 0 ? t.v : null;
      continue;
    }
    if (t.t === "sp" && t.v === "@" && !inDomain) {
      inDomain = true;
      domain = "";
      continue;
    }
    const text = t.t === "qs" && !inDomain ? quoteLocalIfNeeded(t.v) : t.v;
    if (inDomain) domain = (domain ?? "") + text;
    else local += text;
  }
  return { local, domain, comment };
}

/** RFC 5322 §3.4.1: a local part that is not a dot-atom stays a quoted-string. */
function quoteLocalIfNeeded(v: string): string {
  if (
    /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/.test(
      v,
    )
  )
    return v;
  return '"' + v.replace(/(["\\])/g, "\\$1") + '"';
}

/** Parses one mailbox from its tokens: name-addr, addr-spec, or a bare phrase. */
function mailbox(toks: Tok[]): RawMailbox | null {
  const lt = toks.findIndex((t) => t.t === "sp" && t.v === "<");
  if (lt >= 0) {
    let gt = toks.findIndex((t, k) => k > lt && t.t === "sp" && t.v === ">");
    if (gt < 0) gt = toks.length;
    let inner = toks.slice(lt + 1, gt);
    let route: string | null = null;
    // RFC 5322 §4.4 obs-route: "@a,@b:" before the addr-spec
    const colon = inner.findIndex((t) => t.t === "sp" && t.v === ":");
    if (colon >= 0 && inner[0]?.t === "sp" && inner[0].v === "@") {
      route = inner
        .slice(0, colon)
        .filter((t) => t.t !== "comment")
        .map((t) => t.v)
        .join("");
      inner = inner.slice(colon + 1);
    }
    const spec = addrSpec(inner);
    const before = toks.slice(0, lt);
    let name = phrase(before);
    if (name === null) {
      const c = toks.slice(gt + 1).find((t) => t.t === "comment" && t.v.length > 0);
      if (c) name = c.v;
    }
    if (spec.local === "" && spec.domain === null && name === null) return null;
    return { name, route, local: spec.local, domain: spec.domain };
  }
  const hasAt = toks.some((t) => t.t === "sp" && t.v === "@");
  const spec = addrSpec(toks);
  if (!hasAt) {
    // A bare word list ("John Smith", "undisclosed-recipients"): a mailbox without a domain
    const words = phrase(toks);
    if (words === null) return null;
    return {
      name: null,
      route: null,
      local: words.includes(" ") ? quoteLocalIfNeeded(words) : words,
      domain: null,
    };
  }
  // Malformed "John Smith john@x.org": the words before the local part are a display name.
  // The local part is the run of tokens before "@" not separated by white space (dots join
  // across white space, RFC 5322 §4.4 obs-local-part).
  const at = toks.findIndex((t) => t.t === "sp" && t.v === "@");
  let j = at - 1;
  while (j > 0) {
    const t = toks[j];
    const prev = toks[j - 1];
    if (t === undefined || prev === undefined || prev.t === "comment") break;
    const isDot = (x: Tok): boolean => x.t === "sp" && x.v === ".";
    if (t.w && !isDot(t) && !isDot(prev)) break;
    j--;
  }
  const lead = j > 0 ? phrase(toks.slice(0, j)) : null;
  if (lead !== null) {
    const rest = addrSpec(toks.slice(j));
    return { name: lead, route: null, local: rest.local, domain: rest.domain };
  }
  // RFC 5322 §3.4: "a@b (Name)": the comment is taken as the display name (as mailers do)
  return { name: spec.comment, route: null, local: spec.local, domain: spec.domain };
}

/** Parses an address-list header value into raw mailboxes and groups. */
function parseRaw(value: string | null): RawEntry[] {
  if (value === null) return [];
  const toks = tokenize(value);
  const out: RawEntry[] = [];
  let count = 0;
  let cur: Tok[] = [];
  let group: RawGroup | null = null;
  let inAngle = false;
  const push = (): void => {
    const m = mailbox(cur);
    cur = [];
    if (m === null || count >= MAX_ADDRESSES) return;
    count++;
    if (group) group.members.push(m);
    else out.push(m);
  };
  for (const t of toks) {
    if (t.t === "sp") {
      if (t.v === "<") inAngle = true;
      else if (t.v === ">") inAngle = false;
      else if (!inAngle && t.v === ",") {
        push();
        continue;
      } else if (!inAngle && t.v === ":" && group === null) {
        // RFC 5322 §3.4: group = display-name ":" [group-list] ";"
        group = { group: phrase(cur) ?? "", members: [] };
        cur = [];
        continue;
      } else if (!inAngle && t.v === ";") {
        push();
        if (group) {
          out.push(group);
          group = null;
        }
        continue;
      }
    }
    cur.push(t);
  }
  push();
  if (group) out.push(group);
  return out;
}

function addressOf(m: RawMailbox): string {
  return m.domain === null ? m.local : `${m.local}@${m.domain}`;
}

function decodedName(name: string | null): string | null {
  if (name === null) return null;
  const d = decodeWords(name).trim();
  return d.length > 0 ? d : null;
}

function toAddress(m: RawMailbox): Address {
  return { name: decodedName(m.name), address: addressOf(m) };
}

/** Parses an address list to decoded mailboxes; group members are flattened in place. */
export function parseAddressList(value: string | null): Address[] {
  const out: Address[] = [];
  for (const e of parseRaw(value)) {
    if (isGroup(e)) for (const m of e.members) out.push(toAddress(m));
    else out.push(toAddress(e));
  }
  return out;
}

/**
 * Parses an address list keeping groups (JMAP EmailAddressGroup, RFC 8621 §4.1.2.3):
 * mailboxes outside any group are collected in groups with name null.
 */
export function parseAddressGroups(value: string | null): AddressGroup[] {
  const out: AddressGroup[] = [];
  let loose: AddressGroup | null = null;
  for (const e of parseRaw(value)) {
    if (isGroup(e)) {
      loose = null;
      out.push({ name: decodedName(e.group), addresses: e.members.map(toAddress) });
    } else {
      if (!loose) {
        loose = { name: null, addresses: [] };
        out.push(loose);
      }
      loose.addresses.push(toAddress(e));
    }
  }
  return out;
}

/**
 * The IMAP ENVELOPE form of an address list (RFC 9051 §7.5.2): names raw (not decoded), a group
 * as (NIL NIL "name" NIL) ... (NIL NIL NIL NIL). A mailbox lacking a local part or domain gets
 * the placeholders Dovecot uses, since NIL host would read as a group marker.
 */
export function parseEnvelopeAddresses(value: string | null): EnvelopeAddress[] {
  const out: EnvelopeAddress[] = [];
  const one = (m: RawMailbox): EnvelopeAddress => ({
    name: m.name,
    adl: m.route,
    mailbox: m.local.length > 0 ? m.local : "MISSING_MAILBOX",
    host: m.domain !== null && m.domain.length > 0 ? m.domain : "MISSING_DOMAIN",
  });
  for (const e of parseRaw(value)) {
    if (isGroup(e)) {
      out.push({ name: null, adl: null, mailbox: e.group, host: null });
      for (const m of e.members) out.push(one(m));
      out.push({ name: null, adl: null, mailbox: null, host: null });
    } else out.push(one(e));
  }
  return out;
}

/** RFC 5322 §3.2.3 atext. */
const ATEXT_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ \u0080-\uffff]+$/;

/** Formats an address for a header: `"Name" <a@b>`, `Name <a@b>` or `a@b`. Unicode kept. */
export function formatAddress(a: Address): string {
  if (a.name === null || a.name.length === 0) return a.address;
  const name =
    ATEXT_PHRASE.test(a.name) && a.name.trim() === a.name
      ? a.name
      : `"${a.name.replace(/(["\\])/g, "\\$1")}"`;
  return `${name} <${a.address}>`;
}

/** Formats a list of addresses joined with ", ". */
export function formatAddressList(list: readonly Address[]): string {
  return list.map(formatAddress).join(", ");
}

/** The domain in ASCII (IDNA A-labels, RFC 5890), lower-cased; the input when not convertible. */
export function asciiDomain(domain: string): string {
  if (domain.startsWith("[")) return domain;
  const a = domainToASCII(domain);
  return a.length > 0 ? a : domain.toLowerCase();
}

/** The domain in Unicode (IDNA U-labels) for display; the input when not convertible. */
export function unicodeDomain(domain: string): string {
  if (domain.startsWith("[")) return domain;
  const u = domainToUnicode(domain);
  return u.length > 0 ? u : domain;
}

/** Splits "local@domain" at the last "@"; domain null when there is none. */
export function splitAddress(address: string): { local: string; domain: string | null } {
  const at = address.lastIndexOf("@");
  return at < 0
    ? { local: address, domain: null }
    : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** A canonical key for comparing addresses: local part as is, domain as lower-case ASCII. */
export function addressKey(address: string): string {
  const { local, domain } = splitAddress(address);
  return domain === null ? local : `${local}@${asciiDomain(domain)}`;
}
