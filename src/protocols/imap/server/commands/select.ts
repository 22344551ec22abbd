// RFC 9051 §6.3.2 SELECT and §6.3.3 EXAMINE, with CONDSTORE (RFC 7162 §3.1.8: the CONDSTORE
// parameter, HIGHESTMODSEQ) and QRESYNC (RFC 7162 §3.2.5: VANISHED (EARLIER) and FETCH of what
// changed since the client's modseq; known UIDs and sequence match data, §3.2.5.2), MAILBOXID (RFC 8474 §4.1); rev1 sessions get RECENT and
// [UNSEEN n] (RFC 3501 §6.3.1). RFC 9051 §6.4.1 CLOSE (silent expunge) and RFC 3691 UNSELECT.
import type { SelectArgs } from "../../wire/index.ts";
import {
  code,
  countResponse,
  fetchFlags,
  fetchModseq,
  fetchNumber,
  fetchResponse,
  listResponse,
  mailboxIdCode,
  numberCode,
  untaggedStatus,
  vanishedResponse,
} from "../../wire/index.ts";
import { command, AUTHED, SELECTED } from "../command.ts";
import { bad, no } from "../errors.ts";
import { DELIMITER, normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";
import { seqMatchPairs, vanishedSince } from "../vanished.ts";

/** Leaves the selected mailbox without expunging (RFC 7162 §3.2.11 [CLOSED] when asked). */
export function deselect(s: ImapSession, announce: boolean): void {
  if (s.selected === null) return;
  s.selected = null;
  s.state = "auth";
  // RFC 9051 §7.1 / RFC 7162 §3.2.11: the end of the old mailbox's responses
  if (announce && (s.qresync || s.rev2))
    s.send(untaggedStatus("OK", "Previous mailbox closed", code("CLOSED")));
}

async function open(
  s: ImapSession,
  args: SelectArgs,
  readOnly: boolean,
): Promise<{ text: string; code: { code: string }; skipUpdates: boolean }> {
  const previous = s.selected;
  deselect(s, true);
  if (args.qresync !== null && !s.qresync) throw bad("QRESYNC is not enabled", "CLIENTBUG");
  // RFC 7162 §3.2.5.2: known-sequence-set and known-uid-set correspond one to one (Dovecot
  // answers BAD otherwise, before the mailbox is opened)
  const match = args.qresync?.seqMatch ?? null;
  const pairs = match === null ? null : seqMatchPairs(match.seqs, match.uids);
  if (match !== null && pairs === null)
    throw bad("Invalid QRESYNC sets: not as many message numbers as UIDs");
  const path = normalizePath(args.mailbox);
  const mb = await s.ctx.store.getMailboxByPath(s.accountId, path);
  if (mb === null) throw no("NONEXISTENT", "No such mailbox");
  if (args.condstore) s.condstoreActive = true;
  const view = await s.openView(mb, readOnly, previous);
  const m = view.mailbox;
  const [flagsLine, permanentLine] = view.flagsAnnouncement();
  s.send(flagsLine ?? "");
  s.send(countResponse(view.exists, "EXISTS"));
  if (!s.rev2) {
    s.send(countResponse(view.recent.size, "RECENT"));
    const firstUnseen = view.uids.findIndex((u) => !(view.rows.get(u)?.keywords.includes("\\Seen") ?? false));
    if (firstUnseen >= 0) s.send(untaggedStatus("OK", "First unseen", numberCode("UNSEEN", firstUnseen + 1)));
  }
  s.send(permanentLine ?? "");
  s.send(untaggedStatus("OK", "UIDs valid", numberCode("UIDVALIDITY", m.uidValidity)));
  s.send(untaggedStatus("OK", "Predicted next UID", numberCode("UIDNEXT", m.uidNext)));
  s.send(untaggedStatus("OK", "Highest", numberCode("HIGHESTMODSEQ", view.lastModSeq)));
  s.send(untaggedStatus("OK", "Ok", mailboxIdCode(m.id)));
  // RFC 9051 §6.3.2: a LIST response with the mailbox name
  if (s.rev2) s.send(listResponse({ attributes: [], delimiter: DELIMITER, name: path }, s.writeOptions));
  const q = args.qresync;
  if (q !== null && q.uidValidity === m.uidValidity) {
    // RFC 7162 §3.2.5.1: what vanished since the client's modseq (within its known UIDs); when
    // the store no longer knows, the known UIDs that are gone, cut by the sequence match data
    // (§3.2.5.2)
    const gone = await vanishedSince(s.ctx.store, s.accountId, m, q.modseq, q.knownUids, view.uids, pairs);
    if (gone.length > 0) s.send(vanishedResponse(gone, true));
    for (const r of await s.ctx.store.changedMessages(s.accountId, m.id, q.modseq)) {
      const seq = view.seqOf(r.uid);
      if (seq === 0) continue;
      s.send(
        fetchResponse(
          seq,
          [
            fetchNumber("UID", r.uid),
            fetchFlags(view.flagsOf(r.uid)),
            fetchModseq(view.rows.get(r.uid)?.modseq ?? r.modseq),
          ],
          s.writeOptions,
        ),
      );
    }
  }
  s.selected = view;
  s.state = "selected";
  return {
    text: `${readOnly ? "EXAMINE" : "SELECT"} completed`,
    code: code(readOnly ? "READ-ONLY" : "READ-WRITE"),
    skipUpdates: true,
  };
}

export const select = command<SelectArgs>({
  name: "SELECT",
  states: AUTHED,
  handle: (s, args) => open(s, args, false),
});

export const examine = command<SelectArgs>({
  name: "EXAMINE",
  states: AUTHED,
  handle: (s, args) => open(s, args, true),
});

export const close = command({
  name: "CLOSE",
  states: SELECTED,
  async handle(s) {
    const view = s.selected;
    if (view !== null && !view.readOnly) {
      // RFC 9051 §6.4.1: expunge \Deleted messages, without EXPUNGE responses
      const uids = view.uids.filter((u) => view.rows.get(u)?.keywords.includes("\\Deleted") === true);
      if (uids.length > 0) await s.ctx.store.expunge(s.accountId, view.mailbox.id, uids);
    }
    deselect(s, false);
    return { skipUpdates: true };
  },
});

export const unselect = command({
  name: "UNSELECT",
  states: SELECTED,
  async handle(s) {
    deselect(s, false);
    return { skipUpdates: true };
  },
});
