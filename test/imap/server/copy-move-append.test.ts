// COPY/MOVE with COPYUID, EXPUNGE/UID EXPUNGE, APPEND with APPENDUID, MULTIAPPEND, TRYCREATE,
// APPENDLIMIT, and the regressions of issue 4 (UID MOVE of a moved message, APPEND to a quoted
// non-ASCII name).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP COPY, MOVE, EXPUNGE, APPEND", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ limits: { imapMaxLiteralSize: 100_000 } });
  });
  after(async () => f.stop());

  test("APPEND with flags and date; APPENDUID; EXISTS in the selected mailbox", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    const m = message("appended");
    const tag = c.takeTag();
    c.write(`${tag} APPEND INBOX (\\Seen $Label) "05-Mar-2024 00:30:00 +0100" {${Buffer.byteLength(m)}}\r\n`);
    await c.waitFor(/^\+/);
    c.write(m + "\r\n");
    const r = await c.tagged(tag);
    assert.match(r, /^\* 1 EXISTS\r\n\* 1 RECENT\r\nA\d+ OK \[APPENDUID \d+ 1\] APPEND completed/);
    assert.match(
      await c.cmd("FETCH 1 (FLAGS INTERNALDATE)"),
      /FLAGS \(\$Label \\Seen \\Recent\) INTERNALDATE "05-Mar-2024 00:30:00 \+0100"/,
    );
    // the date-time keeps its zone: its day is 5 March there (4 March in UTC)
    assert.match(await c.cmd("SEARCH ON 5-Mar-2024"), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd("SEARCH BEFORE 5-Mar-2024"), /^\* SEARCH\r\n/);
    c.close();
  });

  test("MULTIAPPEND with LITERAL+; TRYCREATE; TOOBIG", async () => {
    const c = await f.raw();
    const a = message("m1");
    const b = message("m2");
    const r = await c.cmd(
      `APPEND Archive {${Buffer.byteLength(a)}+}\r\n${a} (\\Flagged) {${Buffer.byteLength(b)}+}\r\n${b}`,
    );
    assert.match(r, /OK \[APPENDUID \d+ 1:2\]/);
    assert.match(await c.cmd(`APPEND Nope {${Buffer.byteLength(a)}+}\r\n${a}`), /NO \[TRYCREATE\]/);
    const tag = c.takeTag();
    c.write(`${tag} APPEND INBOX {200000}\r\n`);
    assert.match(await c.tagged(tag), /NO \[TOOBIG\]/);
    assert.match(await c.cmd("NOOP"), /OK/);
    c.close();
  });

  test("APPEND to a quoted non-ASCII name always gets a tagged reply", async () => {
    const c = await f.raw();
    const m = message("x");
    // 8-bit bytes in a quoted rev1 name: not valid modified UTF-7 -> tagged BAD, session lives
    const r = await c.cmd(`APPEND "Brouillons é" {${Buffer.byteLength(m)}+}\r\n${m}`);
    assert.match(r, /^A\d+ (NO|BAD)/);
    await c.cmd("ENABLE UTF8=ACCEPT");
    await c.cmd('CREATE "Entwürfe"');
    assert.match(await c.cmd(`APPEND "Entwürfe" {${Buffer.byteLength(m)}+}\r\n${m}`), /^A\d+ OK \[APPENDUID/);
    assert.match(
      await c.cmd(`APPEND "Fehlt-ü" {${Buffer.byteLength(m)}+}\r\n${m}`),
      /^A\d+ NO \[TRYCREATE\]/,
    );
    c.close();
  });

  test("COPY gives COPYUID; MOVE sends COPYUID then EXPUNGE", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Dest");
    await c.cmd("SELECT Archive");
    assert.match(await c.cmd("COPY 1:2 Dest"), /OK \[COPYUID \d+ 1:2 1:2\]/);
    assert.match(await c.cmd("COPY 1 Nope"), /NO \[TRYCREATE\]/);
    const r = await c.cmd("MOVE 1 Dest");
    assert.match(r, /^\* OK \[COPYUID \d+ 1 3\] Moved\r\n\* 1 EXPUNGE\r\nA\d+ OK/);
    c.close();
  });

  test("UID MOVE of a message that was moved before", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Hop1");
    await c.cmd("CREATE Hop2");
    const uid = await f.deliver(message("hopper"));
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd(`UID MOVE ${uid} Hop1`), /\[COPYUID \d+ \d+ 1\]/);
    await c.cmd("SELECT Hop1");
    assert.match(
      await c.cmd("UID MOVE 1 Hop2"),
      /^\* OK \[COPYUID \d+ 1 1\] Moved\r\n\* 1 EXPUNGE\r\nA\d+ OK/,
    );
    await c.cmd("SELECT Hop2");
    assert.match(await c.cmd("UID MOVE 1 INBOX"), /COPYUID/);
    assert.match(await c.cmd("STATUS Hop2 (MESSAGES)"), /MESSAGES 0/);
    // UID MOVE of UIDs that no longer exist succeeds doing nothing (RFC 9051 §6.4.9)
    assert.match(await c.cmd("UID MOVE 1 Hop1"), /^A\d+ OK/);
    // MOVE into the selected mailbox itself: a new UID, the old one expunged
    const again = await f.deliver(message("again"), "Hop1");
    await c.cmd("SELECT Hop1");
    assert.match(
      await c.cmd(`UID MOVE ${again} Hop1`),
      new RegExp(
        `^\\* OK \\[COPYUID \\d+ ${again} ${again + 1}\\] Moved\\r\\n\\* 1 EXPUNGE\\r\\n\\* 1 EXISTS\\r\\n`,
      ),
    );
    assert.match(
      await c.cmd("UID FETCH 1:* (UID)"),
      new RegExp(`^\\* 1 FETCH \\(UID ${again + 1}\\)\\r\\nA\\d+ OK`),
    );
    c.close();
  });

  test("EXPUNGE and UID EXPUNGE", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Ex");
    for (let i = 0; i < 4; i++) await f.deliver(message(`e${i}`), "Ex");
    await c.cmd("SELECT Ex");
    await c.cmd("STORE 1:4 +FLAGS.SILENT (\\Deleted)");
    assert.match(await c.cmd("UID EXPUNGE 2:3"), /^\* 3 EXPUNGE\r\n\* 2 EXPUNGE\r\nA\d+ OK/);
    assert.match(await c.cmd("EXPUNGE"), /^\* 2 EXPUNGE\r\n\* 1 EXPUNGE\r\nA\d+ OK/);
    assert.match(await c.cmd("STATUS Ex (MESSAGES)"), /MESSAGES 0/);
    c.close();
  });

  test("CLOSE expunges silently; UNSELECT does not", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Cl");
    await f.deliver(message("c1"), "Cl");
    await f.deliver(message("c2"), "Cl");
    await c.cmd("SELECT Cl");
    await c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert.match(await c.cmd("UNSELECT"), /^A\d+ OK/);
    assert.match(await c.cmd("STATUS Cl (MESSAGES)"), /MESSAGES 2/);
    await c.cmd("SELECT Cl");
    assert.match(await c.cmd("CLOSE"), /^A\d+ OK/);
    assert.match(await c.cmd("STATUS Cl (MESSAGES)"), /MESSAGES 1/);
    assert.match(await c.cmd("FETCH 1 FLAGS"), /BAD/);
    c.close();
  });
});
