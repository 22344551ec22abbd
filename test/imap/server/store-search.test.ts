// STORE (+FLAGS/-FLAGS/FLAGS, .SILENT, UNCHANGEDSINCE with [MODIFIED]) and SEARCH (keys over
// the store's search, ESEARCH RETURN MIN/MAX/ALL/COUNT/SAVE, SEARCHRES "$", rev1 vs rev2).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SqliteDriverHandle } from "../../../src/store/backends/sqlite/driver.ts";
import type { MaintainedMailStore } from "../../../src/store/mail-store.ts";
import { message, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP STORE and SEARCH", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    for (let i = 1; i <= 5; i++)
      await f.deliver(message(`msg ${i}`, [i % 2 === 0 ? "even body" : "odd body"]));
  });
  after(async () => f.stop());

  test("STORE modes and .SILENT", async () => {
    const c = await f.raw();
    await c.cmd("ENABLE IMAP4rev2");
    await c.cmd("SELECT INBOX");
    // a new keyword is announced in FLAGS and PERMANENTFLAGS first (RFC 9051 §7.3.5)
    assert.match(
      await c.cmd("STORE 1 +FLAGS (\\Flagged $Work)"),
      /^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \$Work\)\r\n\* OK \[PERMANENTFLAGS \([^)]*\$Work \\\*\)\] [^\r]*\r\n\* 1 FETCH \(FLAGS \(\$Work \\Flagged\)\)\r\nA\d+ OK/,
    );
    assert.match(await c.cmd("STORE 1 -FLAGS (\\Flagged)"), /^\* 1 FETCH \(FLAGS \(\$Work\)\)\r\n/);
    assert.match(await c.cmd("UID STORE 1 FLAGS (\\Seen)"), /^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\)\)\r\n/);
    assert.match(await c.cmd("STORE 2 +FLAGS.SILENT (\\Answered)"), /^A\d+ OK/);
    c.close();
  });

  test("UNCHANGEDSINCE: a conflict gives [MODIFIED]", async () => {
    const c = await f.raw();
    await c.cmd("ENABLE CONDSTORE");
    await c.cmd("SELECT INBOX");
    const m = /MODSEQ \((\d+)\)/.exec(await c.cmd("FETCH 3 MODSEQ"));
    const ms = Number(m?.[1]);
    assert.match(
      await c.cmd(`STORE 3 (UNCHANGEDSINCE ${ms}) +FLAGS (\\Draft)`),
      /\* 3 FETCH \(UID 3 FLAGS \(\\Draft( \\Recent)?\) MODSEQ \(\d+\)\)\r\nA\d+ OK/,
    );
    assert.match(await c.cmd(`STORE 3 (UNCHANGEDSINCE ${ms}) +FLAGS (\\Flagged)`), /^A\d+ OK \[MODIFIED 3\]/);
    c.close();
  });

  test("CONDSTORE: HIGHESTMODSEQ at the first enabling command, UID and MODSEQ in FETCH, ESEARCH MODSEQ", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    // RFC 7162 §3.1: a plain STORE before CONDSTORE is on: no MODSEQ
    assert.match(await c.cmd("STORE 4 +FLAGS ($A)"), /\* 4 FETCH \(FLAGS \([^)]*\)\)\r\n/);
    // the first CONDSTORE-enabling command with a mailbox selected tells HIGHESTMODSEQ
    const first = await c.cmd("FETCH 1 (MODSEQ)");
    assert.match(first, /^\* OK \[HIGHESTMODSEQ \d+\] [^\r]*\r\n\* 1 FETCH \(MODSEQ \(\d+\)\)\r\n/);
    assert.doesNotMatch(await c.cmd("FETCH 1 (MODSEQ)"), /HIGHESTMODSEQ/);
    // from now on a plain STORE's FETCH carries UID and MODSEQ
    assert.match(
      await c.cmd("STORE 4 -FLAGS ($A)"),
      /\* 4 FETCH \(UID 4 FLAGS \([^)]*\) MODSEQ \(\d+\)\)\r\n/,
    );
    // RFC 7162 §3.1.5: with MIN or MAX alone, MODSEQ is that message's
    await c.cmd("STORE 1 +FLAGS ($B)");
    await c.cmd("STORE 5 +FLAGS ($B)");
    const mod = async (n: number): Promise<number> =>
      Number(/MODSEQ \((\d+)\)/.exec(await c.cmd(`FETCH ${n} (MODSEQ)`))?.[1]);
    const [m1, m5] = [await mod(1), await mod(5)];
    await c.cmd("STORE 3 +FLAGS ($B)");
    const m3 = await mod(3);
    assert.ok(m1 < m5 && m5 < m3);
    assert.match(
      await c.cmd("SEARCH RETURN (MIN) KEYWORD $B MODSEQ 1"),
      new RegExp(`MIN 1 MODSEQ ${m1}\\r\\n`),
    );
    assert.match(
      await c.cmd("SEARCH RETURN (MAX) KEYWORD $B MODSEQ 1"),
      new RegExp(`MAX 5 MODSEQ ${m5}\\r\\n`),
    );
    assert.match(
      await c.cmd("SEARCH RETURN (MIN MAX) KEYWORD $B MODSEQ 1"),
      new RegExp(`MODSEQ ${m5}\\r\\n`),
    );
    assert.match(await c.cmd("SEARCH RETURN (ALL) KEYWORD $B MODSEQ 1"), new RegExp(`MODSEQ ${m3}\\r\\n`));
    c.close();
  });

  test("rev1 SEARCH, rev2 ESEARCH, RETURN options", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd("SEARCH BODY even"), /^\* SEARCH 2 4\r\n/);
    assert.match(await c.cmd('UID SEARCH OR SUBJECT "msg 1" SUBJECT "msg 5"'), /^\* SEARCH 1 5\r\n/);
    assert.match(await c.cmd("SEARCH NOT SEEN SMALLER 100000 2:*"), /^\* SEARCH 2 3 4 5\r\n/);
    assert.match(
      await c.cmd("SEARCH RETURN (MIN MAX COUNT) BODY odd"),
      /^\* ESEARCH \(TAG "A\d+"\) MIN 1 MAX 5 COUNT 3\r\n/,
    );
    assert.match(await c.cmd("UID SEARCH RETURN () ALL"), /^\* ESEARCH \(TAG "A\d+"\) UID ALL 1:5\r\n/);
    assert.match(await c.cmd("SEARCH KEYWORD $Nothing"), /^\* SEARCH\r\n/);
    assert.match(await c.cmd("SEARCH SINCE 1-Jan-2000 SENTBEFORE 2-Jan-2024"), /^\* SEARCH 1 2 3 4 5\r\n/);
    assert.match(
      await c.cmd("SEARCH CHARSET X-NOPE SUBJECT x"),
      /^A\d+ NO \[BADCHARSET \(US-ASCII UTF-8\)\]/,
    );
    assert.match(await c.cmd("SEARCH CHARSET ISO-8859-1 BODY even"), /^\* SEARCH 2 4\r\n/);
    c.close();
    const d = await f.raw();
    await d.cmd("ENABLE IMAP4rev2");
    await d.cmd("SELECT INBOX");
    assert.match(await d.cmd("SEARCH BODY even"), /^\* ESEARCH \(TAG "A\d+"\) ALL 2,4\r\n/);
    d.close();
  });

  test("SEARCHRES: SAVE then $", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd("SEARCH RETURN (SAVE) BODY even"), /^A\d+ OK/);
    assert.match(await c.cmd("FETCH $ (UID)"), /^\* 2 FETCH \(UID 2\)\r\n\* 4 FETCH \(UID 4\)\r\n/);
    assert.match(await c.cmd("UID SEARCH UID $"), /^\* SEARCH 2 4\r\n/);
    assert.match(await c.cmd("SEARCH RETURN (SAVE MIN) ALL"), /^\* ESEARCH \(TAG "A\d+"\) MIN 1\r\n/);
    assert.match(await c.cmd("FETCH $ (UID)"), /^\* 1 FETCH \(UID 1\)\r\nA\d+ OK/);
    c.close();
  });

  test("sequence numbers past EXISTS: SEARCH matches nothing there, FETCH/STORE/COPY are BAD (RFC 9051 §9)", async () => {
    const c = await f.raw();
    await c.cmd("ENABLE IMAP4rev2");
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd("SEARCH 4:9"), /^\* ESEARCH \(TAG "A\d+"\) ALL 4:5\r\n/);
    assert.match(await c.cmd("SEARCH 9:*"), /^\* ESEARCH \(TAG "A\d+"\) ALL 5\r\n/);
    assert.match(await c.cmd("SEARCH RETURN (COUNT) 1000"), /^\* ESEARCH \(TAG "A\d+"\) COUNT 0\r\n/);
    assert.match(await c.cmd("SEARCH RETURN (MIN) 1000"), /^\* ESEARCH \(TAG "A\d+"\)\r\nA\d+ OK/);
    assert.match(await c.cmd("FETCH 4:9 UID"), /^A\d+ BAD/);
    assert.match(await c.cmd("STORE 9:* +FLAGS (\\Seen)"), /^A\d+ BAD/);
    assert.match(await c.cmd("COPY 6 INBOX"), /^A\d+ BAD/);
    assert.match(await c.cmd("CREATE Empty"), /^A\d+ OK/);
    await c.cmd("SELECT Empty");
    assert.match(await c.cmd("SEARCH *"), /^\* ESEARCH \(TAG "A\d+"\)\r\nA\d+ OK/);
    assert.match(await c.cmd("FETCH * UID"), /^A\d+ BAD/);
    assert.match(await c.cmd("UID FETCH 1:* UID"), /^A\d+ OK/);
    c.close();
  });

  test("STORE in EXAMINE is refused", async () => {
    const c = await f.raw();
    await c.cmd("EXAMINE INBOX");
    assert.match(await c.cmd("STORE 1 +FLAGS (\\Seen)"), /NO \[READ-ONLY\]/);
    c.close();
  });
});

describe("IMAP SEARCH of address groups", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    await f.deliver(
      message("to a group", ["x"], ["Cc: Project Team: carol@example.test, dan@example.test;"]),
    );
    await f.deliver(message("no group"));
  });
  after(async () => f.stop());

  test("CC matches a group's name as well as its members (RFC 9051 §6.4.4, §7.5.2)", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd('SEARCH CC "Project Team"'), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd("SEARCH CC dan@example.test"), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd("SEARCH CC nobody"), /^\* SEARCH\r\n/);
    c.close();
  });
});

describe("IMAP SEARCH BODY, TEXT and HEADER past the search index's caps", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    // 2.2 million characters of text: the index holds the first 2,000,000
    await f.deliver(
      message("logs", ["lorem ipsum dolor sit amet\r\n".repeat(80_000) + "zebraquux at the end"]),
    );
    await f.deliver(message("short", ["lorem ipsum, zebra"]));
    // a header field of 9,000 characters: the index holds 8,000
    await f.deliver(message("refs", ["x"], [`References: <${"r".repeat(9_000)}@x> <lastref@example.org>`]));
  });
  after(async () => f.stop());

  test("the rest of the text is found by scanning the stored message (RFC 9051 §6.4.4)", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd("SEARCH BODY zebraquux"), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd("SEARCH TEXT ZEBRAQUUX"), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd("SEARCH NOT BODY zebraquux"), /^\* SEARCH 2 3\r\n/);
    assert.match(await c.cmd("SEARCH OR BODY quux SUBJECT short"), /^\* SEARCH 1 2\r\n/);
    assert.match(await c.cmd("SEARCH HEADER References LASTREF@"), /^\* SEARCH 3\r\n/);
    assert.match(await c.cmd("SEARCH NOT TEXT lastref@example.org"), /^\* SEARCH 1 2\r\n/);
    c.close();
  });
});

describe("IMAP SENTBEFORE/SENTON/SENTSINCE", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    // 1: 25 Mar as written, 24 Mar in UTC; 2: 24 Mar as written, 25 Mar in UTC; 3: 25 Mar both
    for (const date of [
      "Sun, 25 Mar 2007 01:30:00 +0300",
      "Sat, 24 Mar 2007 23:30:00 -0500",
      "Sun, 25 Mar 2007 12:00:00 +0000",
    ])
      await f.deliver(
        message(`sent ${date}`).replace("Date: Mon, 1 Jan 2024 10:00:00 +0000", `Date: ${date}`),
      );
  });
  after(async () => f.stop());

  test("compare the Date header's day as written, disregarding time and timezone (RFC 9051 §6.4.4)", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd("SEARCH SENTON 25-Mar-2007"), /^\* SEARCH 1 3\r\n/);
    assert.match(await c.cmd("SEARCH SENTON 24-Mar-2007"), /^\* SEARCH 2\r\n/);
    assert.match(await c.cmd("SEARCH SENTBEFORE 25-Mar-2007"), /^\* SEARCH 2\r\n/);
    assert.match(await c.cmd("SEARCH SENTSINCE 25-Mar-2007"), /^\* SEARCH 1 3\r\n/);
    c.close();
  });
});

describe("IMAP STORE and the disk (store.syncFlagChanges)", () => {
  const driverOf = (f: ImapFixture): SqliteDriverHandle =>
    (f.server.ctx.store as MaintainedMailStore).driver as SqliteDriverHandle;

  test("by default STORE is answered once committed, and its own WAL sync follows at once", async () => {
    const f = await startImap();
    try {
      await f.deliver(message("flags", ["body"]));
      const c = await f.raw();
      const watcher = await f.raw();
      await c.cmd("SELECT INBOX");
      await watcher.cmd("SELECT INBOX");
      for (let i = 0; i < 20; i++)
        assert.match(await c.cmd(`STORE 1 ${i % 2 ? "-" : "+"}FLAGS (\\Flagged)`), /OK/);
      assert.match(await c.cmd("STORE 1 +FLAGS (\\Answered)"), /FLAGS \([^)]*\\Answered/);
      // nothing else writes: the STORE's commit reaches the disk without waiting for another
      const driver = driverOf(f);
      for (let t = 0; driver.stats().unsynced > 0 && t < 100; t++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(driver.stats().unsynced, 0);
      // and another session is told
      assert.match(await watcher.cmd("NOOP"), /\* 1 FETCH \(FLAGS \([^)]*\\Answered/);
      c.close();
      watcher.close();
    } finally {
      await f.stop();
    }
  });

  test("with syncFlagChanges, STORE is answered only after its WAL sync", async () => {
    const f = await startImap({ config: { store: { syncFlagChanges: true } } });
    try {
      await f.deliver(message("flags", ["body"]));
      const c = await f.raw();
      await c.cmd("SELECT INBOX");
      const driver = driverOf(f);
      for (let i = 0; i < 5; i++) {
        const before = driver.stats().syncs;
        assert.match(await c.cmd(`STORE 1 ${i % 2 ? "-" : "+"}FLAGS (\\Flagged)`), /OK/);
        assert.ok(driver.stats().syncs > before, "a sync completed before the answer");
        assert.equal(driver.stats().unsynced, 0);
      }
      c.close();
    } finally {
      await f.stop();
    }
  });
});
