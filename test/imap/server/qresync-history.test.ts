// QRESYNC after the expunge history was compacted (RFC 7162 §3.2.5.2, §3.2.6): a client whose
// mod-sequence is older than the tombstones kept gets VANISHED (EARLIER) for every UID it
// knew that is gone, bounded by its known UIDs and cut by its sequence match data; while the
// history is complete the answer stays the exact one. Over a real socket, on a real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MaintainedMailStore } from "../../../src/store/mail-store.ts";
import { message, startImap, type ImapFixture } from "./helpers.ts";

/** The VANISHED (EARLIER) set of a response, or null. */
function vanished(r: string): string | null {
  return /^\* VANISHED \(EARLIER\) (\S+)\r\n/m.exec(r)?.[1] ?? null;
}

describe("QRESYNC with compacted expunge history", () => {
  let f: ImapFixture;
  let store: MaintainedMailStore;
  let box = "";
  let validity = "";
  let modseq = "";

  // Mailbox H: UIDs 1..12; 1 and 3 are expunged before the client's last sync (it knows
  // 2,4:12 at modseq `modseq`, where message 1 is UID 2, 2 is 4, 3 is 5, ...); 5, 6 and 10
  // after it; UID 7 is flagged after it.
  before(async () => {
    f = await startImap();
    store = f.server.ctx.store as MaintainedMailStore;
    box = (await store.createMailbox(f.account.id, { name: "H" })).id;
    for (let i = 1; i <= 12; i++) await f.deliver(message(`h${i}`), "H");
    await store.expunge(f.account.id, box, [1, 3]);
    const c = await f.raw();
    await c.cmd("ENABLE QRESYNC");
    const sel = await c.cmd("SELECT H");
    validity = /UIDVALIDITY (\d+)/.exec(sel)?.[1] ?? "";
    modseq = /HIGHESTMODSEQ (\d+)/.exec(sel)?.[1] ?? "";
    assert.match(sel, /\* 10 EXISTS/);
    c.close();
    await store.expunge(f.account.id, box, [5, 6, 10]);
    const rows = await store.listMessages(f.account.id, box);
    const seven = rows.find((r) => r.uid === 7);
    assert.ok(seven);
    await store.setKeywords(f.account.id, [seven.emailId], { add: ["\\Flagged"] });
  });
  after(() => f.stop());

  async function select(params: string): Promise<string> {
    const c = await f.raw();
    try {
      await c.cmd("ENABLE QRESYNC");
      return await c.cmd(`SELECT H (QRESYNC (${validity} ${modseq}${params}))`);
    } finally {
      c.close();
    }
  }

  test("while the history is complete: exactly the UIDs expunged since, sequence match data or not", async () => {
    assert.equal(vanished(await select("")), "5:6,10");
    assert.equal(vanished(await select(" 1:12")), "5:6,10");
    assert.equal(vanished(await select(" 2,4:12 (1:2 2,4)")), "5:6,10");
    assert.equal(vanished(await select(" 6:9")), "6");
  });

  test("after compaction: every known UID that is gone, cut by the sequence match data", async () => {
    await store.compactChanges(f.account.id, await store.currentModSeq(f.account.id));
    // RFC 7162 §3.2.5.2: known UIDs only, no sample: the known ones that do not exist
    const known = await select(" 2,4:12");
    assert.equal(vanished(known), "5:6,10");
    assert.match(known, /\* 3 FETCH \(UID 7 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\n/);
    // no known UIDs: every UID below UIDNEXT that is gone, those the client knew gone too
    assert.equal(vanished(await select("")), "1,3,5:6,10");
    // the sample agrees up to UID 4 (message 2 is still UID 4): nothing below it is reported
    assert.equal(vanished(await select(" (1:2 2,4)")), "5:6,10");
    assert.equal(vanished(await select(" 1:12 (1:2 2,4)")), "5:6,10");
    // the run of agreeing pairs ends at the first that does not (message 5 was UID 7, it is UID 9 now)
    assert.equal(vanished(await select(" 1:12 (1,2,5,6 2,4,7,8)")), "5:6,10");
    // message 10 (UID 12) is past EXISTS now: only the first pair holds
    assert.equal(vanished(await select(" 1:12 (1,10 2,12)")), "3,5:6,10");
    // nothing agrees: every known UID that is gone
    assert.equal(vanished(await select(" 1:12 (1 3)")), "1,3,5:6,10");
    // a client that is up to date gets nothing
    const now = String(await store.currentModSeq(f.account.id));
    const c = await f.raw();
    await c.cmd("ENABLE QRESYNC");
    assert.equal(vanished(await c.cmd(`SELECT H (QRESYNC (${validity} ${now} 1:12))`)), null);
    c.close();
  });

  test("UID FETCH (CHANGEDSINCE VANISHED) after compaction: the UIDs of the set that are gone", async () => {
    await store.compactChanges(f.account.id, await store.currentModSeq(f.account.id));
    const c = await f.raw();
    await c.cmd("ENABLE QRESYNC");
    await c.cmd("SELECT H");
    const all = await c.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`);
    assert.equal(vanished(all), "1,3,5:6,10");
    assert.match(all, /\* 3 FETCH \(UID 7 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\n/);
    assert.equal(vanished(await c.cmd(`UID FETCH 4:11 (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`)), "5:6,10");
    c.close();
  });

  test("sequence match data that does not pair up, or with *, is BAD", async () => {
    const c = await f.raw();
    await c.cmd("ENABLE QRESYNC");
    assert.match(await c.cmd(`SELECT H (QRESYNC (${validity} ${modseq} 1:12 (1:3 2,4)))`), /^A\d+ BAD/m);
    assert.match(await c.cmd(`SELECT H (QRESYNC (${validity} ${modseq} 1:12 (1:* 2,4)))`), /^A\d+ BAD/m);
    c.close();
  });

  test("a selected session whose modseq is older than the history still sees every expunge", async () => {
    await store.createMailbox(f.account.id, { name: "Live" });
    for (let i = 1; i <= 4; i++) await f.deliver(message(`l${i}`), "Live");
    const live = await store.getMailboxByPath(f.account.id, "Live");
    assert.ok(live);
    const c = await f.raw();
    await c.cmd("ENABLE QRESYNC");
    await c.cmd("SELECT Live");
    // expunged and compacted before the session reads the change (it reads at its next command)
    await store.expunge(f.account.id, live.id, [2, 3]);
    await store.compactChanges(f.account.id, await store.currentModSeq(f.account.id));
    assert.match(await c.cmd("NOOP"), /^\* VANISHED 2:3\r\n/m);
    assert.match(await c.cmd("UID FETCH 1:* (UID)"), /\* 1 FETCH \(UID 1\)\r\n\* 2 FETCH \(UID 4\)\r\n/);
    c.close();
  });
});
