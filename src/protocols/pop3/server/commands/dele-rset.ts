// RFC 1939 §5 DELE (mark a message; it goes at QUIT only) and RSET (unmark all).
import { err, ok } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";
import type { Maildrop } from "../maildrop.ts";

function drop(m: Maildrop | null): Maildrop {
  if (m === null) throw new Error("no maildrop in TRANSACTION state");
  return m;
}

export const dele: CommandHandler<"DELE"> = {
  name: "DELE",
  states: ["transaction"],
  async handle(s, cmd) {
    const m = drop(s.maildrop).get(cmd.msg);
    if (m === undefined) {
      s.send(err(`no such message, only ${drop(s.maildrop).messages.length} in the maildrop`));
      return;
    }
    if (m === "deleted") {
      s.send(err(`message ${cmd.msg} already deleted`));
      return;
    }
    m.deleted = true;
    s.send(ok(`message ${cmd.msg} deleted`));
  },
};

export const rset: CommandHandler<"RSET"> = {
  name: "RSET",
  states: ["transaction"],
  async handle(s) {
    const d = drop(s.maildrop);
    d.reset();
    const { count, octets } = d.stat();
    s.send(ok(`maildrop has ${count} messages (${octets} octets)`));
  },
};
