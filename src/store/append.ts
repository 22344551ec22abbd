// appendEmails: the one way new emails enter the store (delivery/ingest calls it for SMTP,
// LMTP, IMAP APPEND, JMAP import, Sieve fileinto and import). Group commit: a batch is ONE
// transaction (with the batches of other accounts on SQLite), one modseq per account, one
// fsync; each input succeeds or fails on its own.
//
// Order of work, for durability and "a refused write leaves nothing behind":
// 1. quota pre-check against committed usage (inputs that cannot fit never write a blob),
//    for blob stores that write before the transaction;
// 2. blobs written to the BlobStore BEFORE the transaction (content-addressed, idempotent,
//    fsynced), so a committed email always finds its blob. A database BlobStore instead
//    writes inside the transaction, after the checks, so a refusal leaves no blob row;
// 3. the transaction: account locked, quota re-checked with the running usage, UIDs from
//    uid_next, email + memberships + message ids + search entry + change rows;
// 4. once the COMMIT is durable, each account's ChangeEvent is published.
import { createHash } from "node:crypto";
import { StoreError, isStoreError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { StoreContext, WriteContext } from "./context.ts";
import { chunks, insertMany, isTxBlobStore, marks, writeAccounts } from "./context.ts";
import { SEEN, normalizeKeywords } from "./keywords.ts";
import { buildSearchDocument, type IndexEntry } from "./search-index.ts";
import { indexedInPart } from "./search/text.ts";
import { parseDateDay } from "../mail/date.ts";
import { chooseThread, recordMessageIds, threadingIds } from "./threads.ts";
import type { AppendInput, AppendResult, Id, StoreErrorLike } from "./types.ts";

function failure(e: unknown): StoreErrorLike {
  if (isStoreError(e)) return { error: { code: e.code, message: e.message } };
  throw e;
}

export function quotaCheck(
  q: { quota_bytes: number | null; quota_messages: number | null },
  usedBytes: number,
  usedMessages: number,
  addBytes: number,
  addMessages: number,
): void {
  // RFC 9208 §5.1 / RFC 9425: STORAGE in bytes here (IMAP reports KiB), MESSAGE in count.
  if (q.quota_bytes !== null && usedBytes + addBytes > q.quota_bytes) {
    throw new StoreError("NOQUOTA", "mailbox storage quota exceeded", { resource: "STORAGE" });
  }
  if (q.quota_messages !== null && usedMessages + addMessages > q.quota_messages) {
    throw new StoreError("NOQUOTA", "message count quota exceeded", { resource: "MESSAGE" });
  }
}

interface Pending {
  index: number;
  input: AppendInput;
  keywords: string[];
  blobId: string;
}

interface MailboxInfo {
  num: number;
  id: string;
  uid_validity: number;
}

// Group commit across callers: appends that arrive while a transaction is running
// (concurrent SMTP/LMTP sessions, each with one message) write their blobs meanwhile, then
// wait and go together in ONE transaction: one modseq per account, one COMMIT and one fsync
// for all, per-item results as usual. On SQLite (one writer per database) the appends of
// every account share one lane, so a round of deliveries to several recipients' accounts is
// one transaction; on PostgreSQL, where transactions of different accounts run side by side
// on their own connections, each account has its lane.
const MAX_GROUP = 200;

type Slot = AppendResult | StoreErrorLike | undefined;

interface Job {
  accountId: Id;
  pending: Pending[];
  results: Slot[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

const lanes = new WeakMap<StoreContext, Map<string, Job[]>>();

export async function appendEmails(
  ctx: StoreContext,
  accountId: Id,
  inputs: AppendInput[],
): Promise<Array<AppendResult | StoreErrorLike>> {
  const results: Slot[] = Array.from<Slot>({ length: inputs.length });
  const pending = await prepare(ctx, accountId, inputs, results);
  if (pending.length > 0) await enqueue(ctx, accountId, pending, results);
  return results.map((r) => r ?? { error: { code: "TEMP", message: "not processed" } });
}

/**
 * 1. cheap checks and the quota pre-check; 2. blobs first (unless they live in the database).
 * A blob store that writes in the transaction writes after the quota check there, so the
 * pre-check (a read of the account) would only repeat that check: it is left out then.
 */
async function prepare(
  ctx: StoreContext,
  accountId: Id,
  inputs: AppendInput[],
  results: Slot[],
): Promise<Pending[]> {
  const txBlobs = isTxBlobStore(ctx.blobs);
  const acct = txBlobs
    ? null
    : await ctx.driver.get<{
        quota_bytes: number | null;
        quota_messages: number | null;
        used_bytes: number;
        used_messages: number;
      }>("SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM accounts WHERE id = ?", [
        accountId,
      ]);
  if (!txBlobs && !acct) throw new StoreError("NOTFOUND", `no account ${accountId}`);
  const pending: Pending[] = [];
  let bytes = acct?.used_bytes ?? 0;
  let count = acct?.used_messages ?? 0;
  inputs.forEach((input, index) => {
    try {
      if (input.mailboxIds.length === 0)
        throw new StoreError("INVALID", "an email needs at least one mailbox");
      const keywords = normalizeKeywords(input.keywords);
      if (acct) {
        quotaCheck(acct, bytes, count, input.raw.length, 1);
        bytes += input.raw.length;
        count += 1;
      }
      const blobId = createHash("sha256").update(input.raw).digest("hex");
      pending.push({ index, input, keywords, blobId });
    } catch (e) {
      results[index] = failure(e);
    }
  });
  if (!txBlobs && pending.length > 0) {
    const unique = new Map(pending.map((p) => [p.blobId, p.input.raw]));
    await Promise.all([...unique.values()].map((raw) => ctx.blobs.put(raw)));
  }
  return pending;
}

function enqueue(ctx: StoreContext, accountId: Id, pending: Pending[], results: Slot[]): Promise<void> {
  let byLane = lanes.get(ctx);
  if (!byLane) lanes.set(ctx, (byLane = new Map<string, Job[]>()));
  const lane = ctx.driver.dialect === "sqlite" ? "" : accountId;
  const waiting = byLane.get(lane);
  return new Promise<void>((resolve, reject) => {
    const job: Job = { accountId, pending, results, resolve, reject };
    if (waiting) waiting.push(job);
    else {
      const queue = [job];
      byLane.set(lane, queue);
      void drain(ctx, byLane, lane, queue);
    }
  });
}

async function drain(
  ctx: StoreContext,
  byLane: Map<string, Job[]>,
  lane: string,
  queue: Job[],
): Promise<void> {
  for (;;) {
    // Let I/O completions run first (blob writes of other callers that finish now), so
    // they join this group; the transaction itself never yields to the event loop.
    await new Promise<void>((r) => setImmediate(r));
    const group = new Map<Id, Job[]>();
    let n = 0;
    for (let job = queue[0]; job && (n === 0 || n + job.pending.length <= MAX_GROUP); job = queue[0]) {
      queue.shift();
      const jobs = group.get(job.accountId);
      if (jobs) jobs.push(job);
      else group.set(job.accountId, [job]);
      n += job.pending.length;
    }
    if (group.size === 0) break;
    // The next group starts as soon as this one has committed; its jobs resolve once it is
    // durable (the WAL sync of SQLite runs meanwhile and serves several groups).
    let committed!: () => void;
    const started = new Promise<void>((r) => (committed = r));
    const done = commitGroup(ctx, group, committed);
    await Promise.race([started, done]);
  }
  byLane.delete(lane);
}

/**
 * Commits a group; when a transaction carrying several accounts fails, each account is tried
 * again in a transaction of its own, so one account's failure (a deleted account, a
 * constraint) fails only its own callers.
 */
async function commitGroup(ctx: StoreContext, group: Map<Id, Job[]>, committed: () => void): Promise<void> {
  let didCommit = false;
  const settle = async (accounts: Id[], onCommitted?: () => void): Promise<unknown> => {
    try {
      await commit(
        ctx,
        accounts.map((a) => ({ accountId: a, jobs: group.get(a) ?? [] })),
        () => {
          didCommit = true;
          onCommitted?.();
        },
      );
      for (const a of accounts) for (const j of group.get(a) ?? []) j.resolve();
      return undefined;
    } catch (e) {
      return e;
    }
  };
  const accounts = [...group.keys()];
  const error = await settle(accounts, committed);
  if (error === undefined) return;
  // Committed but not made durable (a failed WAL sync): nothing may be written twice.
  if (accounts.length === 1 || didCommit) {
    for (const jobs of group.values()) for (const j of jobs) j.reject(error);
    return;
  }
  for (const a of accounts) {
    const jobs = group.get(a) ?? [];
    for (const j of jobs) for (const p of j.pending) j.results[p.index] = undefined;
    const e = await settle([a]);
    if (e !== undefined) for (const j of jobs) j.reject(e);
  }
}

/** 3. the transaction: the jobs of each account, each account with its own WriteContext. */
async function commit(
  ctx: StoreContext,
  parts: Array<{ accountId: Id; jobs: Job[] }>,
  committed: () => void,
): Promise<void> {
  const txBlobs = isTxBlobStore(ctx.blobs) ? ctx.blobs : null;
  const written = new Set<string>();
  const toIndex: IndexEntry[] = [];
  await writeAccounts(
    ctx,
    parts.map(({ accountId, jobs }) => ({
      accountId,
      fn: async (w: WriteContext) => {
        const boxes = await targetMailboxes(w, jobs);
        for (const job of jobs) {
          for (const p of job.pending) {
            try {
              const targets = [...new Set(p.input.mailboxIds)].map((id) => {
                const b = boxes.get(id);
                if (!b) throw new StoreError("NOTFOUND", `no mailbox ${id}`);
                return b;
              });
              quotaCheck(w.account, w.usedBytes, w.usedMessages, p.input.raw.length, 1);
              if (txBlobs && !written.has(p.blobId)) {
                await txBlobs.putTx(w.tx, p.blobId, p.input.raw);
                written.add(p.blobId);
              }
              job.results[p.index] = await insertEmail(ctx, w, p, targets, toIndex);
            } catch (e) {
              job.results[p.index] = failure(e);
            }
          }
        }
        return {};
      },
    })),
    {
      // After every other write of the transaction (see SearchIndex.index).
      last: async (tx) => {
        if (toIndex.length > 0) await ctx.search.index(tx, toIndex);
      },
      committed,
    },
  );
}

/**
 * The account's mailboxes the jobs name (read under the account's lock), with their next
 * UID handed to the WriteContext, which saves it the read.
 */
async function targetMailboxes(w: WriteContext, jobs: Job[]): Promise<Map<string, MailboxInfo>> {
  const ids = new Set<string>();
  for (const job of jobs) for (const p of job.pending) for (const id of p.input.mailboxIds) ids.add(id);
  const boxes = new Map<string, MailboxInfo>();
  for (const part of chunks([...ids])) {
    const rows = await w.tx.all<MailboxInfo & { uid_next: number }>(
      `SELECT num, id, uid_validity, uid_next FROM mailboxes WHERE id IN (${marks(part.length)})
         AND +account_num = ?`,
      [...part, w.account.num],
    );
    for (const { uid_next, ...r } of rows) {
      boxes.set(r.id, r);
      w.knownUidNext(r.num, r.id, uid_next);
    }
  }
  return boxes;
}

async function insertEmail(
  ctx: StoreContext,
  w: WriteContext,
  p: Pending,
  targets: MailboxInfo[],
  toIndex: IndexEntry[],
): Promise<AppendResult> {
  const { parsed, raw } = p.input;
  const size = raw.length;
  const ids = threadingIds(parsed);
  const thread = await chooseThread(w, ids, parsed.baseSubject);
  const emailId = newId("e");
  const modseq = w.modseq;
  const { text: _text, envelope, ...meta } = parsed;
  const doc = buildSearchDocument(parsed);
  const row = await w.tx.get<{ num: number }>(
    `INSERT INTO emails (id, account_num, thread_num, blob_id, size, received_at, received_tz, sent_at, sent_day,
       keywords, modseq, flags_modseq, base_subject, text_capped, envelope, meta)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '') RETURNING num`,
    [
      emailId,
      w.account.num,
      thread.num,
      p.blobId,
      size,
      p.input.receivedAt,
      p.input.receivedTz ?? 0,
      parsed.sentAt,
      parseDateDay(envelope.date),
      JSON.stringify(p.keywords),
      modseq,
      modseq,
      parsed.baseSubject,
      indexedInPart(parsed, doc) ? 1 : 0,
    ],
  );
  if (!row) throw new Error("email insert returned nothing");
  await w.tx.run("INSERT INTO email_meta (email_num, envelope, meta) VALUES (?, ?, ?)", [
    row.num,
    JSON.stringify(envelope),
    JSON.stringify(meta),
  ]);
  const unseen = p.keywords.includes(SEEN) ? 0 : 1;
  const uids: AppendResult["uids"] = [];
  const rows: Array<[number, number, number, number, number]> = [];
  for (const b of targets) {
    const uid = await w.nextUid(b.num, b.id);
    uids.push({ mailboxId: b.id, uid, uidValidity: b.uid_validity });
    rows.push([b.num, uid, row.num, modseq, w.now]);
    w.mailbox(b.num, b.id, { total: 1, unseen, size });
  }
  await insertMany(
    w.tx,
    "INSERT INTO memberships (mailbox_num, uid, email_num, modseq, saved_at) VALUES ",
    "(?, ?, ?, ?, ?)",
    rows,
  );
  await recordMessageIds(w, row.num, thread.num, ids, parsed.baseSubject);
  toIndex.push({ accountNum: w.account.num, emailNum: row.num, doc });
  w.usedBytes += size;
  w.usedMessages += 1;
  w.record("Email", emailId, "created");
  w.record("Thread", thread.id, thread.created ? "created" : "updated");
  return { emailId, threadId: thread.id, blobId: p.blobId, size, modseq, uids };
}
