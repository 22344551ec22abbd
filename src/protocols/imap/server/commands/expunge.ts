// RFC 9051 §6.4.3 EXPUNGE and UID EXPUNGE (RFC 4315 §2.1, RFC 9051 §6.4.9): removes the
// \Deleted messages (of the set) and reports each with EXPUNGE, or VANISHED with QRESYNC.
import type { UidExpungeArgs } from "../../wire/index.ts";
import { command, SELECTED } from "../command.ts";
import { bad, no } from "../errors.ts";
import type { ImapSession } from "../session.ts";

async function run(s: ImapSession, only: number[] | null): Promise<void> {
  const view = s.selected;
  if (view === null) throw bad("No mailbox selected");
  if (view.readOnly) throw no("READ-ONLY", "The mailbox is read-only (EXAMINE)");
  // take in flag changes made elsewhere first: \Deleted set by another session counts
  if (view.dirty) await view.poll();
  const set = only === null ? null : new Set(only);
  const uids = view.uids.filter(
    (u) => (set === null || set.has(u)) && view.rows.get(u)?.keywords.includes("\\Deleted") === true,
  );
  if (uids.length === 0) return;
  const res = await s.ctx.store.expunge(s.accountId, view.mailbox.id, uids);
  view.removeNow(res.uids);
  // the view holds this change now: its event needs no poll (another change's still does)
  if (res.uids.length > 0) view.absorb(res.modseq);
}

export const expunge = command({
  name: "EXPUNGE",
  states: SELECTED,
  handle: (s) => run(s, null),
});

export const uidExpunge = command<UidExpungeArgs>({
  name: "UID EXPUNGE",
  states: SELECTED,
  handle: (s, args) => {
    const view = s.selected;
    if (view === null) throw bad("No mailbox selected");
    return run(s, view.resolve(args.uids, true));
  },
});
