// RFC 9051 §6.3.7 SUBSCRIBE and §6.3.8 UNSUBSCRIBE: the subscription is kept on the mailbox
// (subscribing to a name that does not exist is refused with [NONEXISTENT], which §6.3.7
// allows); a deleted mailbox's subscription is kept by the store until UNSUBSCRIBE or until a
// mailbox of that name is created again (SHOULD NOT remove it).
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
  const path = normalizePath(name);
  const mb = await s.ctx.store.getMailboxByPath(s.accountId, path);
  if (mb === null) {
    // the subscription kept when its mailbox was deleted can be dropped
    if (!on && (await s.ctx.store.dropOrphanSubscription(s.accountId, path))) return;
    throw no("NONEXISTENT", "No such mailbox");
  }
  if (mb.subscribed !== on) await s.ctx.store.updateMailbox(s.accountId, mb.id, { subscribed: on });
}
