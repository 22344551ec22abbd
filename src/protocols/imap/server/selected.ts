// The selected-mailbox view of one session (RFC 9051 §5.2, §7.4, §7.5.1; RFC 2180): the
// sequence-number <-> UID map as this session knows it, the changes other writers made that
// were not yet reported, and when they may be reported. Numbers only change when this view
// says so: an expunge stays in the map (and keeps its sequence number) until an EXPUNGE or
// VANISHED response is allowed (RFC 9051 §7.5.1: not while answering FETCH, STORE or SEARCH,
// nor without a command in progress); new messages are announced with EXISTS; flag changes
// with FETCH FLAGS (RFC 7162 §3.2.4 with UID when QRESYNC is on, MODSEQ with CONDSTORE).
// \Recent (RFC 3501 §2.3.2) is claimed through the store, which keeps per mailbox the highest
// UID a session took as recent: it holds across restarts and between server processes.
import { isStoreError } from "../../../core/errors.ts";
import type { Mailbox, MailStore, MessageRow } from "../../../store/types.ts";
import type { SequenceSet } from "../wire/index.ts";
import {
  countResponse,
  flagsResponse,
  permanentFlagsCode,
  untaggedStatus,
  fetchFlags,
  fetchModseq,
  fetchNumber,
  fetchResponse,
  resolveSequenceSet,
  vanishedResponse,
} from "../wire/index.ts";
import type { Chunk, FetchDatum, WriteOptions } from "../wire/index.ts";
import { bad } from "./errors.ts";
import type { MailboxChangeReader } from "./mailbox-changes.ts";

export const SYSTEM_FLAGS: readonly string[] = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

/** How updates are written for this session. */
export interface ViewMode {
  /** IMAP4rev1 session: \Recent and RECENT (RFC 3501); rev2 has neither (RFC 9051 Appendix E). */
  rev1: boolean;
  condstore: boolean;
  qresync: boolean;
  write: WriteOptions;
}

export class SelectedMailbox {
  readonly store: MailStore;
  readonly accountId: string;
  mailbox: Mailbox;
  readonly readOnly: boolean;
  /** UIDs by sequence number - 1, ascending. */
  uids: number[] = [];
  rows = new Map<number, MessageRow>();
  /** RFC 3501 §2.3.2 \Recent: UIDs recent to this session. */
  readonly recent = new Set<number>();
  /** The highest modseq this view has taken in. */
  lastModSeq = 0;
  /** Expunged elsewhere (or by a MOVE/EXPUNGE not yet reported), still holding a number. */
  readonly pendingExpunge = new Set<number>();
  /** UIDs whose flags changed since they were last reported. */
  readonly pendingFlags = new Set<number>();
  /** EXISTS last reported. */
  reportedExists = 0;
  reportedRecent = 0;
  /** Keywords announced in FLAGS (RFC 9051 §7.3.5); a new one is announced before its use. */
  readonly keywords = new Set<string>();
  /** RFC 5182 SEARCHRES: the saved result as UIDs. */
  saved: number[] = [];
  /** Modseqs of change events of this mailbox not read yet (nor made by this session). */
  readonly #unread = new Set<number>();
  /** Modseqs of this session's own changes, taken in before their event came. */
  readonly #absorbed = new Set<number>();
  #forced = false;
  readonly #rev1: boolean;
  readonly #changes: MailboxChangeReader;

  private constructor(
    store: MailStore,
    accountId: string,
    mailbox: Mailbox,
    readOnly: boolean,
    opts: { rev1: boolean; changes: MailboxChangeReader },
  ) {
    this.store = store;
    this.accountId = accountId;
    this.mailbox = mailbox;
    this.readOnly = readOnly;
    this.#rev1 = opts.rev1;
    this.#changes = opts.changes;
  }

  static async open(
    store: MailStore,
    accountId: string,
    mailbox: Mailbox,
    opts: {
      readOnly: boolean;
      rev1: boolean;
      changes: MailboxChangeReader;
      /** The view this session had: when of the same mailbox, the new one starts from it. */
      previous?: SelectedMailbox | null;
    },
  ): Promise<SelectedMailbox> {
    const v = new SelectedMailbox(store, accountId, mailbox, opts.readOnly, opts);
    const prev = opts.previous;
    if (prev !== undefined && prev !== null && prev.accountId === accountId && prev.mailbox.id === mailbox.id)
      return v.#reopen(prev);
    // the modseq first: a change committed while we list is read again by the next sync
    const fresh = await store.getMailbox(accountId, mailbox.id);
    if (fresh !== null) v.mailbox = fresh;
    const rows = await store.listMessages(accountId, mailbox.id);
    let last = v.mailbox.highestModSeq;
    for (const r of rows) {
      v.uids.push(r.uid);
      v.rows.set(r.uid, r);
      if (r.modseq > last) last = r.modseq;
    }
    v.lastModSeq = last;
    for (const r of rows) for (const k of r.keywords) if (!k.startsWith("\\")) v.keywords.add(k);
    await v.#claimRecent(v.uids);
    v.reportedExists = v.uids.length;
    v.reportedRecent = v.recent.size;
    return v;
  }

  /** True when the store has changes this view has not read: the next update polls. */
  get dirty(): boolean {
    return this.#forced || this.#unread.size > 0;
  }

  /** Asks for a poll before the next updates (true), or forgets what was pending (false). */
  set dirty(v: boolean) {
    this.#forced = v;
    if (!v) this.#unread.clear();
  }

  /** The bus told of a change of this mailbox, committed with `modseq`. */
  changed(modseq: number): void {
    if (this.#absorbed.size > 0) {
      // events come in commit order: an absorbed change older than this one was never told
      for (const m of this.#absorbed) if (m < modseq) this.#absorbed.delete(m);
      if (this.#absorbed.delete(modseq)) return;
    }
    this.#unread.add(modseq);
  }

  /**
   * This session made the change committed with `modseq` and took its result into the view
   * (STORE, FETCH setting \Seen): that change needs no poll. Another change told meanwhile
   * still does. The event of a change not yet durable (FETCH's \Seen does not wait for the
   * disk) comes after this call, and is ignored then.
   */
  absorb(modseq: number): void {
    if (this.#unread.delete(modseq)) return;
    // bounded: a change whose event never comes (a failed sync) is not kept forever
    if (this.#absorbed.size >= 256) this.#absorbed.clear();
    this.#absorbed.add(modseq);
  }

  /**
   * SELECT of the mailbox this session has selected: the messages it knows, then what changed
   * since (the same delta IDLE reads), instead of listing the whole mailbox again. The old
   * view's \Recent messages are not recent again (RFC 3501 §2.3.2: its claims are stored);
   * messages no session claimed are (an EXAMINE followed by a SELECT claims them).
   */
  async #reopen(prev: SelectedMailbox): Promise<SelectedMailbox> {
    this.mailbox = prev.mailbox;
    // SELECT has dropped the old view: its UID list and rows are taken over, not copied (a
    // 10,000-message mailbox is reselected in a fraction of a millisecond)
    this.uids = prev.uids;
    this.rows = prev.rows;
    for (const u of prev.pendingExpunge) this.pendingExpunge.add(u);
    prev.uids = [];
    prev.rows = new Map();
    this.lastModSeq = prev.lastModSeq;
    await this.poll();
    if (this.pendingExpunge.size > 0) {
      const gone = this.pendingExpunge;
      this.uids = this.uids.filter((u) => !gone.has(u));
      for (const u of gone) {
        this.rows.delete(u);
        this.recent.delete(u);
      }
      gone.clear();
    }
    this.pendingFlags.clear();
    for (const r of this.rows.values())
      for (const k of r.keywords) if (!k.startsWith("\\")) this.keywords.add(k);
    // what a SELECTed rev1 view held is claimed already; else claim (or peek at) it now
    if (!prev.#rev1 || prev.readOnly) await this.#claimRecent(this.uids.filter((u) => !this.recent.has(u)));
    this.reportedExists = this.uids.length;
    this.reportedRecent = this.recent.size;
    return this;
  }

  /**
   * RFC 3501 §2.3.2: a message is recent to the first session told of it, and to no other. The
   * store keeps per mailbox the highest UID taken; a SELECTed rev1 view raises it to its own
   * highest UID in one transaction and takes the UIDs above the old value. RFC 3501 §6.3.2:
   * EXAMINE must not make messages lose \Recent: a read-only view shows what nobody claimed
   * as recent and claims nothing. Rev2 sessions have no \Recent (RFC 9051 Appendix E).
   */
  async #claimRecent(uids: readonly number[]): Promise<void> {
    if (!this.#rev1 || uids.length === 0) return;
    let max = 0;
    for (const u of uids) if (u > max) max = u;
    let floor: number;
    try {
      floor = await this.store.claimRecent(this.accountId, this.mailbox.id, this.readOnly ? 0 : max);
    } catch (e) {
      // deleted meanwhile: the next poll reports its messages gone
      if (isStoreError(e, "NOTFOUND")) return;
      throw e;
    }
    for (const u of uids) if (u > floor) this.recent.add(u);
  }

  get exists(): number {
    return this.uids.length;
  }

  /** The sequence number of a UID, 0 when not in the view. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.uids[mid] ?? 0;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** The flags as FETCH FLAGS shows them (with \Recent for rev1 sessions). */
  flagsOf(uid: number): string[] {
    const kw = this.rows.get(uid)?.keywords ?? [];
    return this.recent.has(uid) ? [...kw, "\\Recent"] : kw;
  }

  /**
   * The UIDs a set names, ascending. RFC 9051 §6.4.8: UID ranges match the UIDs that exist.
   * RFC 9051 §9 (seq-number): a message sequence number past EXISTS, "*" in an empty mailbox
   * included, should be answered BAD; so it is for FETCH, STORE, COPY and the like. A SEARCH
   * key (`clamp`) only matches: numbers past EXISTS match nothing, as in Dovecot. "$" is the
   * saved result.
   */
  resolve(set: SequenceSet, uid: boolean, clamp = false): number[] {
    if (set.kind === "saved") {
      const present = this.saved.filter((u) => this.rows.has(u));
      return present;
    }
    if (!uid) {
      if (!clamp) {
        if (this.exists === 0) throw bad("Invalid message sequence number: the mailbox is empty");
        for (const r of set.ranges) {
          for (const n of [r.start, r.end])
            if (n !== "*" && n > this.exists) throw bad("Invalid message sequence number");
        }
      }
      const out: number[] = [];
      for (const [lo, hi] of resolveSequenceSet(set, this.exists))
        for (let s = lo; s <= hi; s++) out.push(this.uids[s - 1] ?? 0);
      return out;
    }
    const max = this.uids[this.uids.length - 1] ?? 0;
    if (max === 0) return [];
    const out: number[] = [];
    for (const [lo, hi] of resolveSequenceSet(set, max)) {
      // find the first UID >= lo
      let a = 0;
      let b = this.uids.length;
      while (a < b) {
        const m = (a + b) >> 1;
        if ((this.uids[m] ?? 0) < lo) a = m + 1;
        else b = m;
      }
      for (let i = a; i < this.uids.length && (this.uids[i] ?? 0) <= hi; i++) out.push(this.uids[i] ?? 0);
    }
    return out;
  }

  /** Reads what changed in the store since lastModSeq into the pending sets. */
  async poll(): Promise<void> {
    // asked for by this session (its APPEND, EXPUNGE): read now, not a read shared before it
    const fresh = this.#forced;
    this.dirty = false;
    const since = this.lastModSeq;
    // one read serves every session of this mailbox woken by the same change (IDLE fan-out)
    const delta = await this.#changes.read(this.store, this.accountId, this.mailbox.id, since, fresh);
    const { mailbox: mb, changed, expunged, present } = delta;
    if (mb === null) {
      // the mailbox was deleted: every message goes
      for (const u of this.uids) this.pendingExpunge.add(u);
      return;
    }
    this.mailbox = mb;
    const gone = new Set(expunged);
    let last = Math.max(since, mb.highestModSeq);
    const added: number[] = [];
    for (const r of changed) {
      if (r.modseq > last) last = r.modseq;
      if (gone.has(r.uid)) continue;
      const old = this.rows.get(r.uid);
      if (old === undefined) {
        added.push(r.uid);
        this.rows.set(r.uid, r);
        continue;
      }
      if (this.pendingExpunge.has(r.uid)) continue;
      // A shared read can be older than what this session already holds (its own STORE read
      // its rows back after that read was made): never go back to an older state.
      if (old.modseq > r.modseq) continue;
      if (old.modseq !== r.modseq || old.keywords.join(" ") !== r.keywords.join(" ")) {
        if (old.keywords.join(" ") !== r.keywords.join(" ") || old.modseq < r.modseq)
          this.pendingFlags.add(r.uid);
        this.rows.set(r.uid, r);
      }
    }
    for (const u of expunged) if (this.rows.has(u)) this.pendingExpunge.add(u);
    // the expunges since `since` are no longer known: what this view holds and the store not
    if (present !== null) for (const u of this.rows.keys()) if (!present.has(u)) this.pendingExpunge.add(u);
    if (added.length > 0) {
      added.sort((a, b) => a - b);
      const tail = this.uids[this.uids.length - 1] ?? 0;
      if ((added[0] ?? 0) > tail) this.uids.push(...added);
      else this.uids = [...this.uids, ...added].sort((a, b) => a - b);
      await this.#claimRecent(added);
    }
    this.lastModSeq = last;
  }

  /** The FLAGS list of this mailbox (system flags and the keywords in use). */
  flagList(): string[] {
    return [...SYSTEM_FLAGS, ...[...this.keywords].sort()];
  }

  /** `* FLAGS` and `* OK [PERMANENTFLAGS]` for the current keyword set. */
  flagsAnnouncement(): string[] {
    const flags = this.flagList();
    return [
      flagsResponse(flags),
      untaggedStatus(
        "OK",
        this.readOnly ? "No permanent flags" : "Flags permitted",
        permanentFlagsCode(this.readOnly ? [] : [...flags, "\\*"]),
      ),
    ];
  }

  /**
   * RFC 9051 §7.3.5: when these messages carry a keyword not announced yet, the new FLAGS and
   * PERMANENTFLAGS, to be sent before the FETCH responses that show it; else nothing.
   */
  announceKeywords(uids: Iterable<number>): string[] {
    let grown = false;
    for (const u of uids) {
      for (const k of this.rows.get(u)?.keywords ?? []) {
        if (k.startsWith("\\") || this.keywords.has(k)) continue;
        this.keywords.add(k);
        grown = true;
      }
    }
    return grown ? this.flagsAnnouncement() : [];
  }

  /** Marks UIDs this session expunged (EXPUNGE, MOVE): reported at once by the caller. */
  removeNow(uids: readonly number[]): void {
    for (const u of uids) if (this.rows.has(u)) this.pendingExpunge.add(u);
  }

  /**
   * The untagged responses for what is pending: EXPUNGE (or VANISHED with QRESYNC) when
   * allowed, then EXISTS/RECENT, then FETCH FLAGS.
   */
  flush(allowExpunge: boolean, mode: ViewMode): Chunk[] {
    const out: Chunk[] = [];
    if (allowExpunge && this.pendingExpunge.size > 0) {
      const gone = [...this.pendingExpunge].sort((a, b) => b - a);
      const seqs: number[] = [];
      for (const u of gone) seqs.push(this.seqOf(u));
      const keep = new Set(gone);
      this.uids = this.uids.filter((u) => !keep.has(u));
      for (const u of gone) {
        this.rows.delete(u);
        this.recent.delete(u);
        this.pendingFlags.delete(u);
      }
      this.saved = this.saved.filter((u) => !keep.has(u));
      this.pendingExpunge.clear();
      // Only messages the client was told of (sequence numbers up to the EXISTS it has): one
      // that came and went between two updates is never mentioned, and the count the client
      // holds afterwards is the reported one less the expunged, so a new message in the same
      // update still gets its EXISTS (RFC 9051 §7.5.1).
      const known: number[] = [];
      for (let i = 0; i < gone.length; i++) {
        const seq = seqs[i] ?? 0;
        if (seq > 0 && seq <= this.reportedExists) known.push(i);
      }
      // RFC 7162 §3.2.10: with QRESYNC enabled VANISHED replaces EXPUNGE
      if (mode.qresync) {
        if (known.length > 0)
          out.push(
            vanishedResponse(
              known.map((i) => gone[i] ?? 0),
              false,
            ),
          );
      } else for (const i of known) out.push(countResponse(seqs[i] ?? 0, "EXPUNGE"));
      this.reportedExists -= known.length;
    }
    if (this.uids.length !== this.reportedExists) {
      out.push(countResponse(this.uids.length, "EXISTS"));
      this.reportedExists = this.uids.length;
      if (mode.rev1) out.push(countResponse(this.recent.size, "RECENT"));
      this.reportedRecent = this.recent.size;
    }
    if (this.pendingFlags.size > 0) {
      out.push(...this.announceKeywords(this.pendingFlags));
      for (const u of [...this.pendingFlags].sort((a, b) => a - b)) {
        const seq = this.seqOf(u);
        const row = this.rows.get(u);
        if (seq === 0 || row === undefined) continue;
        const items: FetchDatum[] = [];
        // RFC 7162 §3.1: flag changes reported with CONDSTORE on carry UID and MODSEQ
        if (mode.qresync || mode.condstore) items.push(fetchNumber("UID", u));
        items.push(fetchFlags(this.flagsOf(u)));
        if (mode.condstore) items.push(fetchModseq(row.modseq));
        out.push(...fetchResponse(seq, items, mode.write));
      }
      this.pendingFlags.clear();
    }
    return out;
  }
}
