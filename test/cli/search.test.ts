// `mailroom search reindex` through the real CLI: messages whose index entries are gone are
// found again.
import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { silentLogger } from "../../src/core/logger.ts";
import { openDataDir, openDataStore } from "../../src/cli/data-dir.ts";
import { dataPaths } from "../../src/config/load.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { append, inbox } from "../store/helpers.ts";

void test("search reindex indexes every stored message again", async () => {
  const { dir, cleanup } = await tempDir("mailroom-search-cli-");
  try {
    const dd = await openDataDir({ dir });
    let store = await openDataStore(dd.config.current(), silentLogger());
    const a = await store.createAccount({ name: "r1@localhost" });
    const box = await inbox(store, a.id);
    for (let i = 0; i < 5; i++) await append(store, a.id, [box], { subject: `re ${i}`, body: `again${i}zz` });
    assert.equal((await store.search(a.id, { op: "body", text: "zz" })).length, 5);
    await store.close();
    // entries lost (as by an index that held less of each message)
    const fts = new Database(`${dataPaths(dd.config.current()).sqlite}.fts`);
    fts.exec("DELETE FROM search_body");
    fts.close();

    const r = await runCli(["search", "reindex", "--data", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^reindexed 5 messages in \d+\.\d s\n$/);
    store = await openDataStore(dd.config.current(), silentLogger());
    try {
      assert.equal((await store.search(a.id, { op: "body", text: "zz" })).length, 5);
    } finally {
      await store.close();
    }
  } finally {
    await cleanup();
  }
});
