// RFC 9051 §6.4.6 STORE / §6.4.9 UID STORE: FLAGS, +FLAGS, -FLAGS and .SILENT, with CONDSTORE
// UNCHANGEDSINCE and [MODIFIED] (RFC 7162 §3.1.3). \Recent cannot be stored (RFC 3501
// §2.3.2). The new flags, as the store wrote them, are reported (with MODSEQ when
// CONDSTORE is on, also after .SILENT: RFC 7162 §3.1.3). No EXPUNGE during STORE (§7.5.1).
import type { StoreArgs } from "../../wire/index.ts";
import { fetchFlags, fetchModseq, fetchNumber, fetchResponse, modifiedCode } from "../../wire/index.ts";
import type { FetchDatum } from "../../wire/index.ts";
import { command, SELECTED } from "../command.ts";
import type { Completion } from "../command.ts";
import { bad, no } from "../errors.ts";
import type { ImapSession } from "../session.ts";

async function runStore(s: ImapSession, args: StoreArgs): Promise<Completion | void> {
  const view = s.selected;
  if (view === null) throw bad("No mailbox selected");
  if (view.readOnly) throw no("READ-ONLY", "The mailbox is read-only (EXAMINE)");
  const uids = view.resolve(args.set, args.uid);
  if (args.unchangedSince !== null) await s.enableCondstore();
  const flags = args.flags.filter((f) => f.toLowerCase() !== "\\recent");
  const change =
    args.mode === "set" ? { set: flags } : args.mode === "add" ? { add: flags } : { remove: flags };
  const byEmail = new Map<string, number>();
  for (const u of uids) {
    const r = view.rows.get(u);
    if (r !== undefined && !view.pendingExpunge.has(u)) byEmail.set(r.emailId, u);
  }
  if (byEmail.size === 0) return;
  // answered once committed, before its WAL sync unless configured otherwise: Dovecot does not
  // fsync flag changes either (see store/modseq-gap.ts for what a power failure then costs)
  const opts = {
    ...(args.unchangedSince !== null ? { unchangedSince: args.unchangedSince } : {}),
    ...(s.ctx.config.current().store.syncFlagChanges ? {} : { waitDurable: false }),
  };
  const res = await s.ctx.store.setKeywords(s.accountId, [...byEmail.keys()], change, opts);
  const conflicts = new Set(res.conflicts);
  const updated = new Set(res.updated);
  if (updated.size > 0) {
    // what the store wrote (its keyword normalisation, the change's modseq); another
    // session's change made meanwhile comes with its own event
    for (const [emailId, u] of byEmail) {
      const old = view.rows.get(u);
      const keywords = res.keywords.get(emailId);
      if (old === undefined || keywords === undefined) continue;
      view.rows.set(u, { ...old, keywords, modseq: res.modseq });
    }
    // the rows of this change are taken in: its event needs no poll
    view.absorb(res.modseq);
  }
  const announce = view.announceKeywords(byEmail.values());
  if (announce.length > 0) s.send(announce);
  const condstore = s.condstore;
  for (const [emailId, u] of byEmail) {
    if (conflicts.has(emailId)) continue;
    const row = view.rows.get(u);
    const seq = view.seqOf(u);
    if (row === undefined || seq === 0) continue;
    view.pendingFlags.delete(u);
    const items: FetchDatum[] = [];
    // RFC 7162 §3.1: with CONDSTORE on, untagged FETCH of a STORE carries UID and MODSEQ
    if (args.uid || condstore) items.push(fetchNumber("UID", u));
    if (!args.silent) items.push(fetchFlags(view.flagsOf(u)));
    if (condstore && (updated.has(emailId) || !args.silent)) items.push(fetchModseq(row.modseq));
    else if (args.silent) continue;
    s.send(fetchResponse(seq, items, s.writeOptions));
  }
  if (conflicts.size > 0) {
    const nums = [...byEmail]
      .filter(([e]) => conflicts.has(e))
      .map(([, u]) => (args.uid ? u : view.seqOf(u)));
    return { text: "Conditional STORE failed for some messages", code: modifiedCode(nums) };
  }
}

export const store = command<StoreArgs>({
  name: "STORE",
  states: SELECTED,
  noExpunge: true,
  handle: runStore,
});
export const uidStore = command<StoreArgs>({ name: "UID STORE", states: SELECTED, handle: runStore });
