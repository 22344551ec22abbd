// What changed in a mailbox since a modseq, read once for every session of the server that
// asks at the same time (RFC 2177 IDLE, RFC 9051 §7.4 untagged updates). When a change event
// reaches 1,000 sessions that selected the same mailbox, they all read the same delta (same
// mailbox, same modseq): the first one reads it from the store, the others share that read.
// A read is shared only with sessions whose last change event is older than the read's
// start, so every session sees a read made after the change it was told of.
import type { ChangeEvent, Id, Mailbox, MailStore, MessageRow } from "../../../store/types.ts";

/** The changes of a mailbox after a modseq (rows are shared between sessions: read-only). */
export interface MailboxDelta {
  /** The mailbox as it is now; null when it was deleted. */
  mailbox: Mailbox | null;
  /** Messages with modseq > since, by ascending UID. */
  changed: readonly MessageRow[];
  /** UIDs expunged with modseq > since. */
  expunged: readonly number[];
  /**
   * Null, or when the expunges after `since` are no longer known (dropped by the history
   * retention): the UIDs that exist now, and every other UID a view holds is gone.
   */
  present: ReadonlySet<number> | null;
}

interface Read {
  /** The box's generation when the read started: it has seen the events up to it. */
  generation: number;
  delta: Promise<MailboxDelta>;
}

interface BoxState {
  /** Incremented for each change event of the mailbox. */
  generation: number;
  lastEvent: ChangeEvent | null;
  /** Reads by `since`. */
  reads: Map<number, Read>;
}

/** How long a finished read stays shareable (sessions woken by one event poll within it). */
const KEEP_MS = 2000;

export class MailboxChangeReader {
  readonly #boxes = new Map<Id, BoxState>();

  /** Called by each session told of `event` for `mailboxId` (once per session and event). */
  noteEvent(mailboxId: Id, event: ChangeEvent): void {
    const box = this.#boxes.get(mailboxId);
    // no read to invalidate: reads made from now on see the change
    if (box === undefined) return;
    // the sessions of one mailbox are told of the same event object one after the other
    if (box.lastEvent === event) return;
    box.lastEvent = event;
    box.generation++;
    box.reads.clear();
  }

  /**
   * The changes after `since`, read after every event noted so far for the mailbox. `fresh`:
   * read now whatever is shared (the caller knows of a change its bus event may not have told
   * yet, such as its own APPEND with a bus that delivers later).
   */
  read(store: MailStore, accountId: Id, mailboxId: Id, since: number, fresh = false): Promise<MailboxDelta> {
    let box = this.#boxes.get(mailboxId);
    if (box === undefined) {
      box = { generation: 0, lastEvent: null, reads: new Map() };
      this.#boxes.set(mailboxId, box);
    }
    const known = box.reads.get(since);
    if (!fresh && known !== undefined && known.generation === box.generation) return known.delta;
    const read: Read = { generation: box.generation, delta: readDelta(store, accountId, mailboxId, since) };
    box.reads.set(since, read);
    const forget = (): void => {
      const b = this.#boxes.get(mailboxId);
      if (b === undefined) return;
      if (b.reads.get(since) === read) b.reads.delete(since);
      if (b.reads.size === 0) this.#boxes.delete(mailboxId);
    };
    read.delta.then(
      () => setTimeout(forget, KEEP_MS).unref(),
      () => forget(),
    );
    return read.delta;
  }
}

async function readDelta(
  store: MailStore,
  accountId: Id,
  mailboxId: Id,
  since: number,
): Promise<MailboxDelta> {
  const { mailbox, changed, expunged } = await store.mailboxDelta(accountId, mailboxId, since);
  if (mailbox === null || expunged !== null)
    return { mailbox, changed, expunged: expunged ?? [], present: null };
  // RFC 7162 §3.2.5.2 in spirit: the history is gone, what exists tells what vanished
  const rows = await store.listMessages(accountId, mailboxId);
  return { mailbox, changed, expunged: [], present: new Set(rows.map((r) => r.uid)) };
}
