// Shared helpers of the store tests: messages built as raw bytes and parsed with the real
// MIME parser, append inputs, and an invariant checker over the public API only (so it
// runs unchanged on every backend).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import { openPostgres, randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import type { AppendInput, AppendResult, Id, MailStore, StoreErrorLike } from "../../src/store/types.ts";
import { isAppendError } from "../../src/store/types.ts";

let counter = 0;

export interface MessageSpec {
  from?: string;
  to?: string;
  subject?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string;
  body?: string;
  /** Pads the body to about this many bytes. */
  size?: number;
  date?: string;
}

export function rawMessage(spec: MessageSpec = {}): Buffer {
  const id = spec.messageId ?? `m${++counter}.${process.pid}.${Date.now()}@test.example`;
  const lines = [
    `From: ${spec.from ?? "Alice <alice@example.org>"}`,
    `To: ${spec.to ?? "Bob <bob@example.com>"}`,
    `Subject: ${spec.subject ?? "Hello"}`,
    `Date: ${spec.date ?? "Mon, 5 Jan 2026 10:00:00 +0000"}`,
    `Message-ID: <${id}>`,
  ];
  if (spec.inReplyTo) lines.push(`In-Reply-To: <${spec.inReplyTo}>`);
  if (spec.references) lines.push(`References: ${spec.references}`);
  lines.push("MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", spec.body ?? "Hi there.");
  let raw = lines.join("\r\n") + "\r\n";
  if (spec.size && raw.length < spec.size) {
    const pad = spec.size - raw.length;
    const line = "x".repeat(76) + "\r\n";
    raw += line.repeat(Math.floor(pad / line.length)) + "y".repeat(pad % line.length);
  }
  return Buffer.from(raw, "utf8");
}

export function input(
  raw: Buffer,
  mailboxIds: Id[],
  keywords: string[] = [],
  receivedAt = Date.UTC(2026, 0, 5),
): AppendInput {
  return { raw, parsed: parseMessage(raw), mailboxIds, keywords, receivedAt };
}

export function ok(r: AppendResult | StoreErrorLike): AppendResult {
  if (isAppendError(r)) assert.fail(`append failed: ${r.error.code} ${r.error.message}`);
  return r;
}

/** Appends one message and returns its result. */
export async function append(
  store: MailStore,
  accountId: Id,
  mailboxIds: Id[],
  spec: MessageSpec = {},
  keywords: string[] = [],
): Promise<AppendResult> {
  const [r] = await store.appendEmails(accountId, [input(rawMessage(spec), mailboxIds, keywords)]);
  assert.ok(r);
  return ok(r);
}

export async function inbox(store: MailStore, accountId: Id): Promise<Id> {
  const m = await store.getMailboxByPath(accountId, "INBOX");
  assert.ok(m);
  return m.id;
}

/**
 * The counters the store keeps equal the real counts: per mailbox total, unseen, size,
 * uidNext > every UID, UIDs unique and ascending; per account the usage equals the distinct
 * emails' sizes and count.
 */
export async function checkInvariants(store: MailStore, accountId: Id): Promise<void> {
  const boxes = await store.listMailboxes(accountId);
  const emails = new Map<Id, number>();
  for (const b of boxes) {
    const rows = await store.listMessages(accountId, b.id);
    assert.equal(b.totalEmails, rows.length, `total of ${b.name}`);
    assert.equal(
      b.unseenEmails,
      rows.filter((r) => !r.keywords.includes("\\Seen")).length,
      `unseen of ${b.name}`,
    );
    assert.equal(
      b.size,
      rows.reduce((s, r) => s + r.size, 0),
      `size of ${b.name}`,
    );
    const uids = rows.map((r) => r.uid);
    assert.equal(new Set(uids).size, uids.length, `duplicate UIDs in ${b.name}`);
    for (let i = 1; i < uids.length; i++) assert.ok(uids[i]! > uids[i - 1]!, "UIDs ascend");
    if (uids.length) assert.ok(b.uidNext > uids[uids.length - 1]!, `uidNext of ${b.name}`);
    assert.ok(b.highestModSeq <= (await store.currentModSeq(accountId)));
    for (const r of rows) {
      emails.set(r.emailId, r.size);
      // RFC 7162 §3.1.1: HIGHESTMODSEQ is at least every message's MODSEQ.
      assert.ok(r.modseq <= b.highestModSeq, `modseq of uid ${r.uid} above HIGHESTMODSEQ of ${b.name}`);
    }
  }
  const acct = await store.getAccount(accountId);
  assert.ok(acct);
  assert.equal(acct.usedMessages, emails.size, "usedMessages");
  assert.equal(
    acct.usedBytes,
    [...emails.values()].reduce((a, b) => a + b, 0),
    "usedBytes",
  );
}

/** Drops a PostgreSQL schema a test worked in (and everything in it). */
export async function dropPgSchema(url: string, schema: string): Promise<void> {
  const admin = await openPostgres(url, { poolSize: 1 });
  try {
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.close();
  }
}

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

export interface StoreBackend {
  name: "sqlite" | "postgres";
  /** A place for one database; open() gives a store on it (several may be open at once). */
  make(): Promise<{ open(): Promise<MaintainedMailStore>; drop(): Promise<void> }>;
}

/** A SQLite file and a PostgreSQL schema of their own, for tests that run on both backends. */
export function storeBackends(label: string): StoreBackend[] {
  const common = { blobs: "db", search: "scan", clock: systemClock, logger: silentLogger() } as const;
  return [
    {
      name: "sqlite",
      async make() {
        const dir = await mkdtemp(join(tmpdir(), `mailroom-${label}-`));
        return {
          open: () => openStore({ ...common, backend: "sqlite", sqlitePath: join(dir, "mail.sqlite") }),
          drop: () => rm(dir, { recursive: true, force: true }),
        };
      },
    },
    {
      name: "postgres",
      async make() {
        const schema = randomSchemaName(label);
        return {
          open: () =>
            openStore({ ...common, backend: "postgres", postgresUrl: PG_URL, postgresSchema: schema }),
          async drop() {
            const admin = await openPostgres(PG_URL, { poolSize: 1 });
            try {
              await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            } finally {
              await admin.close();
            }
          },
        };
      },
    },
  ];
}
