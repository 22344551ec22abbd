// VRFY and EXPN (RFC 5321 §3.5): 252 unless the listener enables them; with
// vrfy = "authenticated" real answers go to authenticated sessions only, with "on" to every
// client: 250 with the mailbox, 550 5.1.1, 553 5.1.4 for an ambiguous name, 252 for another
// domain, EXPN listing an alias's targets.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORDS, RawClient, plainAuth, startSmtp, type TestServer } from "./helpers.ts";

void describe("VRFY and EXPN", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp({
      listeners: {
        submissions: { vrfy: "authenticated" },
        smtp: { vrfy: "authenticated" },
        lmtp: { vrfy: "on" },
      },
    });
    await t.store.updateAccount(t.accounts.bob.id, { displayName: "Bob Example" });
  });
  after(async () => {
    await t.stop();
  });

  void test('"authenticated": 252 before AUTH, real answers after', async () => {
    const c = await RawClient.connect(t.port("submissions"), { tls: true });
    await c.reply();
    await c.cmd("EHLO client.example");
    assert.equal(
      await c.cmd("VRFY bob@example.org"),
      "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
    );
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", PASSWORDS.alice)}`), /^235/);
    assert.equal(await c.cmd("VRFY bob@example.org"), "250 2.1.5 Bob Example <bob@example.org>");
    assert.equal(await c.cmd("VRFY <Bob+news@Example.ORG>"), "250 2.1.5 Bob Example <bob+news@example.org>");
    assert.equal(await c.cmd("VRFY Alice <alice@example.org>"), "250 2.1.5 <alice@example.org>");
    assert.equal(await c.cmd("VRFY nobody@example.org"), "550 5.1.1 No such user here");
    assert.match(await c.cmd("VRFY someone@remote.example"), /^252 2\.5\.0/);
    assert.equal(await c.cmd("VRFY bob"), "250 2.1.5 Bob Example <bob@example.org>");
    assert.equal(await c.cmd("VRFY sales@example.org"), "250 2.1.5 <sales@example.org>");
    assert.equal(await c.cmd("EXPN sales@example.org"), "250 2.1.5 <alice@example.org> | <bob@example.org>");
    assert.equal(await c.cmd("EXPN alice"), "250 2.1.5 <alice@example.org>");
    assert.match(await c.cmd("VRFY <>"), /^501 5\.5\.4/);
    // The same name in two domains without a catch-all is ambiguous.
    await t.store.createDomain("other.example");
    await t.store.createAccount({ name: "bob@other.example" });
    assert.equal(
      await c.cmd("VRFY bob"),
      "553 5.1.4 Ambiguous; possibilities are | <bob@example.org> | <bob@other.example>",
    );
    await c.close();
  });

  void test('"authenticated" on port 25 (no AUTH there) stays 252; "on" answers anyone', async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    await c.cmd("EHLO client.example");
    assert.match(await c.cmd("VRFY alice@example.org"), /^252 2\.5\.0/);
    assert.match(await c.cmd("EXPN sales@example.org"), /^252 2\.5\.0/);
    await c.close();
    const l = await RawClient.connect(t.port("lmtp"));
    await l.reply();
    await l.cmd("LHLO mta.example");
    assert.equal(await l.cmd("VRFY alice@example.org"), "250 2.1.5 <alice@example.org>");
    assert.equal(await l.cmd("VRFY ghost@example.org"), "550 5.1.1 No such user here");
    // A catch-all domain delivers any local part: verified as such.
    assert.equal(
      await l.cmd("VRFY anything@catchall.example"),
      "250 2.1.5 Bob Example <anything@catchall.example>",
    );
    await l.close();
  });
});
