// RFC 2595 §4 STLS: AUTHORIZATION state only, on listeners that offer it, once.
import { err } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";

export const stls: CommandHandler<"STLS"> = {
  name: "STLS",
  states: ["authorization"],
  async handle(s) {
    if (s.tls) {
      s.send(err("TLS is already active"));
      s.countError();
      return;
    }
    if (!s.stlsAvailable()) {
      s.send(err("STLS is not offered on this listener", "SYS/PERM"));
      s.countError();
      return;
    }
    await s.startTls();
  },
};
