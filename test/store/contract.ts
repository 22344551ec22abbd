// The store contract suite: the invariants of src/store/types.ts, proved through the public
// MailStore API only, so every backend runs it unchanged (sqlite.test.ts, postgres.test.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { isStoreError } from "../../src/core/errors.ts";
import type { ChangeEvent, Id, MailStore } from "../../src/store/types.ts";
import { isAppendError } from "../../src/store/types.ts";
import { randomOperations } from "./contract-random.ts";
import { append, checkInvariants, inbox, input, ok, rawMessage } from "./helpers.ts";

export interface StoreHandle {
  store: MailStore;
  cleanup(): Promise<void>;
  /** Closes the store and opens it again on the same data (optional; restart tests need it). */
  reopen?(): Promise<MailStore>;
}

export type MakeStore = () => Promise<StoreHandle>;

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isStoreError(e), `expected StoreError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

async function withStore(make: MakeStore, fn: (h: StoreHandle) => Promise<void>): Promise<void> {
  const h = await make();
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

/** Registers one contract test (with a store of its own). */
export type ContractTest = (title: string, fn: (h: StoreHandle) => Promise<void>) => void;

export function runContract(name: string, makeStore: MakeStore): void {
  const it: ContractTest = (title, fn) => {
    void test(title, () => withStore(makeStore, fn));
  };

  void describe(`store contract: ${name}`, () => {
    it("creates default mailboxes with roles; INBOX is case-insensitive", async ({ store }) => {
      const a = await store.createAccount({ name: "alice@example.org" });
      assert.deepEqual(a.addresses, ["alice@example.org"]);
      const boxes = await store.listMailboxes(a.id);
      const roles = new Map(boxes.map((b) => [b.role, b.name]));
      for (const [role, n] of [
        ["inbox", "INBOX"],
        ["drafts", "Drafts"],
        ["sent", "Sent"],
        ["junk", "Junk"],
        ["trash", "Trash"],
        ["archive", "Archive"],
      ]) {
        assert.equal(roles.get(role as never), n);
      }
      const i1 = await store.getMailboxByPath(a.id, "inbox");
      const i2 = await store.getMailboxByPath(a.id, "INBOX");
      assert.ok(i1 && i2);
      assert.equal(i1.id, i2.id);
      await rejects(store.createMailbox(a.id, { name: "Inbox" }), "EXISTS");
      await rejects(store.createAccount({ name: "alice@example.org" }), "EXISTS");
      assert.equal((await store.getAccountByAddress("ALICE@example.org"))?.id, a.id);
      assert.equal((await store.getAccountByName("alice@EXAMPLE.org"))?.id, a.id);
    });

    it("mailbox names: no '/', no empty name, siblings unique, no loops", async ({ store }) => {
      const a = await store.createAccount({ name: "bob@example.org" });
      await rejects(store.createMailbox(a.id, { name: "a/b" }), "INVALID");
      await rejects(store.createMailbox(a.id, { name: "" }), "INVALID");
      const p = await store.createMailbox(a.id, { name: "Projects" });
      const c = await store.createMailbox(a.id, { name: "2026", parentId: p.id });
      await rejects(store.createMailbox(a.id, { name: "2026", parentId: p.id }), "EXISTS");
      await rejects(store.updateMailbox(a.id, p.id, { parentId: c.id }), "INVALID");
      await rejects(store.updateMailbox(a.id, p.id, { parentId: p.id }), "INVALID");
      assert.equal(await store.mailboxPath(a.id, c.id), "Projects/2026");
      assert.equal((await store.getMailboxByPath(a.id, "Projects/2026"))?.id, c.id);
      // A child of INBOX is fine; INBOX itself cannot be renamed or deleted here.
      const ib = await inbox(store, a.id);
      await store.createMailbox(a.id, { name: "Sub", parentId: ib });
      assert.ok(await store.getMailboxByPath(a.id, "inbox/Sub"));
      await rejects(store.updateMailbox(a.id, ib, { name: "Other" }), "INVALID");
    });

    it("UIDs strictly increase and are never reused, also after expunge and reopen", async (h) => {
      let store = h.store;
      const a = await store.createAccount({ name: "u@example.org" });
      const box = await inbox(store, a.id);
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await append(store, a.id, [box])).uids[0]!.uid);
      const all = (await store.listMessages(a.id, box)).map((r) => r.uid);
      await store.expunge(a.id, box, all.slice(2));
      const next = (await append(store, a.id, [box])).uids[0]!.uid;
      assert.ok(next > Math.max(...seen));
      seen.push(next);
      if (h.reopen) {
        store = await h.reopen();
        await store.expunge(a.id, box, [next]);
        const again = (await append(store, a.id, [box])).uids[0]!.uid;
        assert.ok(again > next, "UID after reopen");
        seen.push(again);
      }
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!);
      const mb = await store.getMailbox(a.id, box);
      assert.ok(mb && mb.uidNext > seen[seen.length - 1]!);
      await checkInvariants(store, a.id);
    });

    it("modseq strictly increases and every change carries one", async ({ store }) => {
      const a = await store.createAccount({ name: "m@example.org" });
      const box = await inbox(store, a.id);
      const mods: number[] = [await store.currentModSeq(a.id)];
      const r1 = await append(store, a.id, [box]);
      mods.push(r1.modseq);
      mods.push((await store.setKeywords(a.id, [r1.emailId], { add: ["\\Seen"] })).modseq);
      const sub = await store.createMailbox(a.id, { name: "X" });
      mods.push(await store.currentModSeq(a.id));
      mods.push((await store.copyEmails(a.id, [r1.emailId], sub.id)).modseq);
      mods.push((await store.expunge(a.id, sub.id, [1])).modseq);
      for (let i = 1; i < mods.length; i++) assert.ok(mods[i]! > mods[i - 1]!, `modseq ${mods.join(",")}`);
      const { changes, modseq } = await store.changesSince(a.id, 0);
      assert.equal(modseq, mods[mods.length - 1]);
      for (const c of changes) assert.ok(c.modseq > 0 && c.modseq <= modseq);
      const ids = new Set(changes.map((c) => `${c.type}:${c.id}`));
      assert.ok(ids.has(`Email:${r1.emailId}`));
      assert.ok(ids.has(`Thread:${r1.threadId}`));
      assert.ok(ids.has(`Mailbox:${sub.id}`));
      // A no-op keyword change does not bump.
      const before = await store.currentModSeq(a.id);
      const noop = await store.setKeywords(a.id, [r1.emailId], { add: ["\\Seen"] });
      assert.equal(noop.modseq, before);
      assert.deepEqual(noop.updated, []);
    });

    it("expungedSince gives every expunge since a modseq; changedMessages the changes", async ({ store }) => {
      const a = await store.createAccount({ name: "e@example.org" });
      const box = await inbox(store, a.id);
      const rs = [];
      for (let i = 0; i < 6; i++) rs.push(await append(store, a.id, [box]));
      const m0 = await store.currentModSeq(a.id);
      const e1 = await store.expunge(a.id, box, [2, 4]);
      assert.deepEqual(e1.uids, [2, 4]);
      const m1 = await store.currentModSeq(a.id);
      await store.expunge(a.id, box, [5, 99]);
      assert.deepEqual(await store.expungedSince(a.id, box, m0), [2, 4, 5]);
      assert.deepEqual(await store.expungedSince(a.id, box, m1), [5]);
      assert.deepEqual(await store.expungedSince(a.id, box, await store.currentModSeq(a.id)), []);
      await store.setKeywords(a.id, [rs[0]!.emailId], { add: ["$Important"] });
      const changed = await store.changedMessages(a.id, box, m1 + 1);
      assert.deepEqual(
        changed.map((r) => r.uid),
        [1],
      );
      assert.ok(changed[0]!.modseq > m1);
      await checkInvariants(store, a.id);
    });

    it("an email in two mailboxes has one id and two UIDs", async ({ store }) => {
      const a = await store.createAccount({ name: "two@example.org" });
      const box = await inbox(store, a.id);
      const arch = (await store.getMailboxByPath(a.id, "Archive"))!.id;
      const r = ok((await store.appendEmails(a.id, [input(rawMessage(), [box, arch])]))[0]!);
      assert.equal(r.uids.length, 2);
      const e = (await store.getEmails(a.id, [r.emailId]))[0]!;
      assert.deepEqual([...e.mailboxIds].sort(), [box, arch].sort());
      const l1 = await store.listMessages(a.id, box);
      const l2 = await store.listMessages(a.id, arch);
      assert.equal(l1[0]!.emailId, l2[0]!.emailId);
      // Copy of an email into another mailbox keeps its id too.
      const sent = (await store.getMailboxByPath(a.id, "Sent"))!.id;
      const c = await store.copyEmails(a.id, [r.emailId], sent);
      assert.equal(c.copied[0]!.emailId, r.emailId);
      const acct = await store.getAccount(a.id);
      assert.equal(acct!.usedMessages, 1);
      assert.equal(acct!.usedBytes, r.size);
      await checkInvariants(store, a.id);
    });

    it("listMessages withEnvelope lists rows and envelopes in UID order, from a UID", async ({ store }) => {
      const a = await store.createAccount({ name: "env@example.org" });
      const box = await inbox(store, a.id);
      for (let i = 1; i <= 5; i++) await append(store, a.id, [box], { subject: `n${i}` });
      const plain = await store.listMessages(a.id, box);
      const rows = await store.listMessages(a.id, box, { withEnvelope: true });
      assert.deepEqual(
        rows.map((r) => r.uid),
        plain.map((r) => r.uid),
      );
      assert.deepEqual(
        rows.map((r) => r.envelope?.subject),
        ["n1", "n2", "n3", "n4", "n5"],
      );
      const env = await store.getEnvelopes(a.id, [rows[2]!.emailId]);
      assert.deepEqual(rows[2]!.envelope, env.get(rows[2]!.emailId));
      const tail = await store.listMessages(a.id, box, { fromUid: rows[3]!.uid, withEnvelope: true });
      assert.deepEqual(
        tail.map((r) => r.envelope?.subject),
        ["n4", "n5"],
      );
    });

    it("copy into a mailbox that holds the email makes a new email sharing the blob", async ({ store }) => {
      const a = await store.createAccount({ name: "cp@example.org" });
      const box = await inbox(store, a.id);
      const r = await append(store, a.id, [box], {}, ["\\Seen", "$Label"]);
      const c = await store.copyEmails(a.id, [r.emailId], box);
      const copy = c.copied[0]!;
      assert.notEqual(copy.emailId, r.emailId);
      assert.ok(copy.uid > r.uids[0]!.uid);
      const [e1, e2] = await store.getEmails(a.id, [r.emailId, copy.emailId]);
      assert.equal(e1!.blobId, e2!.blobId);
      assert.equal(e1!.threadId, e2!.threadId);
      assert.deepEqual(e2!.keywords, ["$Label", "\\Seen"]);
      assert.deepEqual(await store.getRaw(a.id, copy.emailId), await store.getRaw(a.id, r.emailId));
      assert.equal((await store.getAccount(a.id))!.usedMessages, 2);
      await checkInvariants(store, a.id);
    });

    it("rename and move under another parent keep ids, UIDVALIDITY and children", async ({ store }) => {
      const a = await store.createAccount({ name: "ren@example.org" });
      const p = await store.createMailbox(a.id, { name: "P" });
      const c = await store.createMailbox(a.id, { name: "C", parentId: p.id });
      const r = await append(store, a.id, [c.id]);
      const q = await store.createMailbox(a.id, { name: "Q" });
      const p2 = await store.updateMailbox(a.id, p.id, { name: "P2", parentId: q.id });
      assert.equal(p2.id, p.id);
      assert.equal(p2.uidValidity, p.uidValidity);
      assert.equal(await store.mailboxPath(a.id, c.id), "Q/P2/C");
      const c2 = await store.getMailbox(a.id, c.id);
      assert.equal(c2!.uidValidity, c.uidValidity);
      assert.equal((await store.listMessages(a.id, c.id))[0]!.emailId, r.emailId);
      await rejects(store.updateMailbox(a.id, q.id, { parentId: c.id }), "INVALID");
      // Back to the root.
      const back = await store.updateMailbox(a.id, p.id, { parentId: null });
      assert.equal(back.parentId, null);
      assert.equal(await store.mailboxPath(a.id, c.id), "P2/C");
      // A deleted and re-created name gets another UIDVALIDITY.
      await store.deleteMailbox(a.id, q.id);
      const q2 = await store.createMailbox(a.id, { name: "Q" });
      assert.notEqual(q2.uidValidity, q.uidValidity);
    });

    it("deleteMailbox refuses a mailbox with children and destroys emails only there", async ({ store }) => {
      const a = await store.createAccount({ name: "del@example.org" });
      const p = await store.createMailbox(a.id, { name: "P" });
      const c = await store.createMailbox(a.id, { name: "C", parentId: p.id });
      await rejects(store.deleteMailbox(a.id, p.id), "INVALID");
      const box = await inbox(store, a.id);
      const only = await append(store, a.id, [c.id]);
      const both = ok((await store.appendEmails(a.id, [input(rawMessage(), [c.id, box])]))[0]!);
      await store.deleteMailbox(a.id, c.id);
      assert.equal(await store.getMailbox(a.id, c.id), null);
      assert.deepEqual(await store.getEmails(a.id, [only.emailId]), []);
      assert.deepEqual((await store.getEmails(a.id, [both.emailId]))[0]!.mailboxIds, [box]);
      await store.deleteMailbox(a.id, p.id);
      await checkInvariants(store, a.id);
    });

    it("a quota overrun (bytes or messages) leaves nothing behind", async ({ store }) => {
      const a = await store.createAccount({ name: "q@example.org", quotaBytes: 5000, quotaMessages: 3 });
      const box = await inbox(store, a.id);
      await append(store, a.id, [box], { size: 1000 });
      const snapshot = async (): Promise<unknown> => ({
        modseq: await store.currentModSeq(a.id),
        acct: await store.getAccount(a.id),
        boxes: await store.listMailboxes(a.id),
        list: await store.listMessages(a.id, box),
      });
      const before = await snapshot();
      const big = rawMessage({ size: 4500 });
      const [r] = await store.appendEmails(a.id, [input(big, [box])]);
      assert.ok(r && isAppendError(r));
      assert.equal(r.error.code, "NOQUOTA");
      assert.equal(await store.blobs.has(createHash("sha256").update(big).digest("hex")), false);
      assert.deepEqual(await snapshot(), before);
      // Messages: 2 more fit, the third in the same batch does not.
      const batch = [rawMessage(), rawMessage(), rawMessage()];
      const rs = await store.appendEmails(
        a.id,
        batch.map((raw) => input(raw, [box])),
      );
      assert.equal(rs.filter((x) => !isAppendError(x)).length, 2);
      const refused = rs[2]!;
      assert.ok(isAppendError(refused) && refused.error.code === "NOQUOTA");
      assert.equal((await store.getAccount(a.id))!.usedMessages, 3);
      await checkInvariants(store, a.id);
      // Destroying frees quota: the refused message fits afterwards.
      const first = (await store.listMessages(a.id, box))[0]!;
      const d = await store.destroyEmails(a.id, [first.emailId]);
      assert.deepEqual(d.destroyed, [first.emailId]);
      assert.equal((await store.getAccount(a.id))!.usedMessages, 2);
      ok((await store.appendEmails(a.id, [input(batch[2]!, [box])]))[0]!);
      await checkInvariants(store, a.id);
    });

    it("destroy frees quota, removes the email everywhere and leaves tombstones", async ({ store }) => {
      const a = await store.createAccount({ name: "d@example.org" });
      const box = await inbox(store, a.id);
      const arch = (await store.getMailboxByPath(a.id, "Archive"))!.id;
      const r = ok((await store.appendEmails(a.id, [input(rawMessage({ size: 3000 }), [box, arch])]))[0]!);
      assert.equal((await store.getAccount(a.id))!.usedBytes, r.size);
      const m0 = await store.currentModSeq(a.id);
      await store.destroyEmails(a.id, [r.emailId, "nonexistent"]);
      const acct = (await store.getAccount(a.id))!;
      assert.equal(acct.usedBytes, 0);
      assert.equal(acct.usedMessages, 0);
      assert.deepEqual(await store.expungedSince(a.id, box, m0), [1]);
      assert.deepEqual(await store.expungedSince(a.id, arch, m0), [1]);
      const { changes } = await store.changesSince(a.id, m0);
      assert.ok(changes.some((c) => c.type === "Email" && c.id === r.emailId && c.op === "destroyed"));
      assert.ok(changes.some((c) => c.type === "Thread" && c.id === r.threadId && c.op === "destroyed"));
      await checkInvariants(store, a.id);
    });

    it("moves atomically: same id, new UID, source expunged", async ({ store }) => {
      const a = await store.createAccount({ name: "mv@example.org" });
      const box = await inbox(store, a.id);
      const trash = (await store.getMailboxByPath(a.id, "Trash"))!.id;
      const r = await append(store, a.id, [box]);
      const mv = await store.moveEmails(a.id, box, [r.emailId], trash);
      assert.equal(mv.copy.copied[0]!.emailId, r.emailId);
      assert.deepEqual(mv.expunge.uids, [r.uids[0]!.uid]);
      assert.deepEqual((await store.getEmails(a.id, [r.emailId]))[0]!.mailboxIds, [trash]);
      await rejects(store.moveEmails(a.id, box, [r.emailId], trash), "NOTFOUND");
      await checkInvariants(store, a.id);
    });

    it("setKeywords: add/remove/set, case-insensitive flags, UNCHANGEDSINCE conflicts", async ({ store }) => {
      const a = await store.createAccount({ name: "kw@example.org" });
      const box = await inbox(store, a.id);
      const r1 = await append(store, a.id, [box]);
      const r2 = await append(store, a.id, [box]);
      const m = await store.currentModSeq(a.id);
      const s1 = await store.setKeywords(a.id, [r1.emailId], { add: ["\\seen", "$Work"] });
      assert.deepEqual(s1.updated, [r1.emailId]);
      assert.deepEqual((await store.getEmails(a.id, [r1.emailId]))[0]!.keywords, ["$Work", "\\Seen"]);
      assert.deepEqual([...s1.keywords], [[r1.emailId, ["$Work", "\\Seen"]]]);
      // r1 changed after m: conflict; r2 did not: updated.
      const s2 = await store.setKeywords(
        a.id,
        [r1.emailId, r2.emailId],
        { add: ["\\Flagged"] },
        { unchangedSince: m },
      );
      assert.deepEqual(s2.conflicts, [r1.emailId]);
      assert.deepEqual(s2.updated, [r2.emailId]);
      // A copy elsewhere is no flag change here: UNCHANGEDSINCE the listed MODSEQ still works.
      await store.copyEmails(a.id, [r2.emailId], (await store.getMailboxByPath(a.id, "Archive"))!.id);
      const listed = (await store.listMessages(a.id, box)).find((x) => x.emailId === r2.emailId)!;
      const s4 = await store.setKeywords(
        a.id,
        [r2.emailId],
        { add: ["$Later"] },
        { unchangedSince: listed.modseq },
      );
      assert.deepEqual(s4.updated, [r2.emailId]);
      const s3 = await store.setKeywords(a.id, [r1.emailId], { remove: ["$work"] });
      assert.deepEqual(s3.updated, [r1.emailId]);
      await store.setKeywords(a.id, [r2.emailId], { set: ["\\Seen"] });
      assert.deepEqual((await store.getEmails(a.id, [r2.emailId]))[0]!.keywords, ["\\Seen"]);
      await rejects(store.setKeywords(a.id, [r2.emailId], { add: ["\\Recent"] }), "INVALID");
      await rejects(store.setKeywords(a.id, [r2.emailId], { add: ["bad keyword"] }), "INVALID");
      assert.equal((await store.getMailbox(a.id, box))!.unseenEmails, 0);
      await checkInvariants(store, a.id);
    });

    it("setKeywords without waiting for the disk: visible at once, published in commit order", async ({
      store,
    }) => {
      const a = await store.createAccount({ name: "kwfast@example.org" });
      const box = await inbox(store, a.id);
      const r1 = await append(store, a.id, [box]);
      const events: ChangeEvent[] = [];
      const unsub = store.changes.subscribe(a.id, (e) => events.push(e));
      const s1 = await store.setKeywords(a.id, [r1.emailId], { add: ["\\Seen"] }, { waitDurable: false });
      assert.deepEqual(s1.updated, [r1.emailId]);
      // Committed: every reader sees it before the disk sync.
      assert.deepEqual((await store.getEmails(a.id, [r1.emailId]))[0]!.keywords, ["\\Seen"]);
      assert.equal((await store.getMailbox(a.id, box))!.unseenEmails, 0);
      // A later write that waits is durable, and so is everything committed before it; the
      // events come in commit order, the flag change's first.
      const r2 = await append(store, a.id, [box]);
      const mods = events.map((e) => e.modseq);
      assert.deepEqual(mods, [s1.modseq, r2.modseq]);
      unsub();
      await checkInvariants(store, a.id);
    });

    it("eight concurrent writers keep every invariant", async ({ store }) => {
      const a = await store.createAccount({ name: "conc@example.org" });
      const box = await inbox(store, a.id);
      const arch = (await store.getMailboxByPath(a.id, "Archive"))!.id;
      for (let i = 0; i < 20; i++) await append(store, a.id, [box]);
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; i < 12; i++) {
          const list = await store.listMessages(a.id, box);
          const pick = list[(w * 7 + i * 3) % Math.max(1, list.length)];
          try {
            switch ((w + i) % 4) {
              case 0:
                await store.appendEmails(a.id, [
                  input(rawMessage(), [box]),
                  input(rawMessage(), [box, arch]),
                ]);
                break;
              case 1:
                if (pick) await store.setKeywords(a.id, [pick.emailId], { add: ["\\Seen"], remove: ["$X"] });
                break;
              case 2:
                if (pick) await store.moveEmails(a.id, box, [pick.emailId], arch);
                break;
              default:
                if (pick) await store.expunge(a.id, box, [pick.uid]);
            }
          } catch (e) {
            // Another writer removed the message first: fine.
            if (!isStoreError(e, "NOTFOUND")) throw e;
          }
        }
      };
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(writer));
      await checkInvariants(store, a.id);
      const { changes } = await store.changesSince(a.id, 0);
      const mods = changes.map((c) => c.modseq);
      for (let i = 1; i < mods.length; i++) assert.ok(mods[i]! >= mods[i - 1]!);
    });

    it("changesSince pages with hasMore and never splits a modseq", async ({ store }) => {
      const a = await store.createAccount({ name: "pg@example.org" });
      const box = await inbox(store, a.id);
      const start = await store.currentModSeq(a.id);
      for (let i = 0; i < 10; i++) await append(store, a.id, [box]);
      const seen: string[] = [];
      let since = start;
      let pages = 0;
      for (;;) {
        const page = await store.changesSince(a.id, since, { types: ["Email"], limit: 3 });
        pages++;
        for (const c of page.changes) {
          assert.ok(c.modseq > since);
          seen.push(c.id);
        }
        assert.ok(page.modseq > since || !page.hasMore);
        since = page.modseq;
        if (!page.hasMore) break;
        assert.ok(pages < 20);
      }
      assert.ok(pages >= 4);
      assert.equal(new Set(seen).size, 10);
      assert.equal(since, await store.currentModSeq(a.id));
      // A batch is one modseq: a page larger than the limit is returned whole.
      const m = await store.currentModSeq(a.id);
      await store.appendEmails(
        a.id,
        [1, 2, 3, 4, 5].map(() => input(rawMessage(), [box])),
      );
      const big = await store.changesSince(a.id, m, { types: ["Email"], limit: 2 });
      assert.equal(big.changes.length, 5);
      assert.equal(big.hasMore, false);
      await rejects(store.changesSince(a.id, (await store.currentModSeq(a.id)) + 5), "LIMIT");
    });

    it("resolveRecipient: addresses, aliases (loops cut), subaddress, catch-all, forwards", async ({
      store,
    }) => {
      await store.createDomain("example.org");
      const a = await store.createAccount({ name: "ann@example.org" });
      const b = await store.createAccount({
        name: "ben@example.org",
        addresses: ["ben@example.org", "b@example.org"],
      });
      const r0 = await store.resolveRecipient("Ann@Example.org");
      assert.deepEqual(r0, { accountIds: [a.id], external: [], detail: null });
      assert.deepEqual((await store.resolveRecipient("b@example.org"))?.accountIds, [b.id]);
      await store.setAlias({
        address: "team@example.org",
        targets: ["ann@example.org", "ben@example.org", "x@other.net"],
      });
      const team = await store.resolveRecipient("team@example.org");
      assert.deepEqual([...team!.accountIds].sort(), [a.id, b.id].sort());
      assert.deepEqual(team!.external, ["x@other.net"]);
      // A loop: l1 -> l2 -> l1 and ann.
      await store.setAlias({ address: "l1@example.org", targets: ["l2@example.org"] });
      await store.setAlias({ address: "l2@example.org", targets: ["l1@example.org", "ann@example.org"] });
      assert.deepEqual((await store.resolveRecipient("l1@example.org"))?.accountIds, [a.id]);
      await store.setAlias({ address: "z1@example.org", targets: ["z2@example.org"] });
      await store.setAlias({ address: "z2@example.org", targets: ["z1@example.org"] });
      assert.equal(await store.resolveRecipient("z1@example.org"), null);
      // RFC 5233 subaddress.
      const sub = await store.resolveRecipient("ann+lists@example.org");
      assert.deepEqual(sub, { accountIds: [a.id], external: [], detail: "lists" });
      assert.deepEqual(
        (await store.resolveRecipient("ann-x@example.org", { subaddressSeparator: "-" }))?.detail,
        "x",
      );
      // Unknown without catch-all; the catch-all once set.
      assert.equal(await store.resolveRecipient("nobody@example.org"), null);
      await store.updateDomain("example.org", { catchAll: "ben@example.org" });
      assert.deepEqual((await store.resolveRecipient("nobody@example.org"))?.accountIds, [b.id]);
      assert.equal(await store.resolveRecipient("nobody@elsewhere.org"), null);
      const aliases = await store.listAliases("example.org");
      assert.ok(aliases.some((x) => x.address === "team@example.org" && x.targets.length === 3));
      await rejects(store.setAlias({ address: "ann@example.org", targets: ["ben@example.org"] }), "EXISTS");
      await rejects(store.deleteDomain("example.org"), "INVALID");
      await store.removeAlias("team@example.org");
      assert.equal(
        (await store.listAliases()).some((x) => x.address === "team@example.org"),
        false,
      );
    });

    it("threads by Message-ID/References with matching base subject", async ({ store }) => {
      const a = await store.createAccount({ name: "th@example.org" });
      const box = await inbox(store, a.id);
      const root = await append(store, a.id, [box], { messageId: "root@x", subject: "Plans" });
      const reply = await append(store, a.id, [box], {
        inReplyTo: "root@x",
        references: "<root@x>",
        subject: "Re: Plans",
      });
      assert.equal(reply.threadId, root.threadId);
      const other = await append(store, a.id, [box], { inReplyTo: "root@x", subject: "Something else" });
      assert.notEqual(other.threadId, root.threadId);
      // A reply arriving before its parent: the parent joins the reply's thread.
      const early = await append(store, a.id, [box], { inReplyTo: "late@x", subject: "Re: Late" });
      const late = await append(store, a.id, [box], { messageId: "late@x", subject: "Late" });
      assert.equal(late.threadId, early.threadId);
      const unrelated = await append(store, a.id, [box], { subject: "Plans" });
      assert.notEqual(unrelated.threadId, root.threadId);
    });

    it("accounts, credentials and domains", async ({ store }) => {
      const d = await store.createDomain("Example.NET");
      assert.equal(d.name, "example.net");
      await rejects(store.createDomain("example.net"), "EXISTS");
      const a = await store.createAccount({ name: "c@example.net", quotaBytes: 100 });
      const cred = { kind: "password" as const, argon2: "$argon2id$x", createdAt: 1 };
      const id1 = await store.addCredential(a.id, cred);
      await store.addCredential(a.id, { ...cred, kind: "app-password", label: "phone" });
      await store.setPassword(a.id, { ...cred, argon2: "$argon2id$y" });
      const creds = await store.listCredentials(a.id);
      assert.equal(creds.length, 2);
      assert.ok(!creds.some((c) => c.id === id1));
      assert.ok(creds.some((c) => c.credential.kind === "password" && c.credential.argon2 === "$argon2id$y"));
      const u = await store.updateAccount(a.id, {
        displayName: "C",
        addresses: ["c@example.net", "c2@example.net"],
        quotaBytes: null,
      });
      assert.deepEqual(u.addresses, ["c@example.net", "c2@example.net"]);
      assert.equal(u.quotaBytes, null);
      const other = await store.createAccount({ name: "o@example.net" });
      await rejects(store.updateAccount(other.id, { addresses: ["c2@example.net"] }), "EXISTS");
      await store.removeCredential(a.id, creds[0]!.id);
      assert.equal((await store.listCredentials(a.id)).length, 1);
      await append(store, a.id, [await inbox(store, a.id)]);
      await store.deleteAccount(a.id);
      assert.equal(await store.getAccount(a.id), null);
      assert.equal(await store.resolveRecipient("c2@example.net"), null);
      await store.deleteAccount(other.id);
      await store.deleteDomain("example.net");
      assert.deepEqual(await store.listDomains(), []);
    });

    it("publishes each commit on the bus after it, in commit order", async ({ store }) => {
      const a = await store.createAccount({ name: "bus@example.org" });
      const box = await inbox(store, a.id);
      const events: ChangeEvent[] = [];
      const unsub = store.changes.subscribe(a.id, (e) => {
        events.push(e);
        throw new Error("a listener failing must not break the writer");
      });
      const all: ChangeEvent[] = [];
      const unsubAll = store.changes.subscribe("*", (e) => all.push(e));
      // Concurrent appends may share a transaction (group commit): one event, one modseq.
      const concurrent = await Promise.all([1, 2, 3, 4].map(() => append(store, a.id, [box])));
      const r = await append(store, a.id, [box]);
      for (const c of concurrent) {
        const ev = events.find((e) => e.modseq === c.modseq);
        assert.ok(
          ev?.changes.some((x) => x.id === c.emailId),
          "each append is in the event of its modseq",
        );
      }
      // The event of a write is out when the write resolves and it is committed.
      const last = events[events.length - 1]!;
      assert.equal(last.modseq, r.modseq);
      assert.ok(last.mailboxIds.includes(box));
      assert.ok(last.changes.some((c) => c.id === r.emailId));
      assert.equal(await store.currentModSeq(a.id), r.modseq);
      const mods = events.map((e) => e.modseq);
      assert.deepEqual(
        mods,
        [...mods].sort((x, y) => x - y),
      );
      assert.equal(new Set(mods).size, mods.length, "one event per commit");
      assert.equal(all.length, events.length);
      const count = events.length;
      unsub();
      unsubAll();
      await append(store, a.id, [box]);
      assert.equal(events.length, count);
    });

    it("concurrent appends to several accounts: each its own modseq, event and quota", async ({ store }) => {
      const accts = await Promise.all(
        ["g1", "g2", "g3"].map((n, i) =>
          store.createAccount({ name: `${n}@example.org`, ...(i === 2 ? { quotaMessages: 2 } : {}) }),
        ),
      );
      const boxes = await Promise.all(accts.map((a) => inbox(store, a.id)));
      const before = await Promise.all(accts.map((a) => store.currentModSeq(a.id)));
      const events: ChangeEvent[] = [];
      const unsub = store.changes.subscribe("*", (e) => events.push(e));
      // Three rounds of one message per account and call, all started at once (the same
      // round of group commit on SQLite, where one transaction carries every account).
      const calls = [0, 1, 2].flatMap(() =>
        accts.map((a, i) => store.appendEmails(a.id, [input(rawMessage(), [boxes[i]!])])),
      );
      const results = (await Promise.all(calls)).map((r) => r[0]!);
      unsub();
      // The third account holds two messages: one of its three appends is refused.
      const refused = results.filter(
        (r, k) => isAppendError(r) && (k % 3 !== 2 || r.error.code !== "NOQUOTA"),
      );
      assert.deepEqual(refused, []);
      assert.equal(results.filter(isAppendError).length, 1);
      for (const [i, a] of accts.entries()) {
        const mine = events.filter((e) => e.accountId === a.id);
        const mods = mine.map((e) => e.modseq);
        assert.equal(new Set(mods).size, mods.length, "one event per modseq");
        assert.deepEqual(
          mods,
          [...mods].sort((x, y) => x - y),
        );
        assert.equal(mods[mods.length - 1], await store.currentModSeq(a.id));
        assert.ok(mods.every((m) => m > before[i]!));
        const created = mine.flatMap((e) => e.changes.filter((c) => c.type === "Email").map((c) => c.id));
        const stored = results.filter((_, k) => k % 3 === i && !isAppendError(_)).map((r) => ok(r).emailId);
        assert.deepEqual(created.sort(), stored.sort());
        await checkInvariants(store, a.id);
      }
      // An account deleted while its append waits fails only its own append.
      const [x, y] = await Promise.all(
        ["gx", "gy"].map((n) => store.createAccount({ name: `${n}@example.org` })),
      );
      const [bx, by] = await Promise.all([inbox(store, x!.id), inbox(store, y!.id)]);
      const settled = await Promise.allSettled([
        store.appendEmails(x!.id, [input(rawMessage(), [bx])]),
        store.appendEmails(y!.id, [input(rawMessage(), [by])]),
        store.deleteAccount(y!.id),
      ]);
      assert.equal(settled[0].status, "fulfilled");
      ok(settled[0].value[0]!);
      const ry = settled[1];
      if (ry.status === "rejected") assert.ok(isStoreError(ry.reason, "NOTFOUND"), String(ry.reason));
      assert.equal(settled[2].status, "fulfilled");
      await checkInvariants(store, x!.id);
    });

    it("search: flags, headers, body, text, uid ranges, mailbox scope", async ({ store }) => {
      const a = await store.createAccount({ name: "s@example.org" });
      const box = await inbox(store, a.id);
      const arch = (await store.getMailboxByPath(a.id, "Archive"))!.id;
      const r1 = await append(store, a.id, [box], { subject: "Quarterly report", body: "numbers inside" }, [
        "\\Seen",
      ]);
      const r2 = await append(store, a.id, [box], {
        subject: "Lunch",
        body: "pizza at noon",
        from: "Carol <carol@x.org>",
      });
      const r3 = await append(store, a.id, [arch], { subject: "Old stuff", body: "PIZZA again" });
      const ids = async (q: Parameters<MailStore["search"]>[1], mailboxId?: Id): Promise<Id[]> =>
        (await store.search(a.id, q, mailboxId ? { mailboxId } : {})).map((h) => h.emailId).sort();
      assert.deepEqual(await ids({ op: "keyword", keyword: "\\seen" }), [r1.emailId]);
      assert.deepEqual(
        await ids({ op: "not", term: { op: "keyword", keyword: "\\Seen" } }),
        [r2.emailId, r3.emailId].sort(),
      );
      assert.deepEqual(await ids({ op: "body", text: "pizza" }), [r2.emailId, r3.emailId].sort());
      assert.deepEqual(await ids({ op: "body", text: "pizza" }, box), [r2.emailId]);
      assert.deepEqual(await ids({ op: "header", field: "subject", text: "REPORT" }), [r1.emailId]);
      assert.deepEqual(await ids({ op: "header", field: "from", text: "carol" }), [r2.emailId]);
      assert.deepEqual(await ids({ op: "text", text: "lunch" }), [r2.emailId]);
      assert.deepEqual(await ids({ op: "inMailbox", mailboxId: arch }), [r3.emailId]);
      const hits = await store.search(a.id, { op: "uid", ranges: [[2, 5]] }, { mailboxId: box });
      assert.deepEqual(hits, [{ emailId: r2.emailId, uid: 2 }]);
      assert.deepEqual(
        await ids({
          op: "and",
          terms: [
            { op: "size", larger: 10 },
            { op: "emailIds", ids: [r1.emailId, r3.emailId] },
          ],
        }),
        [r1.emailId, r3.emailId].sort(),
      );
      assert.equal((await store.search(a.id, { op: "all" }, { limit: 2 })).length, 2);
    });

    it("search: body text past the index's caps is found by scanning the stored message", async ({
      store,
    }) => {
      const a = await store.createAccount({ name: "big@example.org" });
      const box = await inbox(store, a.id);
      const arch = (await store.getMailboxByPath(a.id, "Archive"))!.id;
      // 2.1 million characters of text (CRLF read as LF): the index holds 2,000,000 of them, the
      // parse 2,097,152, and RFC 9051 §6.4.4 wants the rest found too. Grüße at the very end,
      // folded as the index folds.
      const line = "lorem ipsum dolor sit amet\r\n";
      const body = line.repeat(Math.ceil(2_200_000 / line.length)) + "Ende: GRÜSSE vom Zebraquux\r\n";
      const big = await append(store, a.id, [box], { subject: "Logs", body });
      const small = await append(store, a.id, [box], { subject: "Hi", body: "lorem ipsum, zebra" });
      const ids = async (q: Parameters<MailStore["search"]>[1], mailboxId?: Id): Promise<Id[]> =>
        (await store.search(a.id, q, mailboxId ? { mailboxId } : {})).map((h) => h.emailId).sort();
      assert.deepEqual(await ids({ op: "body", text: "zebraquux" }), [big.emailId]);
      assert.deepEqual(await ids({ op: "body", text: "grüsse vom" }, box), [big.emailId]);
      assert.deepEqual(await ids({ op: "text", text: "ZEBRAQUUX" }), [big.emailId]);
      assert.deepEqual(await ids({ op: "not", term: { op: "body", text: "zebraquux" } }), [small.emailId]);
      assert.deepEqual(
        await ids({
          op: "or",
          terms: [
            { op: "body", text: "quux" },
            { op: "header", field: "subject", text: "hi" },
          ],
        }),
        [big.emailId, small.emailId].sort(),
      );
      assert.deepEqual(await ids({ op: "body", text: "lorem" }), [big.emailId, small.emailId].sort());
      assert.deepEqual(await ids({ op: "body", text: "zebraquux" }, arch), []);
      // in another mailbox too, and a copy (a new email) is marked as its original is
      await store.copyEmails(a.id, [big.emailId], arch);
      assert.deepEqual(await ids({ op: "body", text: "zebraquux" }, arch), [big.emailId]);
      const copy = (await store.copyEmails(a.id, [big.emailId], box)).copied[0]!;
      assert.notEqual(copy.emailId, big.emailId);
      assert.deepEqual(await ids({ op: "body", text: "zebraquux" }, box), [big.emailId, copy.emailId].sort());
    });

    it("search: header text past the index's caps is found by scanning the stored message", async ({
      store,
    }) => {
      const a = await store.createAccount({ name: "hdr@example.org" });
      const box = await inbox(store, a.id);
      // one field of 9,000 characters (the index holds 8,000), 600 fields (it holds 500), and
      // a To of 70,000 characters (it holds 64,000)
      const long = await append(store, a.id, [box], {
        subject: "long field",
        references:
          Array.from({ length: 200 }, (_, i) => `<ref${i}.${"r".repeat(30)}@example.org>`).join(" ") +
          " <lastref@example.org>",
      });
      const many = await append(store, a.id, [box], {
        subject:
          "many fields\r\n" + Array.from({ length: 600 }, (_, i) => `X-Field-${i}: value ${i}`).join("\r\n"),
      });
      const wide = await append(store, a.id, [box], {
        subject: "wide",
        to: Array.from({ length: 3_200 }, (_, i) => `user${i}@example.net`).join(", ") + ", zed@last.example",
      });
      const plain = await append(store, a.id, [box], { subject: "plain" });
      const ids = async (q: Parameters<MailStore["search"]>[1]): Promise<Id[]> =>
        (await store.search(a.id, q, { mailboxId: box })).map((h) => h.emailId).sort();
      assert.deepEqual(await ids({ op: "header", field: "References", text: "LASTREF@" }), [long.emailId]);
      assert.deepEqual(await ids({ op: "text", text: "lastref@example" }), [long.emailId]);
      assert.deepEqual(await ids({ op: "header", field: "x-field-599", text: "" }), [many.emailId]);
      assert.deepEqual(await ids({ op: "header", field: "X-Field-598", text: "value 598" }), [many.emailId]);
      assert.deepEqual(await ids({ op: "header", field: "to", text: "zed@last" }), [wide.emailId]);
      assert.deepEqual(
        await ids({ op: "not", term: { op: "header", field: "to", text: "zed@last" } }),
        [long.emailId, many.emailId, plain.emailId].sort(),
      );
    });

    it("reads: getEmails, getParsed, getEnvelopes, getRaw, listMessages fromUid", async ({ store }) => {
      const a = await store.createAccount({ name: "r@example.org" });
      const box = await inbox(store, a.id);
      const raw = rawMessage({ subject: "Read me" });
      const r = ok((await store.appendEmails(a.id, [input(raw, [box], ["$A"])]))[0]!);
      assert.deepEqual(await store.getRaw(a.id, r.emailId), raw);
      assert.equal(r.blobId, createHash("sha256").update(raw).digest("hex"));
      const env = (await store.getEnvelopes(a.id, [r.emailId])).get(r.emailId);
      assert.equal(env?.subject, "Read me");
      const parsed = (await store.getParsed(a.id, [r.emailId])).get(r.emailId);
      assert.equal(parsed?.subject, "Read me");
      assert.equal(parsed?.envelope.subject, "Read me");
      assert.equal((parsed as Record<string, unknown> | undefined)?.["text"], undefined);
      await append(store, a.id, [box]);
      assert.deepEqual(
        (await store.listMessages(a.id, box, { fromUid: 2 })).map((m) => m.uid),
        [2],
      );
      const other = await store.createAccount({ name: "other@example.org" });
      assert.equal(await store.getRaw(other.id, r.emailId), null);
      assert.deepEqual(await store.getEmails(other.id, [r.emailId]), []);
      await rejects(store.listMessages(other.id, box), "NOTFOUND");
      await rejects(store.appendEmails("nope", [input(raw, [box])]), "NOTFOUND");
      const [bad] = await store.appendEmails(a.id, [input(raw, ["nope"])]);
      assert.ok(bad && isAppendError(bad) && bad.error.code === "NOTFOUND");
    });

    randomOperations(it);

    it("leases: one holder until expiry, then taken over", async ({ store }) => {
      const l = store.leases;
      assert.equal(await l.acquire("queue", "n1", 60_000), true);
      assert.equal(await l.acquire("queue", "n2", 60_000), false);
      assert.equal(await l.renew("queue", "n1", 60_000), true);
      assert.equal(await l.renew("queue", "n2", 60_000), false);
      await l.release("queue", "n2");
      assert.equal(await l.acquire("queue", "n2", 60_000), false);
      await l.release("queue", "n1");
      assert.equal(await l.acquire("queue", "n2", 60_000), true);
      // An expired lease is taken over.
      assert.equal(await l.acquire("short", "n1", -1), true);
      assert.equal(await l.acquire("short", "n2", 60_000), true);
      assert.equal(await l.renew("short", "n1", 60_000), false);
    });
  });
}
