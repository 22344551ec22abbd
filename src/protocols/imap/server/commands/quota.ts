// RFC 9208 QUOTA: GETQUOTAROOT and GETQUOTA over the account's quotas (one root "" for the
// whole account; STORAGE in units of 1024 octets, MESSAGE in messages). Without limits the
// mailbox has no quota root (RFC 9208 §4.3: an empty QUOTAROOT list).
import type { GetQuotaArgs, GetQuotaRootArgs } from "../../wire/index.ts";
import { quotaResponse, quotaRootResponse } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

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

export const getquotaroot = command<GetQuotaRootArgs>({
  name: "GETQUOTAROOT",
  states: AUTHED,
  async handle(s, args) {
    const path = normalizePath(args.mailbox);
    if ((await s.ctx.store.getMailboxByPath(s.accountId, path)) === null)
      throw no("NONEXISTENT", "No such mailbox");
    const r = await resources(s);
    s.send(quotaRootResponse(path, r.length > 0 ? [""] : [], s.writeOptions));
    if (r.length > 0) s.send(quotaResponse("", r));
  },
});

export const getquota = command<GetQuotaArgs>({
  name: "GETQUOTA",
  states: AUTHED,
  async handle(s, args) {
    const r = await resources(s);
    if (args.root !== "" || r.length === 0) throw no("NONEXISTENT", "No such quota root");
    s.send(quotaResponse("", r));
  },
});
