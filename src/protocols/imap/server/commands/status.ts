// RFC 9051 §6.3.11 STATUS with SIZE (RFC 8438), HIGHESTMODSEQ (RFC 7162 §3.1.9), APPENDLIMIT
// (RFC 7889 §5), MAILBOXID (RFC 8474 §4.2), RECENT (RFC 3501), DELETED (RFC 9051) and
// DELETED-STORAGE (RFC 9208 §4.1.4). Served from the mailbox counters; RECENT counts the
// messages above the mailbox's stored \Recent claim; DELETED and DELETED-STORAGE list the
// mailbox's messages.
import type { Mailbox } from "../../../../store/types.ts";
import { statusResponse } from "../../wire/index.ts";
import type { StatusArgs, StatusItem } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

/** The values of STATUS items for a mailbox. */
export async function statusValues(
  s: ImapSession,
  mb: Mailbox,
  items: readonly StatusItem[],
): Promise<Array<[StatusItem, number | string]>> {
  const out: Array<[StatusItem, number | string]> = [];
  let deleted: { count: number; size: number } | null = null;
  for (const item of items) {
    switch (item) {
      case "MESSAGES":
        out.push([item, mb.totalEmails]);
        break;
      case "UIDNEXT":
        out.push([item, mb.uidNext]);
        break;
      case "UIDVALIDITY":
        out.push([item, mb.uidValidity]);
        break;
      case "UNSEEN":
        out.push([item, mb.unseenEmails]);
        break;
      case "SIZE":
        out.push([item, mb.size]);
        break;
      case "RECENT":
        // RFC 3501 §6.3.10: the messages no session has taken as \Recent yet (above the UID
        // the store keeps for the mailbox, the one SELECT claims from: the two agree)
        out.push([item, await s.ctx.store.countRecent(s.accountId, mb.id)]);
        break;
      case "HIGHESTMODSEQ":
        out.push([item, mb.highestModSeq]);
        break;
      case "APPENDLIMIT":
        out.push([item, s.appendLimit()]);
        break;
      case "MAILBOXID":
        out.push([item, mb.id]);
        break;
      case "DELETED":
      case "DELETED-STORAGE": {
        if (deleted === null) {
          deleted = { count: 0, size: 0 };
          for (const r of await s.ctx.store.listMessages(s.accountId, mb.id)) {
            if (r.keywords.includes("\\Deleted")) {
              deleted.count++;
              deleted.size += r.size;
            }
          }
        }
        // RFC 9208 §4.1.4: DELETED-STORAGE in units of 1024 octets
        out.push([item, item === "DELETED" ? deleted.count : Math.ceil(deleted.size / 1024)]);
        break;
      }
    }
  }
  return out;
}

export const status = command<StatusArgs>({
  name: "STATUS",
  states: AUTHED,
  async handle(s, args) {
    const path = normalizePath(args.mailbox);
    const mb = await s.ctx.store.getMailboxByPath(s.accountId, path);
    if (mb === null) throw no("NONEXISTENT", "No such mailbox");
    // RFC 9051 §6.3.11: STATUS of the selected mailbox reports no changes itself; the view does
    const items = await statusValues(s, mb, args.items);
    s.send(statusResponse(path, items, s.writeOptions));
  },
});
