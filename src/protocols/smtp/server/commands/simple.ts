// RSET (RFC 5321 §4.1.1.5), NOOP (§4.1.1.9), QUIT (§4.1.1.10) and HELP (§4.1.1.8); VRFY and
// EXPN are in vrfy.ts.
import { reply } from "../../wire/replies.ts";
import type { CommandDescriptor } from "../session.ts";

export const RSET: CommandDescriptor = {
  verbs: ["RSET"],
  requires: [],
  handle(s) {
    s.resetTransaction();
    s.pendingBdat = null;
    s.reply(reply("RESET"));
  },
};

export const NOOP: CommandDescriptor = {
  verbs: ["NOOP"],
  requires: [],
  handle(s) {
    s.reply(reply("NOOP"));
  },
};

export const QUIT: CommandDescriptor = {
  verbs: ["QUIT"],
  requires: [],
  handle(s) {
    s.close(reply("CLOSING", `${s.hostname} closing connection`));
  },
};

export const HELP: CommandDescriptor = {
  verbs: ["HELP"],
  requires: [],
  handle(s) {
    const hello = s.mode === "lmtp" ? "LHLO" : "EHLO HELO";
    s.reply(
      reply("HELP", [
        `Commands: ${hello} MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN${s.mode === "submission" ? " AUTH" : ""}${s.info.tlsMode === "starttls" && !s.tls ? " STARTTLS" : ""}`,
        "See RFC 5321",
      ]),
    );
  },
};

export const SIMPLE: readonly CommandDescriptor[] = [RSET, NOOP, QUIT, HELP];
