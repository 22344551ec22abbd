// RFC 1939 §5 RETR and §7 TOP: the message (or its header, the blank line and n body lines),
// byte-stuffed, from the blob as stored (no string conversion; large messages are written
// in slices as the socket drains).
// RFC 6856 §2: a message whose header holds UTF-8 goes as it is only to a client that issued
// UTF8; others get it downgraded (RFC 6857, ../../wire/downgrade.ts), and the RETR status
// line gives the octets actually sent.
import { err, ok } from "../../wire/reply.ts";
import { downgradeMessage, needsDowngrade } from "../../wire/downgrade.ts";
import { stuffMessage, stuffTop } from "../../wire/message.ts";
import type { CommandHandler } from "../command.ts";
import type { MaildropMessage } from "../maildrop.ts";
import { ReadAhead } from "../read-ahead.ts";
import type { Pop3Session } from "../session.ts";
import { pick } from "./stat-list.ts";

function readAhead(s: Pop3Session): ReadAhead {
  const drop = s.maildrop;
  if (drop === null) throw new Error("no maildrop in TRANSACTION state");
  s.readAhead ??= new ReadAhead(s.ctx.store, drop.accountId, drop.messages);
  return s.readAhead;
}

async function raw(s: Pop3Session, m: MaildropMessage): Promise<Buffer | null> {
  const buf = await readAhead(s).get(m);
  if (buf === null) {
    s.send(err(`message ${m.number} was removed by another session`));
    return null;
  }
  return s.utf8 || !needsDowngrade(buf) ? buf : downgradeMessage(buf);
}

export const retr: CommandHandler<"RETR"> = {
  name: "RETR",
  states: ["transaction"],
  async handle(s, cmd) {
    const m = pick(s, cmd.msg);
    if (m === undefined) return;
    const buf = await raw(s, m);
    if (buf === null) return;
    await s.sendMessage(ok(`${buf.length} octets`), stuffMessage(buf));
    // The next messages are read once this one is on its way (the store's read is
    // synchronous for inline blobs: done before the write, it would delay every answer).
    readAhead(s).after(m);
  },
};

export const top: CommandHandler<"TOP"> = {
  name: "TOP",
  states: ["transaction"],
  async handle(s, cmd) {
    const m = pick(s, cmd.msg);
    if (m === undefined) return;
    const buf = await raw(s, m);
    if (buf === null) return;
    await s.sendMessage(ok("top of message follows"), stuffTop(buf, cmd.lines));
  },
};
