// VRFY (RFC 5321 §3.5.1, §4.1.1.6) and EXPN (§3.5.2, §4.1.1.7). By default both answer 252
// (§3.5.3: not verified, but mail will be tried), since real answers help address harvesting
// (§7.3). The listener's `vrfy` setting enables real answers: "authenticated" for
// authenticated sessions only (the others still get 252), "on" for every client. Then:
// - a local mailbox (account, alias, subaddress, catch-all) answers 250 2.1.5 with the
//   mailbox (§3.5.1: the reply includes it), an unknown one 550 5.1.1;
// - a bare user name is looked up in every local domain without a catch-all: one match is
//   250, several are 553 5.1.4 with the possibilities (§3.5.1, §3.5.4);
// - EXPN of an alias lists its targets, one per line; of a plain mailbox it answers as VRFY
//   (§3.5.2 allows either);
// - an address of another domain answers 252: this server cannot verify it (§3.5.3).
import type { ArgCommand } from "../../wire/commands.ts";
import { formatAddress } from "../../wire/path.ts";
import type { Reply } from "../../wire/replies.ts";
import { reply } from "../../wire/replies.ts";
import { parseVrfyArgument } from "../../wire/vrfy.ts";
import type { Recipient } from "../../../../store/types.ts";
import { isLocalDomain, normalizeAddress } from "../policy.ts";
import type { CommandDescriptor, SmtpSession } from "../session.ts";

/** Whether this session gets real VRFY/EXPN answers. */
export function vrfyEnabled(s: SmtpSession): boolean {
  const mode = s.ctx.config.current().listeners[s.info.listenerName]?.vrfy ?? "off";
  return mode === "on" || (mode === "authenticated" && s.auth !== null);
}

/** Where mail for a normalized local address goes, or null when it goes nowhere. */
async function lookup(s: SmtpSession, address: string): Promise<Recipient | null> {
  const sep = s.ctx.config.current().domains.subaddressSeparator;
  const r = await s.ctx.store.resolveRecipient(address, { subaddressSeparator: sep });
  return r !== null && (r.accountIds.length > 0 || r.external.length > 0) ? r : null;
}

/** "local@domain" split at its last "@". */
function split(address: string): { localPart: string; domain: string } {
  const at = address.lastIndexOf("@");
  return { localPart: address.slice(0, at), domain: address.slice(at + 1) };
}

/** "Display Name <mailbox>" when it is one account's with a display name, else "<mailbox>". */
async function mailboxText(s: SmtpSession, address: string, r: Recipient): Promise<string> {
  const mailbox = `<${formatAddress(split(address))}>`;
  const only = r.accountIds.length === 1 ? r.accountIds[0] : undefined;
  const account = only === undefined ? null : await s.ctx.store.getAccount(only);
  const name = account?.displayName?.replace(/[\x00-\x1f<>]/g, " ").trim();
  return name ? `${name} ${mailbox}` : mailbox;
}

/** The local addresses a bare user name fits (domains with a catch-all fit anything: skipped). */
async function candidates(s: SmtpSession, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await s.ctx.store.listDomains()) {
    if (d.catchAll !== null) continue;
    const address = normalizeAddress({ localPart: name, domain: d.name });
    if ((await lookup(s, address)) !== null) out.push(address);
  }
  return out;
}

async function answer(s: SmtpSession, cmd: ArgCommand): Promise<Reply> {
  const target = parseVrfyArgument(cmd.arg);
  if (target === null) return reply("PARAM_SYNTAX", `${cmd.verb} needs a user name or mailbox`);
  let address: string;
  if (target.kind === "name") {
    const found = await candidates(s, target.name);
    if (found.length === 0) return reply("NO_SUCH_USER");
    if (found.length > 1)
      return reply("USER_AMBIGUOUS", ["Ambiguous; possibilities are", ...found.map((a) => `<${a}>`)]);
    address = found[0] as string;
  } else {
    if (!(await isLocalDomain(s, target.domain))) return reply("CANNOT_VRFY");
    address = normalizeAddress(target);
  }
  const r = await lookup(s, address);
  if (r === null) return reply("NO_SUCH_USER");
  if (cmd.verb === "EXPN") {
    const aliases = await s.ctx.store.listAliases(split(address).domain);
    const alias = aliases.find((a) => a.address.toLowerCase() === address);
    if (alias !== undefined && alias.targets.length > 0)
      return reply(
        "USER_OK",
        alias.targets.map((t) => `<${t}>`),
      );
  }
  return reply("USER_OK", await mailboxText(s, address, r));
}

export const VRFY: CommandDescriptor = {
  verbs: ["VRFY", "EXPN"],
  requires: [],
  async handle(s, c) {
    if (!vrfyEnabled(s)) {
      s.reply(reply("CANNOT_VRFY"));
      return;
    }
    s.reply(await answer(s, c as ArgCommand));
  },
};
