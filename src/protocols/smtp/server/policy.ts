// The built-in policy of the server: local domains, recipient resolution (aliases,
// subaddresses, catch-all: the store does it), the submission sender check and the quota
// check at RCPT. Each answers a Verdict, turned into a reply by the one table of hooks.ts.
import { domainToASCII } from "node:url";
import type { Account } from "../../../store/types.ts";
import type { SmtpAddress } from "../wire/path.ts";
import type { Verdict } from "./hooks.ts";
import { CONTINUE } from "./hooks.ts";
import type { SmtpSession } from "./session.ts";
import type { AcceptedRecipient } from "./types.ts";

/** The domain in A-label form, lower-cased (RFC 5890; RFC 6531 §3.2 U-labels). */
export function asciiDomain(domain: string): string {
  if (domain.startsWith("[")) return domain.toLowerCase();
  const d = domain.endsWith(".") ? domain.slice(0, -1) : domain;
  if (/^[\x00-\x7f]*$/.test(d)) return d.toLowerCase();
  return domainToASCII(d) || d.toLowerCase();
}

/** "local@domain" with the domain normalized (the local part is kept as written). */
export function normalizeAddress(a: Pick<SmtpAddress, "localPart" | "domain">): string {
  return `${a.localPart}@${asciiDomain(a.domain)}`.toLowerCase();
}

export async function isLocalDomain(s: SmtpSession, domain: string): Promise<boolean> {
  if (domain.startsWith("[")) return false;
  return (await s.ctx.store.delivery.getDomain(asciiDomain(domain))) !== null;
}

/**
 * RFC 6409 §6.1: submission checks the sender. An authenticated account may use its own
 * addresses and the aliases that lead to it (the catch-all does not count), or `<>`.
 */
export async function checkSender(s: SmtpSession, from: SmtpAddress | null): Promise<Verdict> {
  if (s.mode !== "submission" || from === null) return CONTINUE;
  const auth = s.auth;
  if (auth === null) return { action: "reject", reason: "sender-not-allowed" };
  const addr = normalizeAddress(from);
  const account = await s.ctx.store.getAccount(auth.accountId);
  if (account === null) return { action: "reject", reason: "sender-not-allowed" };
  if (account.addresses.includes(addr) || account.name.toLowerCase() === addr) return CONTINUE;
  const domain = addr.slice(addr.lastIndexOf("@") + 1);
  const names = new Set([account.name.toLowerCase(), ...account.addresses]);
  for (const alias of await s.ctx.store.listAliases(domain)) {
    if (alias.address.toLowerCase() !== addr) continue;
    if (alias.targets.some((t) => names.has(t.toLowerCase()))) return CONTINUE;
  }
  return {
    action: "reject",
    reason: "sender-not-allowed",
    text: `Sender address <${addr}> is not yours`,
  };
}

/**
 * RFC 4954 §5: the AUTH= mailbox kept with a submitted message (the queue passes it on to
 * servers that offer AUTH). The server vouches only for what it knows: a mailbox the client
 * gives is kept when it is one of the authenticated account's own addresses; anything else
 * (another mailbox, `<>`, or none: RFC 6409 submission is original submission) becomes the
 * account's primary address. Without an authenticated account with an address: null (`<>`).
 */
export async function submitterMailbox(
  s: SmtpSession,
  given: string | null | undefined,
): Promise<string | null> {
  if (s.auth === null) return null;
  const account = await s.ctx.store.getAccount(s.auth.accountId);
  if (account === null) return null;
  const own = account.addresses.map((a) => a.toLowerCase());
  if (typeof given === "string") {
    const at = given.lastIndexOf("@");
    const g = at > 0 ? normalizeAddress({ localPart: given.slice(0, at), domain: given.slice(at + 1) }) : "";
    if (own.includes(g)) return g;
  }
  return own[0] ?? (account.name.includes("@") ? account.name.toLowerCase() : null);
}

/**
 * Resolves one recipient. Local domains: the store's resolution, else 550 5.1.1. Other
 * domains: relayed only for an authenticated submission session, else 550 5.7.1.
 */
export async function resolveRecipient(
  s: SmtpSession,
  to: SmtpAddress,
): Promise<{ ok: true; rcpt: Omit<AcceptedRecipient, "params"> } | { ok: false; verdict: Verdict }> {
  // RFC 5321 §4.1.1.3: the bare <Postmaster> is the postmaster of this host (of its own
  // domain when it is local, else of the first local domain).
  let address = to;
  if (to.domain === "") {
    let domain = s.hostname;
    if (!(await isLocalDomain(s, domain))) domain = (await s.ctx.store.listDomains())[0]?.name ?? domain;
    address = { ...to, domain };
  }
  const normalized = normalizeAddress(address);
  if (await isLocalDomain(s, address.domain)) {
    const sep = s.ctx.config.current().domains.subaddressSeparator;
    const r = await s.ctx.store.delivery.resolveRecipient(normalized, { subaddressSeparator: sep });
    if (r === null || (r.accountIds.length === 0 && r.external.length === 0)) {
      return { ok: false, verdict: { action: "reject", reason: "unknown-user" } };
    }
    if (r.external.length > 0 && r.accountIds.length === 0 && (s.mode === "lmtp" || s.outbound === null)) {
      // Forwarding needs the outbound queue (and LMTP delivers locally only, RFC 2033 §1).
      return { ok: false, verdict: { action: "reject", reason: "unknown-user" } };
    }
    // Forwarding targets beside local accounts are dropped when there is no queue.
    const external = s.outbound === null || s.mode === "lmtp" ? [] : r.external;
    return {
      ok: true,
      rcpt: { address, normalized, accountIds: r.accountIds, external, detail: r.detail, local: true },
    };
  }
  if (s.mode === "submission" && s.auth !== null && s.outbound !== null) {
    return {
      ok: true,
      rcpt: { address, normalized, accountIds: [], external: [normalized], detail: null, local: false },
    };
  }
  if (s.mode === "lmtp") return { ok: false, verdict: { action: "reject", reason: "unknown-user" } };
  return { ok: false, verdict: { action: "reject", reason: "relay" } };
}

/** Quota answer for `size` more octets: 452 4.2.2, or 552 5.2.2 when it can never fit. */
export function quotaVerdict(account: Account, size: number): Verdict {
  if (account.quotaBytes === null) return CONTINUE;
  if (size > account.quotaBytes) return { action: "reject", reason: "quota" };
  if (account.usedBytes + size > account.quotaBytes) return { action: "tempfail", reason: "quota" };
  return CONTINUE;
}

/** RCPT-time checks of the accounts: disabled, or over quota for the declared SIZE. */
export async function checkAccounts(
  s: SmtpSession,
  accountIds: readonly string[],
  size: number,
): Promise<Verdict> {
  for (const id of accountIds) {
    // Usage may be a second old here: the append checks quota again in its transaction.
    const account = await s.ctx.store.delivery.getAccount(id);
    if (account === null) return { action: "reject", reason: "unknown-user" };
    if (account.disabled) return { action: "reject", reason: "mailbox-disabled" };
    const q = quotaVerdict(account, size);
    if (q.action !== "continue") return q;
  }
  return CONTINUE;
}
