// MAIL and RCPT parameters and limits: SIZE, unknown and unadvertised parameters (555),
// SMTPUTF8 addresses, DELIVERBY, REQUIRETLS, the recipient limit (452 4.5.3), the quota
// check at RCPT (452 4.2.2 / 552 5.2.2), <Postmaster>, null sender, and the policy hooks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient, ehloSession, startSmtp, type TestServer } from "./helpers.ts";

void describe("MAIL and RCPT", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp({
      limits: { maxRecipients: 100, maxMessageSize: 100_000 },
      service: {
        hooks: [
          {
            mail: async (_s, from) =>
              from?.domain === "spammer.example"
                ? { action: "reject", reason: "spf", text: "SPF says no" }
                : { action: "continue" },
            rcpt: async (_s, r) =>
              r.normalized === "alice@example.org" && r.params.notify === "NEVER"
                ? { action: "tempfail", reason: "rate-limit" }
                : { action: "continue" },
          },
        ],
      },
    });
    await t.store.createAccount({ name: "postmaster@example.org" });
  });
  after(async () => {
    await t.stop();
  });

  const session = (): Promise<RawClient> => ehloSession(t.port("smtp"));

  void test("parameters: SIZE, 555 for unknown or unadvertised, SMTPUTF8, BY, REQUIRETLS", async () => {
    const c = await session();
    assert.match(await c.cmd("MAIL FROM:<a@b.example> SIZE=200000"), /^552 5\.3\.4/);
    assert.match(await c.cmd("MAIL FROM:<a@b.example> FOO=1"), /^555 5\.5\.4/);
    assert.match(await c.cmd("MAIL FROM:<a@b.example> HOLDFOR=10"), /^555 5\.5\.4/); // submission only
    assert.match(await c.cmd("MAIL FROM:<a@b.example> REQUIRETLS"), /^555 5\.5\.4/); // TLS only
    assert.match(await c.cmd("MAIL FROM:<a@b.example> BY=0;R"), /^501 5\.5\.4/);
    assert.match(await c.cmd("MAIL FROM:<jöran@b.example>"), /^553 5\.6\.7/);
    assert.match(await c.cmd("MAIL FROM:<x@spammer.example>"), /^550 5\.7\.23 SPF says no/);
    assert.match(
      await c.cmd("MAIL FROM:<jöran@b.example> SMTPUTF8 BY=60;N SOLICIT=org.example:ad MT-PRIORITY=4"),
      /^250 2\.1\.0/,
    );
    assert.match(
      await c.cmd("RCPT TO:<bob@example.org> ORCPT=utf-8;bob@example.org NOTIFY=SUCCESS"),
      /^250 2\.1\.5/,
    );
    assert.match(await c.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER"), /^451 4\.7\.1/);
    assert.match(await c.cmd("RSET"), /^250/);
    // The null reverse path (bounces) and <Postmaster> (RFC 5321 §4.1.1.3).
    assert.match(await c.cmd("MAIL FROM:<>"), /^250/);
    assert.match(await c.cmd("RCPT TO:<Postmaster>"), /^250/);
    await c.close();
  });

  void test("recipient limit: the 101st RCPT gets 452 4.5.3", async () => {
    for (let i = 0; i < 101; i++)
      await t.store
        .setAlias({ address: `a${i}@example.org`, targets: ["bob@example.org"] })
        .catch(() => undefined);
    const c = await session();
    c.write(
      "MAIL FROM:<a@b.example>\r\n" +
        Array.from({ length: 101 }, (_, i) => `RCPT TO:<a${i}@example.org>\r\n`).join(""),
    );
    const r = await c.replies(102);
    assert.ok(r.slice(0, 101).every((x) => x.startsWith("250")));
    assert.match(r[101] ?? "", /^452 4\.5\.3/);
    await c.close();
  });

  void test("quota at RCPT with SIZE: 552 5.2.2 when it can never fit, 452 4.2.2 when full for now", async () => {
    const c = await session();
    assert.match(await c.cmd("MAIL FROM:<a@b.example> SIZE=5000"), /^250/);
    assert.match(await c.cmd("RCPT TO:<carol@example.org>"), /^552 5\.2\.2/);
    assert.match(await c.cmd("RSET"), /^250/);
    await t.store.updateAccount(t.accounts.carol.id, { disabled: true });
    assert.match(await c.cmd("MAIL FROM:<a@b.example> SIZE=100"), /^250/);
    assert.match(await c.cmd("RCPT TO:<carol@example.org>"), /^550 5\.2\.1/);
    await t.store.updateAccount(t.accounts.carol.id, { disabled: false, quotaBytes: 0 });
    assert.match(await c.cmd("RCPT TO:<carol@example.org>"), /^552 5\.2\.2/);
    await c.close();
  });
});

void test("SMTPUTF8: a UTF-8 mailbox gets the message with UTF-8 trace headers", async () => {
  const t = await startSmtp();
  try {
    const acc = await t.store.createAccount({ name: "jörg@example.org" });
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    await c.cmd("EHLO client.example");
    assert.match(await c.cmd("MAIL FROM:<a@b.example>"), /^250/);
    assert.match(await c.cmd("RCPT TO:<jörg@example.org>"), /^553 5\.6\.7/);
    assert.match(await c.cmd("RSET"), /^250/);
    assert.match(await c.cmd("MAIL FROM:<a@b.example> SMTPUTF8"), /^250/);
    assert.match(await c.cmd("RCPT TO:<jörg@example.org>"), /^250/);
    c.write("BDAT 24 LAST\r\nSubject: grüße\r\n\r\nhi\r\n");
    assert.match((await c.replies(1))[0] ?? "", /^250/);
    const m = (await t.inbox(acc)).at(-1)?.toString("utf8") ?? "";
    assert.match(
      m,
      /^Return-Path: <a@b\.example>\r\nDelivered-To: jörg@example\.org\r\nReceived: [^]* with UTF8SMTP id \S+\r\n\tfor <jörg@example\.org>;/,
    );
    assert.ok(m.endsWith("Subject: grüße\r\n\r\nhi\r\n"));
    await c.close();
  } finally {
    await t.stop();
  }
});
