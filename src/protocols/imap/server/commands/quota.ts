// RFC 9208 QUOTA: GETQUOTA (§4.1.1), GETQUOTAROOT (§4.1.2) and SETQUOTA (§4.1.3) over the
// account's quotas, the ones the CLI's `account quota` sets. One quota root, "", covers every
// mailbox of the account (there is one personal namespace); its resources are STORAGE, in
// units of 1024 octets (§5.1), and MESSAGE (§5.2). Without limits no mailbox has a quota root
// (§4.1.2 allows an empty QUOTAROOT list; the grammar of a QUOTA response needs a resource).
// SETQUOTA follows Dovecot where the RFC leaves room: only an administrator may change quotas
// (an account with the admin role, typically acting as the user through a SASL authzid, see
// auth.allowAdminImpersonation); only such sessions are told QUOTASET (capability.ts, §1).
import type { GetQuotaArgs, GetQuotaRootArgs, SetQuotaArgs } from "../../wire/index.ts";
import { quotaResponse, quotaRootResponse } from "../../wire/index.ts";
import type { AccountPatch } from "../../../../store/types.ts";
import { command, AUTHED } from "../command.ts";
import { bad, no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

/** The one quota root of an account. */
const ROOT = "";

async function resources(s: ImapSession): Promise<Array<{ name: string; usage: number; limit: number }>> {
  const a = await s.ctx.store.getAccount(s.accountId);
  if (a === null) return [];
  const out: Array<{ name: string; usage: number; limit: number }> = [];
  if (a.quotaBytes !== null)
    out.push({
      name: "STORAGE",
      usage: Math.ceil(a.usedBytes / 1024),
      limit: Math.floor(a.quotaBytes / 1024),
    });
  if (a.quotaMessages !== null) out.push({ name: "MESSAGE", usage: a.usedMessages, limit: a.quotaMessages });
  return out;
}

/** Sends `* QUOTA "" (...)` when the account has limits; says whether it did. */
async function sendQuota(s: ImapSession): Promise<boolean> {
  const r = await resources(s);
  if (r.length > 0) s.send(quotaResponse(ROOT, r));
  return r.length > 0;
}

export const getquotaroot = command<GetQuotaRootArgs>({
  name: "GETQUOTAROOT",
  states: AUTHED,
  async handle(s, args) {
    // RFC 9208 §4.1.2: the mailbox need not exist ("which quota root would apply to a mailbox
    // when it gets created"); every name of the namespace falls under the account's root.
    const path = normalizePath(args.mailbox);
    const r = await resources(s);
    s.send(quotaRootResponse(path, r.length > 0 ? [ROOT] : [], s.writeOptions));
    if (r.length > 0) s.send(quotaResponse(ROOT, r));
  },
});

export const getquota = command<GetQuotaArgs>({
  name: "GETQUOTA",
  states: AUTHED,
  async handle(s, args) {
    // RFC 9208 §4.1.1: NO for no such quota root
    if (args.root !== ROOT || !(await sendQuota(s))) throw no("NONEXISTENT", "No such quota root");
  },
});

/** Whether the identity that proved its credentials is (still) an enabled administrator. */
async function isAdmin(s: ImapSession): Promise<boolean> {
  const id = s.identity;
  if (id?.admin !== true) return false;
  const actor = await s.ctx.store.getAccount(id.actor?.accountId ?? id.accountId);
  return actor !== null && !actor.disabled && actor.roles.includes("admin");
}

export const setquota = command<SetQuotaArgs>({
  name: "SETQUOTA",
  states: AUTHED,
  async handle(s, args) {
    // RFC 9208 §4.1.3 leaves who may set quotas to the server; as in Dovecot, a user may not
    // change their own (RFC 5530 §3 NOPERM).
    if (!(await isAdmin(s))) throw no("NOPERM", "Quotas can be changed only by an administrator");
    if (args.root !== ROOT) throw no("NONEXISTENT", "No such quota root");
    // RFC 9208 §4.1.3: the listed limits replace the root's; a resource left out (every one, for
    // an empty list) has no limit any more.
    const patch: AccountPatch = { quotaBytes: null, quotaMessages: null };
    const seen = new Set<string>();
    for (const { resource, limit } of args.limits) {
      if (seen.has(resource)) throw bad(`Resource ${resource} is given twice`);
      seen.add(resource);
      if (resource === "STORAGE") {
        // RFC 9208 §5.1: in units of 1024 octets
        const bytes = limit * 1024;
        if (!Number.isSafeInteger(bytes)) throw no("LIMIT", "The STORAGE limit is too large");
        patch.quotaBytes = bytes;
      } else if (resource === "MESSAGE") {
        patch.quotaMessages = limit;
      } else {
        throw no("CANNOT", `Resource ${resource} cannot be limited here: only STORAGE and MESSAGE`);
      }
    }
    await s.ctx.store.updateAccount(s.accountId, patch);
    s.log.info({ event: "setquota", actor: s.identity?.actor?.username, ...patch }, "quota changed");
    // RFC 9208 §4.1.3: the new limits in an untagged QUOTA response
    await sendQuota(s);
  },
});
