// The one ingest path: default INBOX, keywords normalized, size limit, quota refusals that
// do not sink the rest of a group commit, order kept, and batching of concurrent requests.
import assert from "node:assert/strict";
import { test } from "node:test";
import { systemClock } from "../../src/core/clock.ts";
import { isStoreError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { Ingest, normalizeKeywords } from "../../src/delivery/ingest.ts";
import { openStore } from "../../src/store/open.ts";
import type { MailStore } from "../../src/store/types.ts";
import { tempDir } from "../helpers/cli.ts";

function msg(i: number, pad = 0): Buffer {
  return Buffer.from(
    `From: a${i}@example.org\r\nTo: b@example.org\r\nSubject: m${i}\r\nMessage-ID: <i${i}@x>\r\n\r\nbody ${i}${"x".repeat(pad)}\r\n`,
  );
}

async function withStore(fn: (store: MailStore) => Promise<void>): Promise<void> {
  const t = await tempDir();
  const store = await openStore({
    backend: "sqlite",
    sqlitePath: `${t.dir}/m.sqlite`,
    blobs: "fs",
    blobDir: `${t.dir}/blobs`,
    clock: systemClock,
    logger: silentLogger(),
  });
  try {
    await fn(store);
  } finally {
    await store.close();
    await t.cleanup();
  }
}

void test("keywords: system flags canonical, \\Recent dropped, sorted and unique", () => {
  assert.deepEqual(normalizeKeywords(["\\SEEN", "$Junk", "\\recent", "\\seen", "work", "\\flagged"]), [
    "$Junk",
    "\\Flagged",
    "\\Seen",
    "work",
  ]);
});

void test("ingest stores into INBOX by default, in order, batching concurrent requests", async () => {
  await withStore(async (store) => {
    await store.createDomain("example.org");
    const acc = await store.createAccount({ name: "b@example.org" });
    let batches = 0;
    const orig = store.appendEmails.bind(store);
    store.appendEmails = async (id, inputs) => {
      batches++;
      return orig(id, inputs);
    };
    const ingest = new Ingest({ store, clock: systemClock, logger: silentLogger(), maxMessageSize: 1 << 20 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        ingest.ingest({ accountId: acc.id, raw: msg(i), source: "smtp", keywords: i % 2 ? ["\\seen"] : [] }),
      ),
    );
    assert.ok(batches < 50, `200 concurrent messages took ${batches} transactions`);
    const inbox = (await store.listMailboxes(acc.id)).find((m) => m.role === "inbox")!;
    const rows = await store.listMessages(acc.id, inbox.id);
    assert.equal(rows.length, 200);
    // UIDs follow the order of the requests.
    assert.deepEqual(
      rows.map((r) => r.emailId),
      results.map((r) => r.emailId),
    );
    assert.deepEqual(rows[1]!.keywords, ["\\Seen"]);
    assert.equal((await store.getMailbox(acc.id, inbox.id))!.unseenEmails, 100);
  });
});

void test("a too-big message is refused before storing; a quota refusal leaves the rest of the batch", async () => {
  await withStore(async (store) => {
    await store.createDomain("example.org");
    const acc = await store.createAccount({ name: "b@example.org", quotaMessages: 5 });
    const ingest = new Ingest({
      store,
      clock: systemClock,
      logger: silentLogger(),
      maxMessageSize: () => 2000,
    });
    await assert.rejects(ingest.ingest({ accountId: acc.id, raw: msg(0, 5000), source: "smtp" }), (e) =>
      isStoreError(e, "TOOBIG"),
    );
    const settled = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => ingest.ingest({ accountId: acc.id, raw: msg(i), source: "lmtp" })),
    );
    assert.equal(settled.filter((s) => s.status === "fulfilled").length, 5);
    for (const s of settled.filter((x) => x.status === "rejected")) {
      assert.ok(isStoreError(s.reason, "NOQUOTA"));
    }
    assert.equal((await store.getAccount(acc.id))!.usedMessages, 5);
  });
});

void test("a request for an unknown mailbox fails alone, the others of its batch are stored", async () => {
  await withStore(async (store) => {
    await store.createDomain("example.org");
    const acc = await store.createAccount({ name: "b@example.org" });
    const ingest = new Ingest({ store, clock: systemClock, logger: silentLogger(), maxMessageSize: 1 << 20 });
    const settled = await Promise.allSettled([
      ingest.ingest({ accountId: acc.id, raw: msg(1), source: "imap-append" }),
      ingest.ingest({ accountId: acc.id, raw: msg(2), source: "imap-append", mailboxIds: ["nope"] }),
      ingest.ingest({ accountId: acc.id, raw: msg(3), source: "imap-append" }),
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.equal((await store.getAccount(acc.id))!.usedMessages, 2);
  });
});
