// MailStore.delivery, the directory lookups of the SMTP/LMTP RCPT path served from memory
// (src/store/directory-cache.ts), with two stores on one SQLite file standing for two
// processes (the server and the CLI): "not found" is never remembered; a change through the
// same store is seen at once; a change through the other store within MAX_AGE_MS; and the
// deferred search index still finds mail delivered while the event loop was busy.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { MAX_AGE_MS } from "../../src/store/directory-cache.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import { append, inbox } from "./helpers.ts";

interface TwoStores {
  a: MaintainedMailStore;
  b: MaintainedMailStore;
  close: () => Promise<void>;
}

async function twoStores(search: "scan" | "backend" = "scan"): Promise<TwoStores> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-dircache-"));
  const open = (): Promise<MaintainedMailStore> =>
    openStore({
      backend: "sqlite",
      sqlitePath: join(dir, "mail.sqlite"),
      blobs: "db",
      search,
      clock: systemClock,
      logger: silentLogger(),
    });
  const a = await open();
  const b = await open();
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test("delivery lookups: misses are read again, own writes seen at once, others' within the max age", async () => {
  const { a, b, close } = await twoStores();
  try {
    // A miss is not remembered: the domain and account made by the other store are found.
    assert.equal(await a.delivery.getDomain("example.org"), null);
    assert.equal(await a.delivery.resolveRecipient("u@example.org"), null);
    await b.createDomain("example.org");
    const u = await b.createAccount({ name: "u@example.org" });
    assert.equal((await a.delivery.getDomain("example.org"))?.name, "example.org");
    assert.deepEqual((await a.delivery.resolveRecipient("u@example.org"))?.accountIds, [u.id]);
    assert.equal((await a.delivery.getAccount(u.id))?.disabled, false);

    // A write through the same store empties the cache at once.
    await a.updateAccount(u.id, { disabled: true });
    assert.equal((await a.delivery.getAccount(u.id))?.disabled, true);
    await a.setAlias({ address: "info@example.org", targets: ["u@example.org"] });
    assert.deepEqual((await a.delivery.resolveRecipient("info@example.org"))?.accountIds, [u.id]);

    // A write by the other store is seen once the answer is MAX_AGE_MS old.
    await b.updateAccount(u.id, { disabled: false });
    await b.removeAlias("info@example.org");
    const seen = Date.now();
    for (;;) {
      const acct = await a.delivery.getAccount(u.id);
      const alias = await a.delivery.resolveRecipient("info@example.org");
      if (acct?.disabled === false && alias === null) break;
      assert.ok(Date.now() - seen < MAX_AGE_MS + 500, "the other store's change was not seen in time");
      await sleep(50);
    }
    // The direct reads are never cached.
    await b.updateAccount(u.id, { disabled: true });
    assert.equal((await a.getAccount(u.id))?.disabled, true);
  } finally {
    await close();
  }
});

test("deferred search index: mail appended while the event loop is busy is found by a text search", async () => {
  const { a, close } = await twoStores("backend");
  try {
    await a.createDomain("example.org");
    const u = await a.createAccount({ name: "u@example.org" });
    const box = await inbox(a, u.id);
    // Keep the event loop busy between appends, so the index operations are held back.
    for (let i = 0; i < 20; i++) {
      const until = Date.now() + 15;
      while (Date.now() < until);
      await append(a, u.id, [box], { subject: `busy ${i}`, body: `needle${i} in the body` });
    }
    const hits = await a.search(u.id, { op: "body", text: "needle17" });
    assert.equal(hits.length, 1);
    const all = await a.search(u.id, { op: "text", text: "in the body" });
    assert.equal(all.length, 20);
  } finally {
    await close();
  }
});
