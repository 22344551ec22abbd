// RFC 8508 REPLACE and UID REPLACE: the new version goes in (APPENDUID in an untagged OK), the
// old one is expunged (EXPUNGE, or VANISHED for QRESYNC sessions), in the same mailbox or into
// another; a failed append removes nothing; EXAMINE refuses; a missing message is NO or BAD.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

const lit = (m: string): string => `{${Buffer.byteLength(m)}+}\r\n${m}`;

describe("IMAP REPLACE", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Drafts2" });
    for (const s of ["draft v1", "other"]) await f.deliver(message(s), "Drafts2");
  });
  after(async () => f.stop());

  test("REPLACE in the same mailbox: APPENDUID, the old message expunged, the new one there", async () => {
    const c = await f.raw();
    assert.match(await c.cmd("CAPABILITY"), /\bREPLACE\b/);
    await c.cmd("SELECT Drafts2");
    const r = await c.cmd(`REPLACE 1 Drafts2 (\\Draft) ${lit(message("draft v2"))}`);
    assert.match(r, /^\* OK \[APPENDUID \d+ 3\] Replacement Message ID\r\n/m);
    assert.match(r, /^\* 1 EXPUNGE\r\n/m);
    assert.match(r, /^\* 2 EXISTS\r\n/m);
    assert.match(r, /^A\d+ OK REPLACE completed/m);
    assert.ok(r.indexOf("APPENDUID") < r.indexOf("EXPUNGE"), r);
    const all = await c.cmd("UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    assert.doesNotMatch(all, /draft v1/);
    assert.match(all, /UID 3 FLAGS \(\\Draft( \\Recent)?\)[^]*draft v2/);
    c.close();
  });

  test("UID REPLACE into another mailbox; a QRESYNC session gets VANISHED", async () => {
    const c = await f.raw();
    await c.cmd("ENABLE QRESYNC");
    await c.cmd("SELECT Drafts2");
    const r = await c.cmd(`UID REPLACE 3 Archive ${lit(message("draft v3"))}`);
    assert.match(r, /^\* OK \[APPENDUID \d+ \d+\] Replacement Message ID\r\n/m);
    assert.match(r, /^\* VANISHED 3\r\n/m);
    assert.match(r, /OK REPLACE completed/);
    const st = await c.cmd("STATUS Archive (MESSAGES)");
    assert.match(st, /MESSAGES [1-9]/);
    c.close();
  });

  test("nothing is removed when the append fails; EXAMINE, missing messages and bad syntax", async () => {
    const c = await f.raw();
    await c.cmd("SELECT Drafts2");
    assert.match(await c.cmd(`REPLACE 1 Nowhere ${lit(message("lost"))}`), /^A\d+ NO \[TRYCREATE\]/m);
    assert.match(await c.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), /other/);
    assert.match(await c.cmd(`UID REPLACE 999 Drafts2 ${lit(message("x"))}`), /^A\d+ NO \[NONEXISTENT\]/m);
    assert.match(await c.cmd(`REPLACE 99 Drafts2 ${lit(message("x"))}`), /^A\d+ BAD /m);
    assert.match(await c.cmd(`REPLACE 1:2 Drafts2 ${lit(message("x"))}`), /^A\d+ BAD /m);
    await c.cmd("EXAMINE Drafts2");
    assert.match(await c.cmd(`REPLACE 1 Drafts2 ${lit(message("x"))}`), /^A\d+ NO \[READ-ONLY\]/m);
    await c.cmd("UNSELECT");
    assert.match(await c.cmd(`REPLACE 1 Drafts2 ${lit(message("x"))}`), /^A\d+ BAD /m);
    c.close();
  });
});
