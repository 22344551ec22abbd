// MAIL FROM (RFC 5321 §4.1.1.2) with the parameters of SIZE (RFC 1870 §6), BODY (RFC 6152,
// RFC 3030 §3), SMTPUTF8 (RFC 6531 §3.4), DSN RET/ENVID (RFC 3461 §4.3, §4.4), AUTH=
// (RFC 4954 §5), FUTURERELEASE (RFC 4865 §5), MT-PRIORITY (RFC 6710 §6), REQUIRETLS
// (RFC 8689 §4.1), DELIVERBY (RFC 2852 §4) and SOLICIT (RFC 3865 §3). The parser has checked
// syntax and that each parameter is advertised; this checks the values against policy.
import type { MailCommand } from "../../wire/commands.ts";
import { reply } from "../../wire/replies.ts";
import { runHooks, verdictReply } from "../hooks.ts";
import { checkSender, submitterMailbox } from "../policy.ts";
import type { CommandDescriptor } from "../session.ts";

export const MAIL: CommandDescriptor = {
  verbs: ["MAIL"],
  requires: ["hello", "no-transaction"],
  async handle(s, c) {
    const cmd = c as MailCommand;
    const p = cmd.params;
    // RFC 4954 §6 and RFC 6409 §4.3: submission needs an authenticated client.
    if (s.mode === "submission" && s.auth === null) {
      s.error(reply(s.authAllowed() ? "AUTH_REQUIRED" : "MUST_STARTTLS"));
      return;
    }
    // RFC 9422 §4.1: MAILMAX transactions per session.
    if (s.transactions >= s.maxTransactions) {
      s.close(reply("TOO_MANY_TRANSACTIONS"));
      return;
    }
    // RFC 1870 §6: a declared size over the limit is refused at once.
    if (p.size !== undefined && p.size > s.limits().maxMessageSize) {
      s.reply(reply("MESSAGE_TOO_BIG"));
      return;
    }
    // RFC 8689 §4.1: only over TLS (the parameter is advertised there only, this is a guard).
    if (p.requireTls === true && !s.tls) {
      s.reply(reply("REQUIRETLS"));
      return;
    }
    // RFC 4865 §5.1: a hold beyond the advertised interval is refused; a past HOLDUNTIL is "now".
    const now = s.ctx.clock.now();
    if (p.holdFor !== undefined && p.holdFor > s.maxHoldSeconds) {
      s.reply(reply("HOLD_TOO_LONG"));
      return;
    }
    if (p.holdUntil !== undefined && p.holdUntil.getTime() - now > s.maxHoldSeconds * 1000) {
      s.reply(reply("HOLD_TOO_LONG"));
      return;
    }
    // RFC 2852 §4.1: in return mode (R) the by-time must be positive.
    if (p.by !== undefined && p.by.mode === "R" && p.by.time <= 0) {
      s.reply(reply("BY_TIME_TOO_SHORT", "BY time must be positive in R mode"));
      return;
    }
    const sender = await checkSender(s, cmd.from);
    const sr = verdictReply(sender);
    if (sr !== null) {
      s.reply(sr);
      return;
    }
    const v = await runHooks(s.hooks, "mail", s, cmd.from, p);
    const r = verdictReply(v);
    if (r !== null) {
      if (v.action === "disconnect") s.close(r);
      else s.reply(r);
      return;
    }
    // RFC 4954 §5: on submission the AUTH= kept for the queue names the authenticated
    // submitter, whatever the client wrote (policy.ts submitterMailbox). Elsewhere AUTH is not
    // advertised, so the parameter never gets this far (555, capabilities.ts).
    const params = s.mode === "submission" ? { ...p, auth: await submitterMailbox(s, p.auth) } : p;
    s.txn = { from: cmd.from, params, recipients: [], rcptAttempts: 0, startedAt: now };
    s.pendingBdat = null;
    s.reply(reply("SENDER_OK"));
  },
};
