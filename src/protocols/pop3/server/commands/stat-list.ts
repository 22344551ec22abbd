// RFC 1939 §5 STAT and LIST, §7 UIDL. Messages marked deleted are not counted or listed, and
// asking for one of them is an error ("-ERR message n already deleted").
import { err, multiline, ok } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";
import type { Maildrop, MaildropMessage } from "../maildrop.ts";
import type { Pop3Session } from "../session.ts";

function maildrop(s: Pop3Session): Maildrop {
  if (s.maildrop === null) throw new Error("no maildrop in TRANSACTION state");
  return s.maildrop;
}

/** The message numbered `n`, or the -ERR already sent (undefined). */
export function pick(s: Pop3Session, n: number): MaildropMessage | undefined {
  const d = maildrop(s);
  const m = d.get(n);
  if (m === undefined) {
    s.send(err(`no such message, only ${d.messages.length} in the maildrop`));
    return undefined;
  }
  if (m === "deleted") {
    s.send(err(`message ${n} already deleted`));
    return undefined;
  }
  return m;
}

export const stat: CommandHandler<"STAT"> = {
  name: "STAT",
  states: ["transaction"],
  async handle(s) {
    // RFC 1939 §5: "+OK nn mm", exactly.
    const { count, octets } = maildrop(s).stat();
    s.send(ok(`${count} ${octets}`));
  },
};

export const list: CommandHandler<"LIST"> = {
  name: "LIST",
  states: ["transaction"],
  async handle(s, cmd) {
    if (cmd.msg !== undefined) {
      const m = pick(s, cmd.msg);
      if (m !== undefined) s.send(ok(`${m.number} ${m.size}`));
      return;
    }
    const d = maildrop(s);
    const { count, octets } = d.stat();
    s.send(
      multiline(
        `${count} messages (${octets} octets)`,
        d.live().map((m) => `${m.number} ${m.size}`),
      ),
    );
  },
};

export const uidl: CommandHandler<"UIDL"> = {
  name: "UIDL",
  states: ["transaction"],
  async handle(s, cmd) {
    const d = maildrop(s);
    if (cmd.msg !== undefined) {
      const m = pick(s, cmd.msg);
      if (m !== undefined) s.send(ok(`${m.number} ${d.uidl(m)}`));
      return;
    }
    s.send(
      multiline(
        "unique-id listing follows",
        d.live().map((m) => `${m.number} ${d.uidl(m)}`),
      ),
    );
  },
};
