// EHLO and HELO (RFC 5321 §4.1.1.1), LHLO (RFC 2033 §4.1). The reply lists the extensions
// of capabilities.ts; EHLO also resets the transaction (RFC 5321 §4.1.4).
import type { HelloCommand } from "../../wire/commands.ts";
import { formatEhlo } from "../../wire/ehlo.ts";
import { reply } from "../../wire/replies.ts";
import { capabilities } from "../capabilities.ts";
import { runHooks, verdictReply } from "../hooks.ts";
import type { CommandDescriptor } from "../session.ts";

export const HELLO: CommandDescriptor = {
  verbs: ["EHLO", "HELO", "LHLO"],
  requires: [],
  async handle(s, c) {
    const cmd = c as HelloCommand;
    const v = await runHooks(s.hooks, "ehlo", s, cmd.domain, cmd.valid);
    const r = verdictReply(v);
    if (r !== null) {
      if (v.action === "disconnect") s.close(r);
      else s.reply(r);
      return;
    }
    s.resetTransaction();
    s.helo = cmd.domain;
    s.esmtp = cmd.verb !== "HELO";
    const greeting =
      s.info.socketPath === undefined
        ? `Hello ${cmd.domain} [${s.info.remoteAddress}]`
        : `Hello ${cmd.domain}`;
    if (!s.esmtp) {
      s.reply(reply("HELO", `${s.hostname} ${greeting}`));
      return;
    }
    s.write(formatEhlo(s.hostname, greeting, capabilities(s)));
  },
};
