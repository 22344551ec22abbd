// RFC 1939 §5 NOOP, §4/§6 QUIT. QUIT in TRANSACTION enters the UPDATE state: the marked
// messages are removed atomically (store.expunge: one transaction, published as a change,
// so IMAP sessions see the expunges), the lock is released and the connection closed. If
// the removal fails, RFC 1939 §6 asks for "-ERR some deleted messages not removed".
// A session that lost its maildrop lease removes nothing.
import { isStoreError } from "../../../../core/errors.ts";
import { err, ok } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";

export const noop: CommandHandler<"NOOP"> = {
  name: "NOOP",
  states: ["transaction"],
  async handle(s) {
    s.send(ok());
  },
};

export const quit: CommandHandler<"QUIT"> = {
  name: "QUIT",
  states: ["authorization", "transaction"],
  async handle(s) {
    const drop = s.maildrop;
    if (s.state !== "transaction" || drop === null) {
      s.send(ok("bye"));
      s.close();
      return;
    }
    s.state = "update";
    // The lease was taken over (this session stalled past its lifetime): another session may
    // own the maildrop now, so this one removes nothing.
    if (s.lock !== null && !s.lock.held && drop.deletedUids().length > 0) {
      s.send(err("maildrop lock lost, no messages deleted", "SYS/TEMP"));
      s.close();
      return;
    }
    let removed = 0;
    try {
      removed = await drop.commit(s.ctx.store);
    } catch (e) {
      s.log.warn({ err: (e as Error).message }, "POP3 UPDATE failed, nothing removed");
      const code = isStoreError(e) && e.code !== "TEMP" ? "SYS/PERM" : "SYS/TEMP";
      s.send(err("some deleted messages not removed", code));
      s.close();
      return;
    }
    const left = drop.messages.length - drop.deletedUids().length;
    s.log.info({ removed, left }, "POP3 logout");
    s.send(ok(`bye, ${removed} messages deleted, ${left} left`));
    s.close();
  },
};
