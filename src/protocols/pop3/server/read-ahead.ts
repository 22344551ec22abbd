// Loading message bodies for RETR/TOP, fast for the way POP3 clients work: they fetch the
// maildrop in order (RETR 1, RETR 2, ...), one command at a time.
// - Blob ids are looked up in batches (store.getEmails for the next BATCH messages), not
//   with one query per message (store.getRaw).
// - Read-ahead: while the client reads message n, message n+1 is already loaded, so the
//   wait for the blob overlaps the client's turn instead of adding to every RETR. Bounded:
//   DEPTH messages, none above `maxBytes`.
// - A loaded message is prepared at once by the session's `prepare` (the downgrade for a
//   client without UTF8, the byte-stuffing when read ahead for RETR), so that work is done
//   during the client's turn as well.
import type { Id, MailStore } from "../../../store/types.ts";
import type { MaildropMessage } from "./maildrop.ts";

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const DEPTH = 2;
const BATCH = 100;

/** A message as this session sends it; `parts` are its stuffed parts when read ahead. */
export interface ReadyMessage {
  msg: Buffer;
  parts: Buffer[] | null;
}

/** Turns the stored bytes into what is sent; `ahead`: loaded ahead of a RETR. */
export type Prepare = (raw: Buffer, ahead: boolean) => ReadyMessage;

export class ReadAhead {
  readonly #store: MailStore;
  readonly #accountId: Id;
  readonly #messages: readonly MaildropMessage[];
  readonly #maxBytes: number;
  readonly #prepare: Prepare;
  readonly #pending = new Map<number, Promise<ReadyMessage | null>>();
  readonly #blobIds = new Map<Id, Promise<string | null>>();

  constructor(
    store: MailStore,
    accountId: Id,
    messages: readonly MaildropMessage[],
    prepare: Prepare,
    maxBytes = DEFAULT_MAX_BYTES,
  ) {
    this.#store = store;
    this.#accountId = accountId;
    this.#messages = messages;
    this.#prepare = prepare;
    this.#maxBytes = maxBytes;
  }

  /** The message (null when it was destroyed meanwhile): read ahead, or loaded now. */
  get(m: MaildropMessage): Promise<ReadyMessage | null> {
    const p = this.#pending.get(m.number);
    if (p !== undefined) {
      this.#pending.delete(m.number);
      return p;
    }
    return this.#load(m, false);
  }

  /** Starts loading the messages after `m` that are likely asked for next. */
  after(m: MaildropMessage): void {
    for (let i = m.number; i < this.#messages.length && i < m.number + DEPTH; i++) {
      const next = this.#messages[i];
      if (next === undefined || next.deleted || next.size > this.#maxBytes || this.#pending.has(next.number))
        continue;
      if (this.#pending.size >= DEPTH) return;
      const p = this.#load(next, true);
      // A failed read-ahead is reported when (if) the message is asked for.
      p.catch(() => undefined);
      this.#pending.set(next.number, p);
    }
  }

  async #load(m: MaildropMessage, ahead: boolean): Promise<ReadyMessage | null> {
    const blobId = await this.#blobId(m);
    if (blobId === null) return null;
    const raw = await this.#store.blobs.get(blobId);
    return raw === null ? null : this.#prepare(raw, ahead);
  }

  #blobId(m: MaildropMessage): Promise<string | null> {
    const known = this.#blobIds.get(m.emailId);
    if (known !== undefined) return known;
    const batch = this.#messages
      .slice(m.number - 1, m.number - 1 + BATCH)
      .filter((x) => !this.#blobIds.has(x.emailId));
    const lookup = this.#store.getEmails(
      this.#accountId,
      batch.map((x) => x.emailId),
    );
    for (const x of batch) {
      const p = lookup.then((emails) => emails.find((e) => e.id === x.emailId)?.blobId ?? null);
      p.catch(() => undefined);
      this.#blobIds.set(x.emailId, p);
    }
    // A failed lookup is forgotten so a later command may try again.
    lookup.catch(() => {
      for (const x of batch) this.#blobIds.delete(x.emailId);
    });
    return this.#blobIds.get(m.emailId) ?? Promise.resolve(null);
  }
}
