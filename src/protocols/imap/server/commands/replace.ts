// RFC 8508 REPLACE and UID REPLACE: a new version of a message of the selected mailbox goes
// into a mailbox (the same or another) and the old one is expunged. The new message is
// stored first, through the ingest path as APPEND's (§3.3: when it cannot be, nothing is
// removed and the answer is APPEND's NO, e.g. [TRYCREATE] or [OVERQUOTA]); then the old one
// is expunged. The responses: an untagged OK [APPENDUID] (UIDPLUS, §3.3), the EXPUNGE (or
// VANISHED) of the old message, the EXISTS of the new one when it is in this mailbox, and
// the tagged OK.
import type { ReplaceArgs } from "../../wire/index.ts";
import { appendUidCode, untaggedStatus } from "../../wire/index.ts";
import { command, SELECTED } from "../command.ts";
import type { Completion } from "../command.ts";
import { bad, no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";
import { appendMessage } from "./append.ts";

async function run(s: ImapSession, args: ReplaceArgs): Promise<Completion> {
  const view = s.selected;
  if (view === null) throw bad("No mailbox selected");
  // §3.3: the message to replace must exist (a sequence number past EXISTS is BAD in resolve)
  const [old] = view
    .resolve(args.target, args.uid)
    .filter((u) => view.rows.has(u) && !view.pendingExpunge.has(u));
  if (old === undefined) throw no("NONEXISTENT", "No such message");
  // §3.3: replacing means expunging in the selected mailbox, which EXAMINE does not allow
  if (view.readOnly) throw no("READ-ONLY", "The mailbox is read-only (EXAMINE)");
  const target = await s.ctx.store.getMailboxByPath(s.accountId, normalizePath(args.mailbox));
  if (target === null) throw no("TRYCREATE", "No such mailbox");
  if (args.message.data.length === 0) throw no("CANNOT", "Empty message");
  const added = await appendMessage(s, target.id, args.message);
  if (added !== null)
    s.send(untaggedStatus("OK", "Replacement Message ID", appendUidCode(added.uidValidity, [added.uid])));
  const res = await s.ctx.store.expunge(s.accountId, view.mailbox.id, [old]);
  view.removeNow(res.uids);
  view.dirty = true;
  return { text: "REPLACE completed" };
}

export const replace = command<ReplaceArgs>({ name: "REPLACE", states: SELECTED, handle: run });
export const uidReplace = command<ReplaceArgs>({ name: "UID REPLACE", states: SELECTED, handle: run });
