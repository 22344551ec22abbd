// RCPT TO (RFC 5321 §4.1.1.3) with the DSN parameters NOTIFY and ORCPT (RFC 3461 §4.1, §4.2),
// kept with the recipient for the queue. Recipients are validated here (RFC 5321 §3.3: "550
// no such user" at RCPT, not a bounce later), with the recipient limit of RFC 5321
// §4.5.3.1.8 (452 4.5.3, the client retries the rest) and LIMITS RCPTMAX (RFC 9422).
import type { RcptCommand } from "../../wire/commands.ts";
import { reply } from "../../wire/replies.ts";
import { runHooks, verdictReply } from "../hooks.ts";
import { checkAccounts, resolveRecipient } from "../policy.ts";
import type { CommandDescriptor } from "../session.ts";

export const RCPT: CommandDescriptor = {
  verbs: ["RCPT"],
  requires: ["transaction"],
  async handle(s, c) {
    const cmd = c as RcptCommand;
    const txn = s.txn;
    if (txn === null) return;
    if (txn.bdat !== undefined) {
      s.error(reply("BAD_SEQUENCE", "RCPT not allowed after BDAT"));
      return;
    }
    txn.rcptAttempts++;
    if (txn.recipients.length >= s.limits().maxRecipients) {
      s.reply(reply("TOO_MANY_RECIPIENTS"));
      return;
    }
    const res = await resolveRecipient(s, cmd.to);
    if (!res.ok) {
      s.reply(verdictReply(res.verdict) ?? reply("NO_SUCH_USER"));
      return;
    }
    const rcpt = { ...res.rcpt, params: cmd.params };
    if (txn.recipients.some((r) => r.normalized === rcpt.normalized)) {
      // The same recipient twice gets one copy (RFC 5321 §3.3 leaves duplicates to the server).
      s.reply(reply("RECIPIENT_OK", "Recipient OK (duplicate)"));
      return;
    }
    const acc = await checkAccounts(s, rcpt.accountIds, txn.params.size ?? 0);
    const ar = verdictReply(acc);
    if (ar !== null) {
      s.reply(ar);
      return;
    }
    const v = await runHooks(s.hooks, "rcpt", s, {
      address: rcpt.address,
      normalized: rcpt.normalized,
      params: rcpt.params,
      local: rcpt.local,
    });
    const r = verdictReply(v);
    if (r !== null) {
      if (v.action === "disconnect") s.close(r);
      else s.reply(r);
      return;
    }
    txn.recipients.push(rcpt);
    s.reply(reply("RECIPIENT_OK"));
  },
};
