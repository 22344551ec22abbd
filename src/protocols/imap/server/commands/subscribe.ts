// RFC 9051 §6.3.7 SUBSCRIBE and §6.3.8 UNSUBSCRIBE: the subscription is kept on the mailbox
// (subscribing to a name that does not exist is refused with [NONEXISTENT]).
import type { SubscribeArgs } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

export const subscribe = command<SubscribeArgs>({
  name: "SUBSCRIBE",
  states: AUTHED,
  async handle(s, args) {
    await setSubscribed(s, args.mailbox, true);
  },
});

export const unsubscribe = command<SubscribeArgs>({
  name: "UNSUBSCRIBE",
  states: AUTHED,
  async handle(s, args) {
    await setSubscribed(s, args.mailbox, false);
  },
});

async function setSubscribed(s: ImapSession, name: string, on: boolean): Promise<void> {
  const mb = await s.ctx.store.getMailboxByPath(s.accountId, normalizePath(name));
  if (mb === null) throw no("NONEXISTENT", "No such mailbox");
  if (mb.subscribed !== on) await s.ctx.store.updateMailbox(s.accountId, mb.id, { subscribed: on });
}
