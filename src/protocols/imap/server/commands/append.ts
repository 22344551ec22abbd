// RFC 9051 §6.3.12 APPEND with MULTIAPPEND (RFC 3502: all or nothing), UIDPLUS APPENDUID
// (RFC 4315 §3), BINARY literal8 (RFC 3516 §4.4) and APPENDLIMIT (RFC 7889: the reader refuses
// a larger literal with [TOOBIG] before it is sent). Every message goes through the one ingest
// path (source "imap-append"). A missing mailbox is NO [TRYCREATE].
import type { AppendArgs, AppendMessage } from "../../wire/index.ts";
import { appendUidCode } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { no } from "../errors.ts";
import { normalizePath } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

/** One message through the ingest path (source "imap-append"): its UID in the mailbox. */
export async function appendMessage(
  s: ImapSession,
  mailboxId: string,
  m: AppendMessage,
): Promise<{ uid: number; uidValidity: number } | null> {
  const r = await s.ctx.ingest.ingest({
    accountId: s.accountId,
    // the literal is a view on the input buffers: keep a copy of its own
    raw: Buffer.from(m.data),
    source: "imap-append",
    mailboxIds: [mailboxId],
    keywords: m.flags.filter((f) => f.toLowerCase() !== "\\recent"),
    ...(m.date !== null ? { receivedAt: m.date, receivedTz: m.dateTz } : {}),
  });
  const u = r.uids.find((x) => x.mailboxId === mailboxId);
  return u === undefined ? null : { uid: u.uid, uidValidity: u.uidValidity };
}

export const append = command<AppendArgs>({
  name: "APPEND",
  states: AUTHED,
  async handle(s, args) {
    const mb = await s.ctx.store.getMailboxByPath(s.accountId, normalizePath(args.mailbox));
    if (mb === null) throw no("TRYCREATE", "No such mailbox");
    if (args.messages.some((m) => m.data.length === 0)) throw no("CANNOT", "Empty message");
    // the messages of a MULTIAPPEND are handed to ingest together: one commit (group commit)
    const settled = await Promise.allSettled(args.messages.map((m) => appendMessage(s, mb.id, m)));
    const done: Array<{ uid: number; uidValidity: number }> = [];
    let failure: { reason: unknown } | null = null;
    for (const r of settled) {
      if (r.status === "rejected") {
        failure ??= { reason: r.reason as unknown };
        continue;
      }
      if (r.value !== null) done.push(r.value);
    }
    if (failure !== null) {
      // RFC 3502 §6.3.11: MULTIAPPEND is all or nothing; take back what went in
      if (done.length > 0)
        await s.ctx.store
          .expunge(
            s.accountId,
            mb.id,
            done.map((d) => d.uid),
          )
          .catch(() => undefined);
      throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
    }
    if (s.selected?.mailbox.id === mb.id) s.selected.dirty = true;
    const first = done[0];
    if (first === undefined) return;
    return {
      text: "APPEND completed",
      code: appendUidCode(
        first.uidValidity,
        done.map((d) => d.uid),
      ),
    };
  },
});
