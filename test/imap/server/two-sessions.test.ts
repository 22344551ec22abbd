// Two sessions on one mailbox: one's APPEND, STORE and EXPUNGE reach the other (in IDLE
// within 100 ms), EXPUNGE is held back during FETCH/STORE/SEARCH (RFC 9051 §7.5.1, RFC 2180
// §4.1), VANISHED for QRESYNC sessions (RFC 7162 §3.2.10), SELECT (QRESYNC ...) resync, and a
// client that never sends ENABLE sees rev1 behaviour (\Recent, RECENT, * SEARCH).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP two sessions", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
  });
  after(async () => f.stop());

  /** A new mailbox with `count` messages, selected by two sessions. */
  async function twoSessionsOn(
    name: string,
    count: number,
  ): Promise<{ a: Awaited<ReturnType<ImapFixture["raw"]>>; b: Awaited<ReturnType<ImapFixture["raw"]>> }> {
    await f.server.ctx.store.createMailbox(f.account.id, { name });
    for (let i = 1; i <= count; i++) await f.deliver(message(`${name} ${i}`), name);
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd(`SELECT ${name}`);
    await b.cmd(`SELECT ${name}`);
    return { a, b };
  }

  test("IDLE reports the other session's APPEND, STORE and EXPUNGE within 100 ms", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Idle" });
    await f.deliver(message("first"), "Idle");
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd("SELECT Idle");
    await b.cmd("SELECT Idle");
    const tag = a.takeTag();
    a.write(`${tag} IDLE\r\n`);
    await a.waitFor(/^\+ idling/);

    const m = message("second");
    let t0 = Date.now();
    await b.cmd(`APPEND Idle {${Buffer.byteLength(m)}+}\r\n${m}`);
    assert.match(await a.waitFor(/EXISTS/, 1000), /\* 2 EXISTS\r\n/);
    assert.ok(Date.now() - t0 < 100, `EXISTS after ${Date.now() - t0} ms`);

    t0 = Date.now();
    await b.cmd("STORE 1 +FLAGS (\\Flagged)");
    assert.match(await a.waitFor(/FETCH/, 1000), /\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)\r\n/);
    assert.ok(Date.now() - t0 < 100);

    t0 = Date.now();
    await b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    assert.match(await a.waitFor(/EXPUNGE/, 1000), /\* 1 EXPUNGE\r\n/);
    assert.ok(Date.now() - t0 < 150);

    a.write("DONE\r\n");
    assert.match(await a.tagged(tag), /OK IDLE terminated/);
    a.close();
    b.close();
  });

  test("no EXPUNGE during FETCH, STORE or SEARCH; it comes with NOOP", async () => {
    const { a, b } = await twoSessionsOn("Hold", 3);
    await b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    await new Promise((r) => setTimeout(r, 20));
    const fr = await a.cmd("FETCH 1:3 (UID)");
    assert.doesNotMatch(fr, /EXPUNGE/);
    assert.match(fr, /\* 2 FETCH \(UID 2\)\r\n\* 3 FETCH \(UID 3\)\r\n/);
    assert.doesNotMatch(await a.cmd("SEARCH ALL"), /EXPUNGE/);
    assert.doesNotMatch(await a.cmd("STORE 2 +FLAGS.SILENT (\\Seen)"), /EXPUNGE/);
    assert.match(await a.cmd("NOOP"), /^\* 1 EXPUNGE\r\nA\d+ OK/);
    assert.match(await a.cmd("FETCH 1 (UID)"), /\* 1 FETCH \(UID 2\)/);
    a.close();
    b.close();
  });

  test("SEARCH sees another session's flag change; a message not announced yet is not found", async () => {
    const { a, b } = await twoSessionsOn("Seek", 2);
    await b.cmd("STORE 1 +FLAGS.SILENT (\\Seen)");
    await f.deliver(message("s3"), "Seek");
    // the change events reach a's session
    await new Promise((r) => setTimeout(r, 30));
    const r = await a.cmd("SEARCH UNSEEN");
    // message 3 has no sequence number for a until its EXISTS, which follows the result
    assert.match(r, /^\* SEARCH 2\r\n/);
    assert.match(r, /\* 3 EXISTS\r\n/);
    assert.match(r, /\* 1 FETCH \(FLAGS \(\\Seen( \\Recent)?\)\)\r\n/);
    assert.match(await a.cmd("SEARCH UNSEEN"), /^\* SEARCH 2 3\r\n/);
    a.close();
    b.close();
  });

  test("QRESYNC: VANISHED instead of EXPUNGE; SELECT (QRESYNC) resyncs", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Q" });
    for (let i = 1; i <= 3; i++) await f.deliver(message(`q${i}`), "Q");
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd("ENABLE QRESYNC");
    const sel = await a.cmd("SELECT Q");
    const validity = /UIDVALIDITY (\d+)/.exec(sel)?.[1];
    const modseq = /HIGHESTMODSEQ (\d+)/.exec(sel)?.[1];
    await b.cmd("SELECT Q");
    await b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    await b.cmd("UID STORE 3 +FLAGS.SILENT (\\Flagged)");
    assert.match(await a.cmd("NOOP"), /\* VANISHED 2\r\n/);
    await a.cmd("UNSELECT");
    const r = await a.cmd(`SELECT Q (QRESYNC (${validity} ${modseq} 1:3))`);
    assert.match(r, /\* VANISHED \(EARLIER\) 2\r\n/);
    assert.match(r, /\* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\n/);
    a.close();
    b.close();
  });

  test("a client that never sends ENABLE sees rev1 behaviour", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Rev1" });
    await f.deliver(message("r1"), "Rev1");
    const a = await f.raw();
    const sel = await a.cmd("SELECT Rev1");
    assert.match(sel, /\* 1 RECENT\r\n/);
    assert.match(sel, /\[UNSEEN 1\]/);
    assert.doesNotMatch(sel, /\* LIST/);
    assert.match(await a.cmd("FETCH 1 FLAGS"), /FLAGS \(\\Recent\)/);
    assert.match(await a.cmd("SEARCH RECENT"), /^\* SEARCH 1\r\n/);
    // a second session does not see it as recent (RFC 3501 §2.3.2)
    const b = await f.raw();
    assert.match(await b.cmd("SELECT Rev1"), /\* 0 RECENT\r\n/);
    a.close();
    b.close();
  });
});

describe("IMAP graceful stop", () => {
  test("a session in IDLE and one between commands both get * BYE", async () => {
    const f = await startImap();
    try {
      const a = await f.raw();
      await a.cmd("SELECT INBOX");
      const tag = a.takeTag();
      a.write(`${tag} IDLE\r\n`);
      await a.waitFor(/^\+ idling/);
      const b = await f.raw();
      const stopped = f.server.stop({ graceMs: 2000 });
      assert.match(await a.waitFor(/BYE/), /\* BYE Server shutting down\r\n$/);
      assert.match(await b.waitFor(/BYE/), /^\* BYE Server shutting down/);
      await stopped;
    } finally {
      await f.stop();
    }
  });
});
