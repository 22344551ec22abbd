// MailStore.claimRecent and countRecent, the IMAP4rev1 \Recent claim kept per mailbox (RFC 3501
// §2.3.2), on SQLite and PostgreSQL: a claim returns the value before and only raises it;
// nothing is written when nothing is new; appends leave it alone; it survives reopening the
// store; two stores on one database (two server processes) claiming at once never get the same
// UID.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isStoreError } from "../../src/core/errors.ts";
import type { SqliteDriverHandle } from "../../src/store/backends/sqlite/driver.ts";
import { append, inbox, storeBackends } from "./helpers.ts";

const BACKENDS = storeBackends("recent");

for (const backend of BACKENDS) {
  void describe(`\\Recent claims: ${backend.name}`, () => {
    void test("a claim returns the value before and only raises it; appends and reopening keep it", async () => {
      const place = await backend.make();
      let store = await place.open();
      try {
        const a = await store.createAccount({ name: "recent@example.test" });
        const box = await inbox(store, a.id);
        for (let i = 0; i < 3; i++) await append(store, a.id, [box]);
        assert.equal(await store.countRecent(a.id, box), 3);
        assert.equal(await store.claimRecent(a.id, box, 0), 0);
        assert.equal(await store.claimRecent(a.id, box, 2), 0);
        assert.equal(await store.countRecent(a.id, box), 1);
        const commits = (): number => (store.driver as SqliteDriverHandle).stats().commits;
        const before = backend.name === "sqlite" ? commits() : 0;
        // nothing above the stored value: read only, no transaction
        assert.equal(await store.claimRecent(a.id, box, 2), 2);
        assert.equal(await store.claimRecent(a.id, box, 1), 2);
        if (backend.name === "sqlite") assert.equal(commits(), before);
        assert.equal(await store.claimRecent(a.id, box, 3), 2);
        if (backend.name === "sqlite") assert.equal(commits(), before + 1);
        assert.equal(await store.countRecent(a.id, box), 0);
        // deliveries do not touch it: the new messages are above it
        for (let i = 0; i < 2; i++) await append(store, a.id, [box]);
        assert.equal(await store.claimRecent(a.id, box, 0), 3);
        assert.equal(await store.countRecent(a.id, box), 2);
        // expunged messages above it are not counted
        await store.expunge(a.id, box, [5]);
        assert.equal(await store.countRecent(a.id, box), 1);
        await store.close();
        store = await place.open();
        assert.equal(await store.claimRecent(a.id, box, 0), 3);
        assert.equal(await store.countRecent(a.id, box), 1);
        // a mailbox of its own; gone with the mailbox
        const other = await store.createMailbox(a.id, { name: "Other" });
        await append(store, a.id, [other.id]);
        assert.equal(await store.claimRecent(a.id, other.id, 1), 0);
        assert.equal(await store.claimRecent(a.id, box, 0), 3);
        await store.deleteMailbox(a.id, other.id);
        await assert.rejects(store.claimRecent(a.id, other.id, 1), (e) => isStoreError(e, "NOTFOUND"));
      } finally {
        await store.close();
        await place.drop();
      }
    });

    void test("many sessions of one store claiming the same UID at once: one gets it, one write", async () => {
      const place = await backend.make();
      const store = await place.open();
      try {
        const a = await store.createAccount({ name: "fan@example.test" });
        const box = await inbox(store, a.id);
        for (let i = 0; i < 3; i++) await append(store, a.id, [box]);
        const stats = (): number =>
          backend.name === "sqlite" ? (store.driver as SqliteDriverHandle).stats().commits : 0;
        const commits = stats();
        const got = await Promise.all(Array.from({ length: 200 }, () => store.claimRecent(a.id, box, 3)));
        assert.equal(got.filter((b) => b < 3).length, 1, "exactly one claim gets the new UIDs");
        assert.equal(
          got.find((b) => b < 3),
          0,
        );
        if (backend.name === "sqlite") assert.equal(stats() - commits, 1, "one write transaction");
        assert.equal(await store.claimRecent(a.id, box, 0), 3);
      } finally {
        await store.close();
        await place.drop();
      }
    });

    void test("two stores on one database claiming at once never share a UID", async () => {
      const place = await backend.make();
      const one = await place.open();
      const two = await place.open();
      try {
        const a = await one.createAccount({ name: "race@example.test" });
        const box = await inbox(one, a.id);
        const N = 40;
        for (let i = 0; i < N; i++) await append(one, a.id, [box]);
        // every claim asks up to a different UID, in a scrambled order, half on each store
        const asks = Array.from({ length: N }, (_, i) => ((i * 17) % N) + 1);
        const got = await Promise.all(
          asks.map(async (upTo, i) => ({
            upTo,
            before: await (i % 2 ? two : one).claimRecent(a.id, box, upTo),
          })),
        );
        const owner = new Map<number, number>();
        for (const [i, g] of got.entries()) {
          for (let u = g.before + 1; u <= g.upTo; u++) {
            assert.ok(!owner.has(u), `UID ${u} claimed by claims ${owner.get(u)} and ${i}`);
            owner.set(u, i);
          }
        }
        assert.equal(owner.size, N);
        assert.equal(await two.countRecent(a.id, box), 0);
        assert.equal(await one.claimRecent(a.id, box, 0), N);
      } finally {
        await one.close();
        await two.close();
        await place.drop();
      }
    });
  });
}
