// Many sessions on one mailbox: every session in IDLE is told of a new message, a flag
// change and an expunge, while the store is read once per change rather than once per
// session (server/mailbox-changes.ts). FETCH of many messages (answered from one listing of
// the mailbox's tail, written in batches) is byte-identical to fetching them one at a time.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture, type RawImap } from "./helpers.ts";

const SESSIONS = 16;

describe("IMAP: many sessions of one mailbox", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
  });
  after(async () => f.stop());

  test("every IDLE session gets EXISTS, FETCH FLAGS and EXPUNGE; the store is read once per change", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Fan" });
    await f.deliver(message("first"), "Fan");
    const idlers: Array<{ c: RawImap; tag: string }> = [];
    for (let i = 0; i < SESSIONS; i++) {
      const c = await f.raw();
      await c.cmd("ENABLE IMAP4rev2");
      await c.cmd("SELECT Fan");
      const tag = c.takeTag();
      c.write(`${tag} IDLE\r\n`);
      await c.waitFor(/^\+ idling/);
      idlers.push({ c, tag });
    }
    const store = f.server.ctx.store;
    const original = store.changedMessages.bind(store);
    let reads = 0;
    store.changedMessages = async (...a: Parameters<typeof original>) => {
      reads++;
      return original(...a);
    };
    try {
      const other = await f.raw();
      const m = message("second");
      await other.cmd(`APPEND Fan {${Buffer.byteLength(m)}+}\r\n${m}`);
      for (const { c } of idlers) assert.match(await c.waitFor(/EXISTS/, 2000), /\* 2 EXISTS\r\n/);
      assert.ok(reads <= 2, `the store was read ${reads} times for ${SESSIONS} sessions`);

      reads = 0;
      await other.cmd("SELECT Fan");
      await other.cmd("STORE 1 +FLAGS (\\Flagged)");
      for (const { c } of idlers)
        assert.match(await c.waitFor(/FETCH/, 2000), /\* 1 FETCH \(FLAGS \(\\Flagged\)\)\r\n/);
      assert.ok(reads <= 3, `the store was read ${reads} times for ${SESSIONS} sessions`);

      await other.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)");
      await other.cmd("EXPUNGE");
      for (const { c } of idlers) assert.match(await c.waitFor(/EXPUNGE/, 2000), /\* 2 EXPUNGE\r\n/);
      other.close();
    } finally {
      store.changedMessages = original;
    }
    for (const { c, tag } of idlers) {
      c.write("DONE\r\n");
      assert.match(await c.tagged(tag), /OK IDLE terminated/);
      // what the session saw in IDLE is its view now
      assert.match(
        await c.cmd("FETCH 1:* (UID FLAGS)"),
        /^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\)\)\r\nA\d+ OK/,
      );
      c.close();
    }
  });

  test("a session that changed flags itself still sees a later change of another", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Mixed" });
    await f.deliver(message("m1"), "Mixed");
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd("SELECT Mixed");
    await b.cmd("SELECT Mixed");
    // a's view moves to a newer modseq than b's: the two read different deltas
    await a.cmd("STORE 1 +FLAGS (\\Seen)");
    const tags = [a, b].map((c) => {
      const tag = c.takeTag();
      c.write(`${tag} IDLE\r\n`);
      return tag;
    });
    await a.waitFor(/^\+ idling/);
    const bIdle = await b.waitFor(/^\+ idling/);
    assert.doesNotMatch(bIdle, /EXISTS/);
    await f.deliver(message("m2"), "Mixed");
    assert.match(await a.waitFor(/EXISTS/, 2000), /\* 2 EXISTS\r\n/);
    assert.match(await b.waitFor(/EXISTS/, 2000), /\* 2 EXISTS\r\n/);
    a.write("DONE\r\n");
    b.write("DONE\r\n");
    await a.tagged(tags[0] ?? "");
    await b.tagged(tags[1] ?? "");
    a.close();
    b.close();
  });
});

describe("IMAP: SELECT again and own changes", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
  });
  after(async () => f.stop());

  test("SELECT of the selected mailbox after others' changes equals a fresh session's SELECT", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Again" });
    for (let i = 1; i <= 5; i++) await f.deliver(message(`a${i}`), "Again");
    const a = await f.raw();
    const b = await f.raw();
    for (const c of [a, b]) await c.cmd("ENABLE CONDSTORE");
    await a.cmd("SELECT Again");
    await b.cmd("SELECT Again");
    await b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    await b.cmd("STORE 1 +FLAGS.SILENT ($Label \\Seen)");
    await f.deliver(message("a6"), "Again");
    const again = await a.cmd("SELECT Again");
    const c = await f.raw();
    await c.cmd("ENABLE CONDSTORE");
    const fresh = await c.cmd("SELECT Again");
    const lines = (r: string): string[] =>
      r
        .split("\r\n")
        .filter((l) =>
          /^\* (\d+ EXISTS|FLAGS|OK \[(PERMANENTFLAGS|UIDNEXT|UIDVALIDITY|HIGHESTMODSEQ|UNSEEN))/.test(l),
        );
    assert.deepEqual(lines(again), lines(fresh));
    assert.match(again, /\* 5 EXISTS\r\n/);
    assert.doesNotMatch(again, /EXPUNGE/);
    // the same messages, flags and modseqs (the new message is \Recent to the first session only)
    const items = async (x: RawImap): Promise<string> =>
      (await x.cmd("FETCH 1:* (UID FLAGS MODSEQ)")).replace(/A\d+ OK.*$/s, "").replace(/ ?\\Recent/g, "");
    assert.equal(await items(a), await items(c));
    for (const x of [a, b, c]) x.close();
  });

  test("a session's own STORE is not reported twice; another's change still is", async () => {
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Own" });
    for (let i = 1; i <= 2; i++) await f.deliver(message(`o${i}`), "Own");
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd("SELECT Own");
    await b.cmd("SELECT Own");
    assert.match(
      await a.cmd("STORE 1 +FLAGS (\\Flagged)"),
      /^\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)\r\nA\d+ OK/,
    );
    assert.match(await a.cmd("NOOP"), /^A\d+ OK/);
    await b.cmd("STORE 2 +FLAGS.SILENT (\\Answered)");
    // b's STORE is answered once committed and told to other sessions once on disk (a
    // millisecond later): in the response of a's next command, or of the one after it
    let told = await a.cmd("STORE 1 -FLAGS.SILENT (\\Flagged)");
    if (!told.includes("* 2 FETCH")) {
      await new Promise((r) => setTimeout(r, 50));
      told += await a.cmd("NOOP");
    }
    assert.match(told, /\* 2 FETCH \(FLAGS \(\\Answered( \\Recent)?\)\)\r\nA\d+ OK/);
    assert.equal(told.split("* 2 FETCH").length, 2, "told once");
    // FETCH BODY[] sets \Seen (its own change) and the NOOP after it reports nothing more
    assert.match(await a.cmd("FETCH 1 (BODY[])"), /FLAGS \(\\Seen( \\Recent)?\)/);
    assert.match(await a.cmd("NOOP"), /^A\d+ OK/);
    a.close();
    b.close();
  });
});

describe("IMAP: FETCH of many messages", () => {
  let f: ImapFixture;
  const COUNT = 260;
  before(async () => {
    f = await startImap();
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Many" });
    const subjects = (i: number): string =>
      i % 7 === 0
        ? `caf\u00e9 n\u00b0${i} "quoted" \\ back`
        : i % 11 === 0
          ? `long ${"x".repeat(1100)} ${i}`
          : `subject ${i}`;
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        f.deliver(
          message(subjects(i), [`Body ${i}.`], i % 5 === 0 ? ["Cc: Carol <carol@example.test>"] : []),
          "Many",
        ),
      ),
    );
  });
  after(async () => f.stop());

  for (const mode of ["rev1", "UTF8=ACCEPT"]) {
    test(`FETCH 1:* equals one FETCH per message, byte for byte (${mode})`, async () => {
      const c = await f.raw();
      if (mode !== "rev1") await c.cmd(`ENABLE ${mode}`);
      await c.cmd("SELECT Many");
      await c.cmd("STORE 3:9 +FLAGS.SILENT (\\Flagged $Label)");
      const items = "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)";
      const strip = (r: string): string => r.replace(/A\d+ OK[^\r]*\r\n$/, "");
      const all = strip(await c.cmd(`FETCH 1:* ${items}`));
      assert.equal(all.match(/^\* \d+ FETCH /gm)?.length, COUNT);
      let one = "";
      for (let i = 1; i <= COUNT; i++) one += strip(await c.cmd(`FETCH ${i} ${items}`));
      assert.equal(all, one);
      // again (envelopes now known to the server), and as UID FETCH of the tail
      assert.equal(strip(await c.cmd(`FETCH 1:* ${items}`)), all);
      const tail = strip(await c.cmd(`FETCH ${COUNT - 49}:* ${items}`));
      assert.equal(tail, all.slice(all.indexOf(`* ${COUNT - 49} FETCH `)));
      c.close();
    });
  }
});
