// LIST (LIST-EXTENDED, SPECIAL-USE, CHILDREN, LIST-STATUS), LSUB, CREATE/DELETE/RENAME,
// SUBSCRIBE, STATUS, NAMESPACE, ID, ENABLE, and mailbox names in modified UTF-7 and UTF-8.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP mailbox commands", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
  });
  after(async () => f.stop());

  test("LIST with special-use, children, and the delimiter query", async () => {
    const c = await f.raw();
    assert.match(await c.cmd('LIST "" ""'), /^\* LIST \(\\Noselect\) "\/" ""\r\n/);
    await c.cmd("CREATE Work/Projects/");
    const r = await c.cmd('LIST "" "*"');
    assert.match(r, /\* LIST \(\\HasNoChildren \\Sent\) "\/" Sent\r\n/);
    assert.match(r, /\* LIST \(\\HasChildren\) "\/" Work\r\n/);
    assert.match(r, /\* LIST \(\\HasNoChildren\) "\/" Work\/Projects\r\n/);
    const pct = await c.cmd('LIST "" "%"');
    assert.doesNotMatch(pct, /Projects/);
    assert.match(await c.cmd('LIST "" "inbox"'), /\* LIST \(\\HasNoChildren\) "\/" INBOX\r\n/);
    const su = await c.cmd('LIST (SPECIAL-USE) "" "*"');
    assert.doesNotMatch(su, /INBOX|Work/);
    assert.match(su, /\\Trash/);
    c.close();
  });

  test("LIST-STATUS and STATUS items", async () => {
    await f.deliver(message("s1"));
    const c = await f.raw();
    const r = await c.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))');
    assert.match(
      r,
      /\* LIST \(\\HasNoChildren\) "\/" INBOX\r\n\* STATUS INBOX \(MESSAGES 1 UNSEEN 1 SIZE \d+\)\r\n/,
    );
    const s = await c.cmd(
      "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ MAILBOXID APPENDLIMIT DELETED)",
    );
    assert.match(
      s,
      /\* STATUS INBOX \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ HIGHESTMODSEQ \d+ MAILBOXID \([\w-]+\) APPENDLIMIT \d+ DELETED 0\)/,
    );
    assert.match(await c.cmd("STATUS Nope (MESSAGES)"), /^A\d+ NO \[NONEXISTENT\]/);
    c.close();
  });

  test("SELECT right after CREATE of a modified UTF-7 name; the name round-trips", async () => {
    const c = await f.raw();
    // "Entwürfe & Co" in modified UTF-7
    assert.match(await c.cmd('CREATE "Entw&APw-rfe &- Co"'), /^A2 OK \[MAILBOXID/);
    assert.match(await c.cmd('SELECT "Entw&APw-rfe &- Co"'), /A3 OK \[READ-WRITE\]/);
    assert.match(await c.cmd('LIST "" "Entw*"'), /\* LIST \(\\HasNoChildren\) "\/" "Entw&APw-rfe &- Co"\r\n/);
    c.close();
    // the same mailbox in UTF-8 after ENABLE UTF8=ACCEPT
    const d = await f.raw();
    assert.match(await d.cmd("ENABLE UTF8=ACCEPT"), /\* ENABLED UTF8=ACCEPT\r\n/);
    assert.match(await d.cmd('LIST "" "Entw*"'), /"Entwürfe & Co"/);
    assert.match(await d.cmd('SELECT "Entwürfe & Co"'), /OK \[READ-WRITE\]/);
    d.close();
  });

  test("CREATE existing, DELETE with children, RENAME keeps the id", async () => {
    const c = await f.raw();
    assert.match(await c.cmd("CREATE Sent"), /NO \[ALREADYEXISTS\]/);
    assert.match(await c.cmd("CREATE inbox"), /NO \[ALREADYEXISTS\]/);
    await c.cmd("CREATE A/B");
    assert.match(await c.cmd("DELETE A"), /NO \[HASCHILDREN\]/);
    const before = /MAILBOXID \(([^)]+)\)/.exec(await c.cmd("STATUS A/B (MAILBOXID)"))?.[1];
    assert.match(await c.cmd("RENAME A/B C/D"), /OK/);
    const afterId = /MAILBOXID \(([^)]+)\)/.exec(await c.cmd("STATUS C/D (MAILBOXID)"))?.[1];
    assert.equal(afterId, before);
    assert.match(await c.cmd("DELETE A"), /^A\d+ OK/);
    assert.match(await c.cmd("DELETE INBOX"), /NO/);
    assert.match(await c.cmd("RENAME Nope X"), /NO \[NONEXISTENT\]/);
    c.close();
  });

  test("RENAME INBOX moves its messages and leaves INBOX empty", async () => {
    await f.deliver(message("r1"));
    const c = await f.raw();
    const n = Number(/MESSAGES (\d+)/.exec(await c.cmd("STATUS INBOX (MESSAGES)"))?.[1]);
    assert.ok(n >= 1);
    assert.match(await c.cmd("RENAME INBOX Old"), /OK/);
    assert.match(await c.cmd("STATUS INBOX (MESSAGES)"), /MESSAGES 0/);
    assert.match(await c.cmd("STATUS Old (MESSAGES)"), new RegExp(`MESSAGES ${n}`));
    c.close();
  });

  test("SUBSCRIBE, LSUB, LIST (SUBSCRIBED)", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Sub1");
    await c.cmd("UNSUBSCRIBE Sub1");
    assert.doesNotMatch(await c.cmd('LSUB "" "*"'), /Sub1/);
    assert.match(await c.cmd("SUBSCRIBE Sub1"), /OK/);
    assert.match(await c.cmd('LSUB "" "*"'), /\* LSUB \(\) "\/" Sub1/);
    assert.match(
      await c.cmd('LIST (SUBSCRIBED) "" "Sub*"'),
      /\* LIST \(\\HasNoChildren \\Subscribed\) "\/" Sub1/,
    );
    assert.match(await c.cmd("SUBSCRIBE Nope"), /NO \[NONEXISTENT\]/);
    // RFC 3501 §6.3.9: "Par/Kid" subscribed, "Par" not: "%" returns Par with \Noselect; "*"
    // returns Par/Kid only
    await c.cmd("CREATE Par/Kid");
    await c.cmd("UNSUBSCRIBE Par");
    await c.cmd("SUBSCRIBE Par/Kid");
    const pct = await c.cmd('LSUB "" "Pa%"');
    assert.match(pct, /\* LSUB \(\\Noselect\) "\/" Par\r\n/);
    assert.doesNotMatch(pct, /Par\/Kid/);
    const star = await c.cmd('LSUB "" "Pa*"');
    assert.match(star, /^\* LSUB \(\) "\/" Par\/Kid\r\nA\d+ OK/);
    c.close();
  });

  test("a subscription outlives its mailbox (RFC 9051 §6.3.7) until UNSUBSCRIBE or a new CREATE", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Gone");
    await c.cmd("SUBSCRIBE Gone");
    assert.match(await c.cmd("DELETE Gone"), /OK/);
    assert.match(
      await c.cmd('LIST (SUBSCRIBED) "" "Gone"'),
      /^\* LIST \(\\Subscribed \\NonExistent\) "\/" Gone\r\n/,
    );
    assert.match(await c.cmd('LSUB "" "Gone"'), /^\* LSUB \(\\Noselect\) "\/" Gone\r\n/);
    assert.doesNotMatch(await c.cmd('LIST "" "Gone"'), /\* LIST/);
    // a mailbox created at the name is subscribed again
    await c.cmd("CREATE Gone");
    assert.match(
      await c.cmd('LIST (SUBSCRIBED) "" "Gone"'),
      /^\* LIST \(\\HasNoChildren \\Subscribed\) "\/" Gone\r\n/,
    );
    await c.cmd("DELETE Gone");
    assert.match(await c.cmd("UNSUBSCRIBE Gone"), /^A\d+ OK/);
    assert.match(await c.cmd('LSUB "" "Gone"'), /^A\d+ OK/);
    assert.match(await c.cmd("UNSUBSCRIBE Gone"), /NO \[NONEXISTENT\]/);
    c.close();
  });

  test("NAMESPACE, ID, ENABLE", async () => {
    const c = await f.raw();
    assert.match(await c.cmd("NAMESPACE"), /^\* NAMESPACE \(\("" "\/"\)\) NIL NIL\r\n/);
    assert.match(await c.cmd('ID ("name" "test")'), /^\* ID \("name" "Mailroom"/);
    assert.match(await c.cmd("ENABLE CONDSTORE X-UNKNOWN"), /^\* ENABLED CONDSTORE\r\nA\d+ OK/);
    assert.match(await c.cmd("ENABLE CONDSTORE"), /^\* ENABLED\r\n/);
    assert.match(await c.cmd("ENABLE QRESYNC IMAP4rev2"), /^\* ENABLED QRESYNC IMAP4rev2\r\n/);
    c.close();
  });

  test("CREATE-SPECIAL-USE", async () => {
    const c = await f.raw();
    assert.match(await c.cmd("CREATE Everything (USE (\\All))"), /OK/);
    assert.match(await c.cmd('LIST "" Everything'), /\\All/);
    assert.match(await c.cmd("CREATE Bad (USE (\\Nope))"), /NO \[USEATTR\]/);
    c.close();
  });
});
