// The shared delta reader: sessions asking with the same modseq share one store read, unless
// a change event was noted after that read started, or the caller asks for a fresh read.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChangeEvent, MailStore } from "../../../src/store/types.ts";
import { MailboxChangeReader } from "../../../src/protocols/imap/server/mailbox-changes.ts";

function fakeStore(): { store: MailStore; reads: () => number } {
  let n = 0;
  const store = {
    mailboxDelta: async () => {
      n++;
      return { mailbox: { id: "mb1", highestModSeq: n }, changed: [], expunged: [] };
    },
  } as unknown as MailStore;
  return { store, reads: () => n };
}

const event = (modseq: number): ChangeEvent => ({ accountId: "a", modseq, changes: [], mailboxIds: ["mb1"] });

test("one read per event, shared by every caller with the same modseq", async () => {
  const { store, reads } = fakeStore();
  const r = new MailboxChangeReader();
  const first = await Promise.all([1, 2, 3].map(() => r.read(store, "a", "mb1", 5)));
  assert.equal(reads(), 1);
  assert.ok(first.every((d) => d === first[0]));
  // the same event told to many sessions counts once; a read after it is a new one
  const ev = event(6);
  for (let i = 0; i < 3; i++) r.noteEvent("mb1", ev);
  const second = await Promise.all([1, 2].map(() => r.read(store, "a", "mb1", 5)));
  assert.equal(reads(), 2);
  assert.notEqual(second[0], first[0]);
  assert.equal(second[0], second[1]);
  // another modseq is another read; fresh never shares
  await r.read(store, "a", "mb1", 6);
  assert.equal(reads(), 3);
  await r.read(store, "a", "mb1", 5, true);
  assert.equal(reads(), 4);
});

test("an event noted while a read is in flight makes the next caller read again", async () => {
  const { store, reads } = fakeStore();
  const r = new MailboxChangeReader();
  const inFlight = r.read(store, "a", "mb1", 1);
  r.noteEvent("mb1", event(2));
  const after = r.read(store, "a", "mb1", 1);
  assert.notEqual(await inFlight, await after);
  assert.equal(reads(), 2);
});
