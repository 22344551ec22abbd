// Rebuilding the search index from the stored messages: after switching indexes (the
// built-in scan to a backend index, or a new index version) the emails stored before have
// no entries in the new one. The store records the active index's name under the meta key
// `search.active`; createMailStore reports a mismatch and reindex() repairs it.
import { parseMessage } from "../mail/parse.ts";
import type { StoreContext } from "./context.ts";
import { marks } from "./context.ts";
import { buildSearchDocument } from "./search-index.ts";
import { indexedInPart } from "./search/text.ts";
import type { SearchDocument } from "./types.ts";

const ACTIVE_KEY = "search.active";

/** True when emails exist that the configured index may not hold (another index was active). */
export async function searchIndexStale(ctx: StoreContext): Promise<boolean> {
  const db = ctx.driver;
  const row = await db.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", [ACTIVE_KEY]);
  if (row?.value === ctx.search.name) return false;
  const any = await db.get<{ n: number }>("SELECT 1 AS n FROM emails LIMIT 1");
  if (!any) {
    await markActive(ctx);
    return false;
  }
  return true;
}

async function markActive(ctx: StoreContext): Promise<void> {
  await ctx.driver.run(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [ACTIVE_KEY, ctx.search.name],
  );
}

type EmailRow = { num: number; account_num: number; blob_id: string };

/** Re-indexes every email from its blob, `batch` emails per transaction. Returns the count. */
export async function reindex(ctx: StoreContext, opts?: { batch?: number }): Promise<number> {
  const batch = opts?.batch ?? 200;
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = await ctx.driver.all<EmailRow>(
      "SELECT num, account_num, blob_id FROM emails WHERE num > ? ORDER BY num LIMIT ?",
      [after, batch],
    );
    const last = rows[rows.length - 1];
    if (!last) break;
    after = last.num;
    count += await reindexRows(ctx, rows);
  }
  await markActive(ctx);
  return count;
}

/** Indexes the given emails again (those an index reports missing), 200 per transaction. */
export async function reindexEmails(ctx: StoreContext, nums: readonly number[]): Promise<number> {
  let count = 0;
  for (let i = 0; i < nums.length; i += 200) {
    const part = nums.slice(i, i + 200);
    const rows = await ctx.driver.all<EmailRow>(
      `SELECT num, account_num, blob_id FROM emails WHERE num IN (${marks(part.length)}) ORDER BY num`,
      part,
    );
    count += await reindexRows(ctx, rows);
  }
  await markActive(ctx);
  return count;
}

async function reindexRows(ctx: StoreContext, rows: readonly EmailRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const docs: Array<{ num: number; account: number; doc: SearchDocument; capped: boolean }> = [];
  for (const r of rows) {
    const raw = await ctx.blobs.get(r.blob_id);
    if (!raw) {
      ctx.logger?.warn({ blob: r.blob_id }, "reindex: blob missing");
      continue;
    }
    const parsed = parseMessage(raw);
    const doc = buildSearchDocument(parsed);
    docs.push({ num: r.num, account: r.account_num, doc, capped: indexedInPart(parsed, doc) });
  }
  await ctx.driver.transaction(async (tx) => {
    const nums = rows.map((r) => r.num);
    await ctx.search.remove(tx, nums);
    // Emails destroyed meanwhile are not indexed again.
    const live = new Set(
      (
        await tx.all<{ num: number }>(`SELECT num FROM emails WHERE num IN (${marks(nums.length)})`, nums)
      ).map((r) => r.num),
    );
    const indexed = docs.filter((d) => live.has(d.num));
    await ctx.search.index(
      tx,
      indexed.map((d) => ({ accountNum: d.account, emailNum: d.num, doc: d.doc })),
    );
    // the mark of what the index holds in part (search-capped.ts), told exactly now: the
    // migration marked every large email of before
    for (const capped of [true, false]) {
      const part = indexed.filter((d) => d.capped === capped).map((d) => d.num);
      if (part.length > 0)
        await tx.run(`UPDATE emails SET text_capped = ? WHERE num IN (${marks(part.length)})`, [
          capped ? 1 : 0,
          ...part,
        ]);
    }
  });
  return docs.length;
}
