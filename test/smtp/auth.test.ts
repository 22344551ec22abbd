// Submission: AUTH required (530 5.7.0), only after STARTTLS on 587, AUTH PLAIN with an
// initial response, 334 challenges (LOGIN), failures, the sender check (553 5.7.1), relay to
// the outbound queue, Message-ID and Date added; submissions (465) with implicit TLS; and
// STARTTLS with pipelined input discarded (RFC 3207 §4.2).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MemoryOutbound,
  PASSWORDS,
  RawClient,
  plainAuth,
  show,
  startSmtp,
  type TestServer,
} from "./helpers.ts";

void describe("submission, AUTH and STARTTLS", () => {
  let t: TestServer;
  const outbound = new MemoryOutbound();
  before(async () => {
    t = await startSmtp({ service: { outbound } });
  });
  after(async () => {
    await t.stop();
  });

  async function tlsSession(port = t.port("submission")): Promise<RawClient> {
    const c = await RawClient.connect(port);
    await c.reply();
    await c.cmd("EHLO client.example");
    assert.match(await c.cmd("STARTTLS"), /^220 2\.0\.0/);
    await c.upgrade();
    return c;
  }

  void test("587 before TLS: no AUTH advertised, AUTH and MAIL refused with 530", async () => {
    const c = await RawClient.connect(t.port("submission"));
    await c.reply();
    const ehlo = await c.cmd("EHLO client.example");
    assert.match(ehlo, /STARTTLS/);
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.match(
      await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", PASSWORDS.alice)}`),
      /^530 5\.7\.0/,
    );
    assert.match(await c.cmd("MAIL FROM:<alice@example.org>"), /^530 5\.7\.0/);
    await c.close();
  });

  void test("STARTTLS discards input pipelined after it; the session starts over", async () => {
    const c = await RawClient.connect(t.port("submission"));
    await c.reply();
    await c.cmd("EHLO client.example");
    c.write("STARTTLS\r\nNOOP injected\r\n");
    assert.match(show(await c.reply()), /^220 2\.0\.0/);
    await c.upgrade();
    // The injected NOOP was dropped: the first reply now is for this command.
    assert.match(await c.cmd("MAIL FROM:<alice@example.org>"), /^503 5\.5\.1/);
    const ehlo = await c.cmd("EHLO client.example");
    assert.doesNotMatch(ehlo, /STARTTLS/);
    assert.match(ehlo, /AUTH .*PLAIN/);
    assert.match(ehlo, /REQUIRETLS/);
    assert.match(ehlo, /FUTURERELEASE 2592000 /);
    assert.match(await c.cmd("STARTTLS"), /^503 5\.5\.1/);
    await c.close();
  });

  void test("AUTH PLAIN with initial response; LOGIN with 334 challenges; failures and cancel", async () => {
    const c = await tlsSession();
    await c.cmd("EHLO client.example");
    assert.match(await c.cmd("MAIL FROM:<alice@example.org>"), /^530 5\.7\.0/);
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", "wrong")}`), /^535 5\.7\.8/);
    assert.match(await c.cmd("AUTH PLAIN"), /^334/);
    assert.match(await c.cmd("*"), /^501/);
    assert.match(await c.cmd("AUTH NOSUCH"), /^504 5\.5\.4/);
    assert.match(await c.cmd("AUTH LOGIN"), /^334 VXNlcm5hbWU6/);
    assert.match(await c.cmd(Buffer.from("alice@example.org").toString("base64")), /^334 UGFzc3dvcmQ6/);
    assert.match(await c.cmd(Buffer.from(PASSWORDS.alice).toString("base64")), /^235 2\.7\.0/);
    assert.match(
      await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", PASSWORDS.alice)}`),
      /^503 5\.5\.1/,
    );
    await c.close();
  });

  void test("sender check, aliases, relay to the queue, Message-ID and Date added, ESMTPSA trace", async () => {
    const c = await tlsSession();
    await c.cmd("EHLO client.example");
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", PASSWORDS.alice)}`), /^235/);
    assert.match(await c.cmd("MAIL FROM:<bob@example.org>"), /^553 5\.7\.1/);
    assert.match(await c.cmd("MAIL FROM:<ceo@elsewhere.example>"), /^553 5\.7\.1/);
    assert.match(
      await c.cmd("MAIL FROM:<al@example.org> RET=HDRS ENVID=abc+2B1 MT-PRIORITY=3 HOLDFOR=60"),
      /^250 2\.1\.0/,
    );
    assert.match(
      await c.cmd(
        "RCPT TO:<friend@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;friend@remote.example",
      ),
      /^250/,
    );
    assert.match(await c.cmd("RCPT TO:<bob@example.org>"), /^250/);
    assert.match(await c.cmd("DATA"), /^354/);
    c.write("From: al@example.org\r\nSubject: no id\r\n\r\nhi\r\n.\r\n");
    assert.match(show(await c.reply()), /^250 2\.0\.0/);
    const q = outbound.queued.at(-1);
    assert.ok(q !== undefined);
    assert.equal(q.from, "al@example.org");
    assert.deepEqual(
      q.recipients.map((r) => [r.address, r.params.notify]),
      [["friend@remote.example", ["SUCCESS", "FAILURE"]]],
    );
    assert.equal(q.mailParams.envid, "abc+1");
    assert.equal(q.mailParams.mtPriority, 3);
    assert.equal(q.mailParams.holdFor, 60);
    assert.equal(q.accountId, t.accounts.alice.id);
    const m = q.message.toString();
    assert.match(
      m,
      /^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.org \(Mailroom\) with ESMTPSA id \S+\r\n\t\(version=TLSv1\.3 cipher=TLS_\w+\)\r\n\t\(authenticated as alice@example\.org\);/,
    );
    assert.match(m, /\r\nDate: \w{3}, /);
    assert.match(m, /\r\nMessage-ID: <[0-9a-f-]+@mx\.example\.org>\r\n/);
    const bob = (await t.inbox(t.accounts.bob)).at(-1)?.toString() ?? "";
    assert.ok(bob.endsWith(m));
    await c.close();
  });

  void test("submissions (465): implicit TLS, AUTH advertised at once; too many AUTH failures close", async () => {
    const c = await RawClient.connect(t.port("submissions"), { tls: true });
    assert.match(show(await c.reply()), /^220/);
    assert.match(await c.cmd("EHLO client.example"), /AUTH .*PLAIN/);
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", "x")}`), /^535/);
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", "y")}`), /^535/);
    c.write(`AUTH PLAIN ${plainAuth("alice@example.org", "z")}\r\n`);
    assert.deepEqual(
      (await c.replies(2)).map((x) => x.slice(0, 3)),
      ["535", "421"],
    );
    assert.equal(await c.reply(), null);
  });
});

void test("a listener with allowPlaintextAuth offers AUTH PLAIN before TLS", async () => {
  const t = await startSmtp({
    config: {
      listeners: {
        submission: { bind: "127.0.0.1", port: 0, allowPlaintextAuth: true },
        http: { enabled: false },
        https: { enabled: false },
        imap: { enabled: false },
        imaps: { enabled: false },
        pop3: { enabled: false },
        pop3s: { enabled: false },
        managesieve: { enabled: false },
        smtp: { bind: "127.0.0.1", port: 0 },
        submissions: { bind: "127.0.0.1", port: 0 },
        lmtp: { bind: "127.0.0.1", port: 0 },
      },
    },
  });
  try {
    const c = await RawClient.connect(t.port("submission"));
    await c.reply();
    assert.match(await c.cmd("EHLO client.example"), /AUTH .*PLAIN/);
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("bob@example.org", PASSWORDS.bob)}`), /^235 2\.7\.0/);
    c.write(
      "MAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.org>\r\nBDAT 12 LAST\r\nSubject: p\r\n\r\n",
    );
    assert.deepEqual(
      (await c.replies(3)).map((x) => x.slice(0, 3)),
      ["250", "250", "250"],
    );
    assert.match((await t.inbox(t.accounts.alice)).at(-1)?.toString() ?? "", / with ESMTPA id /);
    await c.close();
  } finally {
    await t.stop();
  }
});
