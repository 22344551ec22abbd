// RFC 6856 §2 UTF8: enters UTF-8 mode, AUTHORIZATION state only. In UTF-8 mode user names,
// passwords and messages are UTF-8; without it we still accept UTF-8 user names and
// passwords ("UTF8 USER" capability), and messages with UTF-8 header fields are sent
// downgraded (RFC 6857, see retr-top.ts).
import { ok } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";

export const utf8: CommandHandler<"UTF8"> = {
  name: "UTF8",
  states: ["authorization"],
  async handle(s) {
    s.utf8 = true;
    s.send(ok("UTF8 enabled"));
  },
};
