// Subscriptions that outlive their mailbox (RFC 9051 §6.3.7), on SQLite and PostgreSQL:
// deleting a subscribed mailbox keeps its path; a mailbox created there again is subscribed;
// dropping a kept subscription removes it; an unsubscribed mailbox leaves nothing behind.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { storeBackends } from "./helpers.ts";

for (const backend of storeBackends("subs")) {
  void describe(`kept subscriptions: ${backend.name}`, () => {
    void test("DELETE keeps a subscribed path; CREATE resubscribes; drop removes it", async () => {
      const place = await backend.make();
      const store = await place.open();
      try {
        const a = await store.createAccount({ name: "subs@example.test" });
        const parent = await store.createMailbox(a.id, { name: "Lists" });
        const kid = await store.createMailbox(a.id, { name: "Old", parentId: parent.id, subscribed: true });
        const plain = await store.createMailbox(a.id, { name: "Plain" });
        await store.deleteMailbox(a.id, kid.id);
        await store.deleteMailbox(a.id, plain.id);
        assert.deepEqual(await store.orphanSubscriptions(a.id), ["Lists/Old"]);
        const again = await store.createMailbox(a.id, { name: "Old", parentId: parent.id });
        assert.equal(again.subscribed, true);
        assert.deepEqual(await store.orphanSubscriptions(a.id), []);
        await store.deleteMailbox(a.id, again.id);
        assert.equal(await store.dropOrphanSubscription(a.id, "Lists/Old"), true);
        assert.equal(await store.dropOrphanSubscription(a.id, "Lists/Old"), false);
        assert.deepEqual(await store.orphanSubscriptions(a.id), []);
      } finally {
        await store.close();
        await place.drop();
      }
    });
  });
}
