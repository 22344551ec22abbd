// IMAP COPY/MOVE (RFC 9051 §6.4.7, RFC 6851) and JMAP mailboxIds changes.
// Copying an email into a mailbox it is not in adds a membership: one email id, one UID
// per mailbox (JMAP allows an email in several mailboxes). Copying it into a mailbox that
// already holds it makes a NEW email sharing the blob, thread, keywords and metadata, so
// the target gets a new UID as IMAP requires (RFC 4315 COPYUID). MOVE is copy + expunge
// from the source in one transaction (RFC 6851 §3.3: atomic).
import { StoreError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { quotaCheck } from "./append.ts";
import type { StoreContext, WriteContext } from "./context.ts";
import { chunks, marks, writeAccount } from "./context.ts";
import { expungeIn, mailboxRow } from "./expunge.ts";
import { hasSeen } from "./keywords.ts";
import type { CopyResult, ExpungeResult, Id } from "./types.ts";

interface SourceEmail {
  num: number;
  id: string;
  thread_num: number;
  thread_id: string;
  keywords: string;
  size: number;
}

async function sourceEmails(w: WriteContext, emailIds: Id[]): Promise<SourceEmail[]> {
  const byId = new Map<string, SourceEmail>();
  for (const part of chunks([...new Set(emailIds)])) {
    const rows = await w.tx.all<SourceEmail>(
      `SELECT e.num, e.id, e.thread_num, t.id AS thread_id, e.keywords, e.size
         FROM emails e JOIN threads t ON t.num = e.thread_num
        WHERE +e.account_num = ? AND e.id IN (${marks(part.length)})`,
      [w.account.num, ...part],
    );
    for (const r of rows) byId.set(r.id, r);
  }
  return emailIds.map((id) => {
    const e = byId.get(id);
    if (!e) throw new StoreError("NOTFOUND", `no email ${id}`);
    return e;
  });
}

async function copyIn(
  ctx: StoreContext,
  w: WriteContext,
  emails: SourceEmail[],
  target: { num: number; id: string },
): Promise<CopyResult["copied"]> {
  const copied: CopyResult["copied"] = [];
  if (emails.length === 0) return copied;
  const modseq = w.modseq;
  for (const e of emails) {
    const present = await w.tx.get<{ uid: number }>(
      "SELECT uid FROM memberships WHERE mailbox_num = ? AND email_num = ?",
      [target.num, e.num],
    );
    let emailNum = e.num;
    let emailId = e.id;
    if (present) {
      quotaCheck(w.account, w.usedBytes, w.usedMessages, e.size, 1);
      emailId = newId("e");
      const row = await w.tx.get<{ num: number }>(
        `INSERT INTO emails (id, account_num, thread_num, blob_id, size, received_at, received_tz, sent_at,
           sent_day, keywords, modseq, flags_modseq, base_subject, text_capped, envelope, meta)
         SELECT ?, account_num, thread_num, blob_id, size, received_at, received_tz, sent_at, sent_day, keywords,
           ?, ?, base_subject, text_capped, '', '' FROM emails WHERE num = ? RETURNING num`,
        [emailId, modseq, modseq, e.num],
      );
      if (!row) throw new Error("email copy returned nothing");
      emailNum = row.num;
      await w.tx.run(
        "INSERT INTO email_meta (email_num, envelope, meta) SELECT ?, envelope, meta FROM email_meta WHERE email_num = ?",
        [emailNum, e.num],
      );
      await w.tx.run(
        `INSERT INTO message_ids (account_num, message_id, thread_num, base_subject, email_num)
         SELECT account_num, message_id, thread_num, base_subject, ? FROM message_ids WHERE email_num = ?`,
        [emailNum, e.num],
      );
      await ctx.search.copy(w.tx, w.account.num, e.num, emailNum);
      w.usedBytes += e.size;
      w.usedMessages += 1;
      w.record("Email", emailId, "created");
      w.record("Thread", e.thread_id, "updated");
    } else {
      await w.tx.run("UPDATE emails SET modseq = ? WHERE num = ?", [modseq, e.num]);
      w.record("Email", e.id, "updated");
    }
    const uid = await w.nextUid(target.num, target.id);
    await w.tx.run(
      "INSERT INTO memberships (mailbox_num, uid, email_num, modseq, saved_at) VALUES (?, ?, ?, ?, ?)",
      [target.num, uid, emailNum, modseq, w.now],
    );
    w.mailbox(target.num, target.id, { total: 1, unseen: hasSeen(e.keywords) ? 0 : 1, size: e.size });
    copied.push({ fromEmailId: e.id, emailId, uid });
  }
  return copied;
}

export async function copyEmails(
  ctx: StoreContext,
  accountId: Id,
  emailIds: Id[],
  toMailboxId: Id,
): Promise<CopyResult> {
  return writeAccount(ctx, accountId, async (w) => {
    const target = await mailboxRow(w, toMailboxId);
    const emails = await sourceEmails(w, [...new Set(emailIds)]);
    return { copied: await copyIn(ctx, w, emails, target), uidValidity: target.uid_validity };
  });
}

export async function moveEmails(
  ctx: StoreContext,
  accountId: Id,
  fromMailboxId: Id,
  emailIds: Id[],
  toMailboxId: Id,
): Promise<{ copy: CopyResult; expunge: ExpungeResult }> {
  const out = await writeAccount(ctx, accountId, async (w) => {
    const source = await mailboxRow(w, fromMailboxId);
    const target = await mailboxRow(w, toMailboxId);
    const emails = await sourceEmails(w, [...new Set(emailIds)]);
    const uids: number[] = [];
    for (const part of chunks(emails)) {
      const rows = await w.tx.all<{ uid: number; email_num: number }>(
        `SELECT uid, email_num FROM memberships WHERE mailbox_num = ? AND email_num IN (${marks(part.length)})`,
        [source.num, ...part.map((e) => e.num)],
      );
      if (rows.length !== new Set(part.map((e) => e.num)).size) {
        throw new StoreError("NOTFOUND", "an email to move is not in the source mailbox");
      }
      uids.push(...rows.map((r) => r.uid));
    }
    const copied = await copyIn(ctx, w, emails, target);
    const expunged = await expungeIn(ctx, w, source, uids);
    return { copied, uidValidity: target.uid_validity, expunged };
  });
  return {
    copy: { modseq: out.modseq, copied: out.copied, uidValidity: out.uidValidity },
    expunge: { modseq: out.modseq, uids: out.expunged },
  };
}
