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
import { ReadAhead, type ReadyMessage } from "../read-ahead.ts";
import type { Pop3Session } from "../session.ts";
import { pick } from "./stat-list.ts";

function readAhead(s: Pop3Session): ReadAhead {
  const drop = s.maildrop;
  if (drop === null) throw new Error("no maildrop in TRANSACTION state");
  // UTF8 is only valid before login: the mode is fixed for the messages of this session.
  const utf8 = s.utf8;
  s.readAhead ??= new ReadAhead(s.ctx.store, drop.accountId, drop.messages, (raw, ahead) => {
    const msg = utf8 || !needsDowngrade(raw) ? raw : downgradeMessage(raw);
    return { msg, parts: ahead ? stuffMessage(msg) : null };
  });
  return s.readAhead;
}

async function load(s: Pop3Session, m: MaildropMessage): Promise<ReadyMessage | null> {
  const ready = await readAhead(s).get(m);
  if (ready === null) s.send(err(`message ${m.number} was removed by another session`));
  return ready;
}

export const retr: CommandHandler<"RETR"> = {
  name: "RETR",
  states: ["transaction"],
  async handle(s, cmd) {
    const m = pick(s, cmd.msg);
    if (m === undefined) return;
    const ready = await load(s, m);
    if (ready === null) return;
    await s.sendMessage(ok(`${ready.msg.length} octets`), ready.parts ?? stuffMessage(ready.msg));
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
    const ready = await load(s, m);
    if (ready === null) return;
    await s.sendMessage(ok("top of message follows"), stuffTop(ready.msg, cmd.lines));
  },
};
