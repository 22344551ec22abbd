// STARTTLS (RFC 3207 §4): offered on listeners in "starttls" mode before TLS only.
import { reply } from "../../wire/replies.ts";
import type { CommandDescriptor } from "../session.ts";

export const STARTTLS: CommandDescriptor = {
  verbs: ["STARTTLS"],
  requires: ["ehlo", "no-transaction"],
  async handle(s) {
    if (s.tls) {
      s.error(reply("TLS_ALREADY_ACTIVE"));
      return;
    }
    if (s.info.tlsMode !== "starttls" || s.mode === "lmtp") {
      s.error(reply("NOT_IMPLEMENTED", "STARTTLS not offered here"));
      return;
    }
    await s.startTls();
  },
};
