// RFC 9051 §6.4.7 COPY, §6.4.8 MOVE (RFC 6851) and their UID forms, with UIDPLUS COPYUID
// (RFC 4315 §3). MOVE sends COPYUID in an untagged OK before the EXPUNGEs (RFC 6851 §4.3),
// and is atomic in the store. A missing target is NO [TRYCREATE] (RFC 9051 §6.4.7). MOVE into
// the selected mailbox itself gives the messages new UIDs (as Dovecot; RFC 6851 does not
// forbid it): copies first, then the old UIDs expunged.
import type { CopyMoveArgs } from "../../wire/index.ts";
import { copyUidCode, untaggedStatus } from "../../wire/index.ts";
import { command, SELECTED } from "../command.ts";
import type { Completion } from "../command.ts";
import { bad, no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

async function run(s: ImapSession, args: CopyMoveArgs): Promise<Completion | void> {
  const view = s.selected;
  if (view === null) throw bad("No mailbox selected");
  const target = await s.ctx.store.getMailboxByPath(s.accountId, normalizePath(args.mailbox));
  if (target === null) throw no("TRYCREATE", "No such mailbox");
  const uids = view
    .resolve(args.set, args.uid)
    .filter((u) => view.rows.has(u) && !view.pendingExpunge.has(u));
  if (uids.length === 0) {
    // RFC 9051 §6.4.8: UID forms with no existing message succeed doing nothing
    return { text: `${args.type.toUpperCase()} completed, no messages` };
  }
  if (args.type === "move" && view.readOnly) throw no("READ-ONLY", "The mailbox is read-only (EXAMINE)");
  const ids = uids.map((u) => view.rows.get(u)?.emailId ?? "");
  const uidOf = new Map(uids.map((u, i) => [ids[i] ?? "", u]));
  if (args.type === "copy") {
    const res = await s.ctx.store.copyEmails(s.accountId, ids, target.id);
    if (target.id === view.mailbox.id) view.dirty = true;
    const src = res.copied.map((c) => uidOf.get(c.fromEmailId) ?? 0);
    return {
      text: "COPY completed",
      code: copyUidCode(
        res.uidValidity,
        src,
        res.copied.map((c) => c.uid),
      ),
    };
  }
  const res = await s.ctx.store.moveEmails(s.accountId, view.mailbox.id, ids, target.id);
  const src = res.copy.copied.map((c) => uidOf.get(c.fromEmailId) ?? 0);
  // RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges, then the tagged OK
  s.send(
    untaggedStatus(
      "OK",
      "Moved",
      copyUidCode(
        res.copy.uidValidity,
        src,
        res.copy.copied.map((c) => c.uid),
      ),
    ),
  );
  view.removeNow(res.expunge.uids);
  // into another mailbox the view holds the change now; into this one the copies are read
  if (target.id === view.mailbox.id) view.dirty = true;
  else view.absorb(res.expunge.modseq);
  return { text: "MOVE completed" };
}

export const copy = command<CopyMoveArgs>({ name: "COPY", states: SELECTED, handle: run });
export const uidCopy = command<CopyMoveArgs>({ name: "UID COPY", states: SELECTED, handle: run });
export const move = command<CopyMoveArgs>({ name: "MOVE", states: SELECTED, handle: run });
export const uidMove = command<CopyMoveArgs>({ name: "UID MOVE", states: SELECTED, handle: run });
