// QUOTA (RFC 9208: GETQUOTAROOT, GETQUOTA, [OVERQUOTA] on APPEND, MULTIAPPEND all or nothing),
// WITHIN (RFC 5032 OLDER/YOUNGER) and LIST-EXTENDED with several patterns and RECURSIVEMATCH.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP QUOTA, WITHIN, LIST-EXTENDED", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
  });
  after(async () => f.stop());

  test("no limits: an empty QUOTAROOT; GETQUOTA is NO", async () => {
    const c = await f.raw();
    assert.match(await c.cmd("GETQUOTAROOT INBOX"), /^\* QUOTAROOT INBOX\r\nA\d+ OK/);
    assert.match(await c.cmd('GETQUOTA ""'), /NO \[NONEXISTENT\]/);
    c.close();
  });

  test("limits: QUOTA resources; OVERQUOTA; MULTIAPPEND takes back what went in", async () => {
    await f.server.ctx.store.updateAccount(f.account.id, { quotaMessages: 2, quotaBytes: 10 * 1024 * 1024 });
    await f.deliver(message("q1"));
    const c = await f.raw();
    const r = await c.cmd("GETQUOTAROOT INBOX");
    assert.match(r, /^\* QUOTAROOT INBOX ""\r\n\* QUOTA "" \(STORAGE 1 10240 MESSAGE 1 2\)\r\n/);
    const a = message("q2");
    const b = message("q3");
    assert.match(
      await c.cmd(`APPEND INBOX {${Buffer.byteLength(a)}+}\r\n${a} {${Buffer.byteLength(b)}+}\r\n${b}`),
      /^A\d+ NO \[OVERQUOTA\]/,
    );
    assert.match(await c.cmd("STATUS INBOX (MESSAGES)"), /MESSAGES 1\)/);
    await f.server.ctx.store.updateAccount(f.account.id, { quotaMessages: null, quotaBytes: null });
    c.close();
  });

  test("WITHIN: OLDER and YOUNGER", async () => {
    const c = await f.raw();
    await c.cmd("CREATE W");
    const m = message("old");
    await c.cmd(`APPEND W "01-Jan-2020 00:00:00 +0000" {${Buffer.byteLength(m)}+}\r\n${m}`);
    await f.deliver(message("new"), "W");
    await c.cmd("SELECT W");
    assert.match(await c.cmd("SEARCH YOUNGER 3600"), /^\* SEARCH 2\r\n/);
    assert.match(await c.cmd("SEARCH OLDER 3600"), /^\* SEARCH 1\r\n/);
    c.close();
  });

  test("LIST-EXTENDED: several patterns, RECURSIVEMATCH", async () => {
    const c = await f.raw();
    await c.cmd("CREATE P/Q");
    await c.cmd("UNSUBSCRIBE P");
    await c.cmd("SUBSCRIBE P/Q");
    const r = await c.cmd('LIST "" (Drafts Sent)');
    assert.match(r, /Drafts/);
    assert.match(r, /Sent/);
    assert.doesNotMatch(r, /INBOX/);
    const rm = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "P"');
    assert.match(rm, /\* LIST \(\\HasChildren\) "\/" P \("CHILDINFO" \("SUBSCRIBED"\)\)\r\n/);
    // a subscribed child the patterns name itself is listed alone, its parent is not
    const both = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" (P P/Q)');
    assert.match(both, /^\* LIST \(\\HasNoChildren \\Subscribed\) "\/" P\/Q\r\nA\d+ OK/);
    c.close();
  });

  test("RECURSIVEMATCH: RFC 5258 §5 example 9", async () => {
    const c = await f.raw();
    const names = [
      "foo2",
      "foo2/bar1",
      "foo2/bar2",
      "baz2",
      "baz2/bar2",
      "baz2/bar22",
      "baz2/bar222",
      "eps2",
      "eps2/mamba",
      "qux2/bar2",
    ];
    for (const n of names) await c.cmd(`CREATE ${n}`);
    for (const n of names.filter((x) => x !== "foo2" && x !== "baz2")) await c.cmd(`SUBSCRIBE ${n}`);
    const r = await c.cmd('LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"');
    const lines = r.split("\r\n").filter((l) => l.startsWith("* LIST"));
    // baz2 is not listed: every subscribed child of it matches "*2" itself
    assert.deepEqual(
      lines.sort(),
      [
        '* LIST (\\HasChildren) "/" foo2 ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" foo2/bar2',
        '* LIST (\\HasNoChildren \\Subscribed) "/" baz2/bar2',
        '* LIST (\\HasNoChildren \\Subscribed) "/" baz2/bar22',
        '* LIST (\\HasNoChildren \\Subscribed) "/" baz2/bar222',
        '* LIST (\\HasChildren \\Subscribed) "/" eps2 ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" qux2/bar2',
      ].sort(),
    );
    c.close();
  });
});
