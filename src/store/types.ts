// The protocol-neutral mail model: the ONE store API that IMAP, POP3, JMAP, SMTP/LMTP
// delivery, ManageSieve, DAV and the CLI use (DESIGN.md "One store API, every protocol").
// Mail semantics (UIDs, MODSEQ, threads, quotas) are implemented once above the SQL
// backends; see src/store/sql.ts for the seam.
//
// Invariants every backend keeps (the contract suite in test/store/ proves them):
// - UIDs strictly increase per mailbox and are never reused, also after expunge and restart.
// - One account-wide modseq counter: every write bumps it once inside its transaction and
//   every change record, membership and mailbox carries the modseq that last touched it.
//   IMAP MODSEQ (RFC 7162) and JMAP state (RFC 8620 §5.2) both read it.
// - Expunged memberships leave tombstones (mailbox, uid, modseq) for QRESYNC VANISHED.
// - UID, modseq and membership are written in one transaction; quotas are checked in the
//   transaction that would exceed them, and a refused write leaves nothing behind.
import type { StoredCredential } from "../auth/types.ts";
import type { ParsedMessage, Envelope } from "../mail/types.ts";
import type { DeliveryLookups } from "./directory-cache.ts";

export type Id = string;

// RFC 6154 §2 / RFC 8621 §2: the roles made on account creation are inbox, drafts, sent,
// junk, trash, archive.
export type MailboxRole =
  "inbox" | "drafts" | "sent" | "junk" | "trash" | "archive" | "all" | "flagged" | "important";

export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; role: MailboxRole }> = [
  { name: "INBOX", role: "inbox" },
  { name: "Drafts", role: "drafts" },
  { name: "Sent", role: "sent" },
  { name: "Junk", role: "junk" },
  { name: "Trash", role: "trash" },
  { name: "Archive", role: "archive" },
];

export interface Domain {
  /** Lower-cased ASCII (A-label) domain name. */
  name: string;
  /** Account name or address that receives mail for unknown local parts, or null. */
  catchAll: string | null;
  createdAt: number;
}

export type PrincipalKind = "individual" | "group" | "list" | "resource";

export interface Account {
  id: Id;
  /** Login name; by convention the primary address. Unique. */
  name: string;
  kind: PrincipalKind;
  displayName: string | null;
  /** Addresses that deliver to this account, primary first. Lower-cased. */
  addresses: string[];
  /** "admin", "user", ... */
  roles: string[];
  /** Quotas; null = unlimited. */
  quotaBytes: number | null;
  quotaMessages: number | null;
  usedBytes: number;
  usedMessages: number;
  disabled: boolean;
  createdAt: number;
}

export interface NewAccount {
  name: string;
  kind?: PrincipalKind;
  displayName?: string | null;
  /** Defaults to [name] when name is an address. */
  addresses?: string[];
  roles?: string[];
  quotaBytes?: number | null;
  quotaMessages?: number | null;
}

export type AccountPatch = Partial<
  Pick<Account, "displayName" | "addresses" | "roles" | "quotaBytes" | "quotaMessages" | "disabled">
>;

export interface CredentialRecord {
  id: Id;
  accountId: Id;
  credential: StoredCredential;
}

export interface Alias {
  /** "local@domain", or "@domain" never (catch-all is a Domain setting). */
  address: string;
  /** Local account names/addresses or external addresses (forwarding). */
  targets: string[];
}

/** Where mail for an address goes. */
export interface Recipient {
  /** Local accounts to deliver to (deduplicated). */
  accountIds: Id[];
  /** External addresses the mail is forwarded to. */
  external: string[];
  /** The subaddress detail ("tag" of user+tag@), if any (RFC 5233). */
  detail: string | null;
}

export interface Mailbox {
  id: Id;
  accountId: Id;
  /** Leaf name (no separator). The full IMAP path is built from the parents. */
  name: string;
  parentId: Id | null;
  role: MailboxRole | null;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  subscribed: boolean;
  sortOrder: number;
  /** Counters kept in the same transactions that change them. */
  totalEmails: number;
  unseenEmails: number;
  size: number;
}

export interface NewMailbox {
  name: string;
  parentId?: Id | null;
  role?: MailboxRole | null;
  subscribed?: boolean;
  sortOrder?: number;
}

export type MailboxPatch = Partial<Pick<Mailbox, "name" | "parentId" | "role" | "subscribed" | "sortOrder">>;

export interface Email {
  id: Id;
  accountId: Id;
  /** sha-256 hex of the raw message; the key in the BlobStore. */
  blobId: string;
  threadId: Id;
  size: number;
  receivedAt: number;
  sentAt: number | null;
  /** IMAP flags and keywords as written ("\\Seen", "$Forwarded", ...), sorted, unique. */
  keywords: string[];
  /** Mailboxes the email is in (at least one). */
  mailboxIds: Id[];
  /** The modseq of the last change to this email (keywords, mailboxes). */
  modseq: number;
}

/** The changes of a mailbox after a modseq (MailStore.mailboxDelta). */
export interface MailboxDelta {
  /** The mailbox as it is now; null when it is gone. */
  mailbox: Mailbox | null;
  /** Messages with modseq > since, by ascending UID. */
  changed: MessageRow[];
  /** UIDs expunged with modseq > since; null when those are no longer known (retention). */
  expunged: number[] | null;
}

/** One message as an IMAP/POP3 view of a mailbox lists it: cheap, no metadata parsing. */
export interface MessageRow {
  uid: number;
  emailId: Id;
  threadId: Id;
  /**
   * The membership's modseq: when the email entered this mailbox or its keywords last changed,
   * whichever is later (never above the mailbox's highestModSeq).
   */
  modseq: number;
  keywords: string[];
  size: number;
  receivedAt: number;
  /** The zone INTERNALDATE is shown in, minutes east of UTC (an APPEND's date-time keeps its own). */
  receivedTz: number;
  /** RFC 8514 SAVEDATE: when the message was placed into this mailbox. */
  savedAt: number;
  /** Set when listed with `withEnvelope`. */
  envelope?: Envelope;
}

/** What ingest hands the store for one new email. */
export interface AppendInput {
  raw: Buffer;
  parsed: ParsedMessage;
  mailboxIds: Id[];
  keywords: string[];
  receivedAt: number;
  /** The zone of the internal date, minutes east of UTC (IMAP APPEND date-time); 0 when omitted. */
  receivedTz?: number;
}

export interface AppendResult {
  emailId: Id;
  threadId: Id;
  blobId: string;
  size: number;
  modseq: number;
  /** The UID given in each mailbox (UIDPLUS APPENDUID needs uidValidity too). */
  uids: Array<{ mailboxId: Id; uid: number; uidValidity: number }>;
}

export interface KeywordChange {
  add?: string[];
  remove?: string[];
  /** Replace the whole set (IMAP STORE FLAGS, JMAP keywords). */
  set?: string[];
}

export type ObjectType = "Mailbox" | "Email" | "Thread";
export type ChangeOp = "created" | "updated" | "destroyed";

export interface ChangeRecord {
  modseq: number;
  type: ObjectType;
  id: Id;
  op: ChangeOp;
}

/** Published on the ChangeBus after every commit, in commit order. */
export interface ChangeEvent {
  accountId: Id;
  modseq: number;
  changes: ChangeRecord[];
  /** Mailboxes whose message lists or flags changed (for IDLE/NOTIFY). */
  mailboxIds: Id[];
}

export interface ChangeBus {
  publish(event: ChangeEvent): void;
  /** `accountId` "*" receives every account's events. Returns the unsubscribe function. */
  subscribe(accountId: Id, listener: (event: ChangeEvent) => void): () => void;
}

export interface CopyResult {
  modseq: number;
  /** Pairs in the order of the input: source email id, new email id, uid in the target. */
  copied: Array<{ fromEmailId: Id; emailId: Id; uid: number }>;
  uidValidity: number;
}

export interface ExpungeResult {
  modseq: number;
  /** UIDs removed from the mailbox, ascending. */
  uids: number[];
}

/**
 * The search query model (IMAP SEARCH, JMAP Email/query filters). Text matches are
 * case-insensitive substring matches (RFC 9051 §6.4.4), over decoded text.
 */
export type SearchQuery =
  | { op: "all" }
  | { op: "and" | "or"; terms: SearchQuery[] }
  | { op: "not"; term: SearchQuery }
  | { op: "keyword"; keyword: string }
  | { op: "uid"; ranges: Array<[number, number]> }
  | { op: "emailIds"; ids: Id[] }
  | { op: "threadIds"; ids: Id[] }
  | { op: "inMailbox"; mailboxId: Id }
  | { op: "modseq"; min: number }
  /**
   * Times in ms since epoch; `before` exclusive, `since` inclusive. `local` (received only):
   * compare the internal date's wall-clock time in its own zone, as IMAP BEFORE/ON/SINCE do
   * ("disregarding time and timezone", RFC 9051 §6.4.4), not the instant.
   */
  | { op: "received" | "sent" | "saved"; before?: number; since?: number; local?: boolean }
  | { op: "size"; larger?: number; smaller?: number }
  /** A header field by name, lower-cased ("from", "subject", "x-spam"); "" text = has the field. */
  | { op: "header"; field: string; text: string }
  | { op: "body"; text: string }
  /** Header and body. */
  | { op: "text"; text: string };

export interface SearchOptions {
  /** Restrict to one mailbox; hits carry UIDs then. */
  mailboxId?: Id;
  limit?: number;
}

export interface SearchHit {
  emailId: Id;
  /** Set when searching a mailbox. */
  uid?: number;
}

export interface BlobStore {
  /** Stores the bytes (once; idempotent) and returns the sha-256 hex id. */
  put(data: Buffer): Promise<string>;
  get(id: string): Promise<Buffer | null>;
  has(id: string): Promise<boolean>;
  delete(id: string): Promise<void>;
}

export interface LeaseStore {
  /** Takes `name` for `holder` until now+ttl unless another holder's lease is live. */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  renew(name: string, holder: string, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
}

export interface MailStore {
  readonly blobs: BlobStore;
  readonly changes: ChangeBus;
  readonly leases: LeaseStore;

  // --- domains ---
  createDomain(name: string, opts?: { catchAll?: string | null }): Promise<Domain>;
  getDomain(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  updateDomain(name: string, patch: { catchAll?: string | null }): Promise<Domain>;
  /** Fails with INVALID while accounts still have addresses in the domain. */
  deleteDomain(name: string): Promise<void>;

  /**
   * getDomain, resolveRecipient and getAccount for the delivery path (SMTP/LMTP RCPT),
   * answered from memory for up to a second (directory-cache.ts): changes made through this
   * store are seen at once, changes by other processes within that second, and "not found"
   * is always read again. Account usage figures may be that old.
   */
  readonly delivery: DeliveryLookups;

  // --- accounts and credentials ---
  /** Creates the account and its default mailboxes (DEFAULT_MAILBOXES). */
  createAccount(input: NewAccount): Promise<Account>;
  getAccount(id: Id): Promise<Account | null>;
  getAccountByName(name: string): Promise<Account | null>;
  getAccountByAddress(address: string): Promise<Account | null>;
  listAccounts(): Promise<Account[]>;
  updateAccount(id: Id, patch: AccountPatch): Promise<Account>;
  /** Removes the account, its mailboxes, emails (blobs are collected later) and credentials. */
  deleteAccount(id: Id): Promise<void>;
  addCredential(accountId: Id, credential: StoredCredential): Promise<Id>;
  listCredentials(accountId: Id): Promise<CredentialRecord[]>;
  removeCredential(accountId: Id, credentialId: Id): Promise<void>;
  /** Replaces every credential of kind "password" by this one (passwd). */
  setPassword(accountId: Id, credential: StoredCredential): Promise<void>;

  // --- aliases and routing ---
  setAlias(alias: Alias): Promise<void>;
  removeAlias(address: string): Promise<void>;
  listAliases(domain?: string): Promise<Alias[]>;
  /**
   * Resolves a recipient address: account addresses, aliases (recursively, loops cut),
   * subaddresses "user+tag@" (RFC 5233) and the domain's catch-all. Null when unknown.
   */
  resolveRecipient(address: string, opts?: { subaddressSeparator?: string }): Promise<Recipient | null>;

  // --- mailboxes ---
  listMailboxes(accountId: Id): Promise<Mailbox[]>;
  getMailbox(accountId: Id, mailboxId: Id): Promise<Mailbox | null>;
  /** Resolves a "/"-separated path ("Archive/2024"); "INBOX" case-insensitively. */
  getMailboxByPath(accountId: Id, path: string): Promise<Mailbox | null>;
  mailboxPath(accountId: Id, mailboxId: Id): Promise<string>;
  createMailbox(accountId: Id, input: NewMailbox): Promise<Mailbox>;
  /** Rename/move keeps the id, UIDs and UIDVALIDITY; children move with their parent. */
  updateMailbox(accountId: Id, mailboxId: Id, patch: MailboxPatch): Promise<Mailbox>;
  /** Fails with INVALID if it has children. Emails only in this mailbox are destroyed. */
  deleteMailbox(accountId: Id, mailboxId: Id): Promise<void>;
  /**
   * IMAP subscriptions to names that have no mailbox: a subscribed mailbox's path is kept when
   * it is deleted (RFC 9051 §6.3.7), and a mailbox created there is subscribed again.
   */
  orphanSubscriptions(accountId: Id): Promise<string[]>;
  /** Drops such a subscription (UNSUBSCRIBE); false when the name had none. */
  dropOrphanSubscription(accountId: Id, name: string): Promise<boolean>;
  /**
   * IMAP4rev1 \Recent (RFC 3501 §2.3.2), kept per mailbox: raises the highest UID taken as
   * recent to `upToUid` atomically (across sessions and server processes) and returns the
   * value before; the UIDs above it up to `upToUid` are recent to the caller only. No write
   * when there is nothing above the stored value; `upToUid` 0 only reads it.
   */
  claimRecent(accountId: Id, mailboxId: Id, upToUid: number): Promise<number>;
  /** The messages of the mailbox no session has taken as \Recent yet (STATUS RECENT). */
  countRecent(accountId: Id, mailboxId: Id): Promise<number>;

  // --- emails ---
  /**
   * Adds new emails (one transaction for the batch: group commit). Each input succeeds or
   * fails on its own: a quota overrun gives a StoreError("NOQUOTA") in its slot.
   */
  appendEmails(accountId: Id, inputs: AppendInput[]): Promise<Array<AppendResult | StoreErrorLike>>;
  getEmails(accountId: Id, ids: Id[]): Promise<Email[]>;
  /** Parsed metadata kept at ingest (without `text`). */
  getParsed(accountId: Id, ids: Id[]): Promise<Map<Id, Omit<ParsedMessage, "text">>>;
  /** Envelopes only (fast path for FETCH ENVELOPE of many messages). */
  getEnvelopes(accountId: Id, ids: Id[]): Promise<Map<Id, Envelope>>;
  /** The raw message. */
  getRaw(accountId: Id, emailId: Id): Promise<Buffer | null>;
  /**
   * Messages of a mailbox by ascending UID, optionally only UIDs >= fromUid; with
   * `withEnvelope` each row carries its envelope (one ordered query, no lookups by id).
   */
  listMessages(
    accountId: Id,
    mailboxId: Id,
    opts?: { fromUid?: number; withEnvelope?: boolean },
  ): Promise<MessageRow[]>;
  /** Messages whose modseq > since (CONDSTORE CHANGEDSINCE). */
  changedMessages(accountId: Id, mailboxId: Id, since: number): Promise<MessageRow[]>;
  /**
   * UIDs expunged from the mailbox with modseq > since (QRESYNC VANISHED). Throws
   * StoreError("LIMIT") when expunges after `since` were dropped by the history retention:
   * the caller then works from the UIDs that exist.
   */
  expungedSince(accountId: Id, mailboxId: Id, since: number): Promise<number[]>;
  /**
   * The mailbox and what changed in it after `since` (changedMessages and expungedSince in
   * one call, from one lookup of the mailbox): what a selected view reads at each poll.
   */
  mailboxDelta(accountId: Id, mailboxId: Id, since: number): Promise<MailboxDelta>;
  /**
   * Changes keywords. With `unchangedSince` (RFC 7162 §3.1.3) emails whose keywords changed
   * after it are left alone and returned in `conflicts`. `waitDurable: false` resolves once
   * the change is committed and visible, before it is on disk (flag changes are not
   * acknowledgements of stored mail; a crash may lose the last ones, as with Dovecot).
   * `keywords`: the keywords the updated emails have now (as stored, sorted); their
   * memberships' modseq is `modseq`.
   */
  setKeywords(
    accountId: Id,
    emailIds: Id[],
    change: KeywordChange,
    opts?: { unchangedSince?: number; waitDurable?: boolean },
  ): Promise<{ modseq: number; updated: Id[]; conflicts: Id[]; keywords: Map<Id, string[]> }>;
  /** IMAP COPY: new memberships (a new email sharing the blob if already in the target). */
  copyEmails(accountId: Id, emailIds: Id[], toMailboxId: Id): Promise<CopyResult>;
  /** IMAP MOVE / JMAP mailboxIds change, atomically: copy + expunge from the source. */
  moveEmails(
    accountId: Id,
    fromMailboxId: Id,
    emailIds: Id[],
    toMailboxId: Id,
  ): Promise<{ copy: CopyResult; expunge: ExpungeResult }>;
  /** Removes memberships; emails left in no mailbox are destroyed and their quota freed. */
  expunge(accountId: Id, mailboxId: Id, uids: number[]): Promise<ExpungeResult>;
  /** JMAP Email/set destroy: removes the emails from every mailbox. */
  destroyEmails(accountId: Id, emailIds: Id[]): Promise<{ modseq: number; destroyed: Id[] }>;

  // --- changes and search ---
  /** The account's current modseq (JMAP state, IMAP HIGHESTMODSEQ upper bound). */
  currentModSeq(accountId: Id): Promise<number>;
  /**
   * Changes after `since`, oldest first, at most `limit` (hasMore tells). Throws
   * StoreError("LIMIT") when `since` is older than the retained log (JMAP
   * cannotCalculateChanges).
   */
  changesSince(
    accountId: Id,
    since: number,
    opts?: { types?: ObjectType[]; limit?: number },
  ): Promise<{ changes: ChangeRecord[]; hasMore: boolean; modseq: number }>;
  search(accountId: Id, query: SearchQuery, opts?: SearchOptions): Promise<SearchHit[]>;

  // --- maintenance ---
  /**
   * Deletes blobs no email references any more (destroyed emails leave their blobs: another
   * email may share them). Blobs written less than `graceMs` ago (default one hour) are kept,
   * since an append may have written one and not committed yet. Returns the number deleted.
   */
  collectGarbage(opts?: { graceMs?: number }): Promise<number>;

  close(): Promise<void>;
}

/** A per-item failure in a batch (StoreError's shape, without throwing). */
export interface StoreErrorLike {
  error: { code: string; message: string };
}

export function isAppendError(r: AppendResult | StoreErrorLike): r is StoreErrorLike {
  return "error" in r;
}

/** Indexing and text matching, one implementation per backend (FTS5 trigram / pg_trgm). */
export interface SearchDocument {
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  /** All top-level header fields, decoded, one "name: value" per line. */
  headers: string;
  /** Decoded text of the body parts. */
  body: string;
}
