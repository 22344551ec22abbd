// The maildrop of one POP3 session: a snapshot of the INBOX taken at login (RFC 1939 §4:
// messages are numbered from 1 for the whole session), with deletion marks that reach the
// store only in the UPDATE state (QUIT), through one atomic store.expunge.
//
// UIDLs (RFC 1939 §7 UIDL): "<uidValidity>.<uid>" of the INBOX. UIDs are never reused in a
// mailbox and survive restarts (store contract), so the same message keeps its UIDL across
// sessions, and an IMAP client sees the same message under the same UID.
import { StoreError } from "../../../core/errors.ts";
import type { Id, MailStore, Mailbox } from "../../../store/types.ts";

export interface MaildropMessage {
  /** 1-based message number of this session. */
  readonly number: number;
  readonly uid: number;
  readonly emailId: Id;
  /**
   * The stored size. RFC 1939 §5 LIST wants the octets RETR sends; they are equal for
   * CRLF messages (what SMTP, LMTP and IMAP deliver). todo RFC 1939 §5: a message stored
   * with bare LFs is sent with CRLFs and so is longer than listed; todo RFC 6856 §2 (SHOULD):
   * a message downgraded for a client without UTF8 (RFC 6857) differs from its listed size
   * too (its RETR status line gives the octets sent).
   */
  readonly size: number;
  deleted: boolean;
}

/** The maildrop is the INBOX (role "inbox"; by name when no mailbox carries the role). */
export async function findInbox(store: MailStore, accountId: Id): Promise<Mailbox> {
  const boxes = await store.listMailboxes(accountId);
  const inbox = boxes.find((b) => b.role === "inbox") ?? (await store.getMailboxByPath(accountId, "INBOX"));
  if (!inbox) throw new StoreError("NOTFOUND", "the account has no INBOX");
  return inbox;
}

export class Maildrop {
  readonly accountId: Id;
  readonly mailboxId: Id;
  readonly uidValidity: number;
  readonly messages: readonly MaildropMessage[];

  private constructor(accountId: Id, mailbox: Mailbox, messages: MaildropMessage[]) {
    this.accountId = accountId;
    this.mailboxId = mailbox.id;
    this.uidValidity = mailbox.uidValidity;
    this.messages = messages;
  }

  static async load(store: MailStore, accountId: Id): Promise<Maildrop> {
    const inbox = await findInbox(store, accountId);
    const rows = await store.listMessages(accountId, inbox.id);
    return new Maildrop(
      accountId,
      inbox,
      rows.map((r, i) => ({ number: i + 1, uid: r.uid, emailId: r.emailId, size: r.size, deleted: false })),
    );
  }

  /** The message numbered `n`, "deleted" when marked, undefined when there is none. */
  get(n: number): MaildropMessage | "deleted" | undefined {
    const m = this.messages[n - 1];
    if (m === undefined) return undefined;
    return m.deleted ? "deleted" : m;
  }

  /** The messages not marked deleted, in order. */
  live(): MaildropMessage[] {
    return this.messages.filter((m) => !m.deleted);
  }

  /** RFC 1939 §5 STAT: number and total size of the messages not marked deleted. */
  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (const m of this.messages) {
      if (m.deleted) continue;
      count++;
      octets += m.size;
    }
    return { count, octets };
  }

  /** RFC 1939 §7 UIDL: 1 to 70 characters in 0x21..0x7E. */
  uidl(m: MaildropMessage): string {
    return `${this.uidValidity}.${m.uid}`;
  }

  /** RFC 1939 §5 RSET: unmark every message. */
  reset(): void {
    for (const m of this.messages) m.deleted = false;
  }

  deletedUids(): number[] {
    return this.messages.filter((m) => m.deleted).map((m) => m.uid);
  }

  /**
   * RFC 1939 §6 UPDATE: remove the marked messages, all or none (store.expunge is one
   * transaction and publishes the change, so IMAP sessions see EXPUNGE/VANISHED).
   */
  async commit(store: MailStore): Promise<number> {
    const uids = this.deletedUids();
    if (uids.length === 0) return 0;
    const r = await store.expunge(this.accountId, this.mailboxId, uids);
    return r.uids.length;
  }
}
