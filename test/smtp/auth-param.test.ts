// The AUTH= parameter of MAIL FROM (RFC 4954 §5) on submission: the mailbox kept with the
// message for the queue names the authenticated submitter, whatever the client wrote (kept
// only when it is one of the account's own addresses); port 25 does not offer AUTH, so the
// parameter is refused there (RFC 5321 §4.1.1.11).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MemoryOutbound,
  PASSWORDS,
  RawClient,
  ehloSession,
  plainAuth,
  startSmtp,
  type TestServer,
} from "./helpers.ts";

void describe("MAIL FROM AUTH= on submission", () => {
  let t: TestServer;
  const outbound = new MemoryOutbound();
  before(async () => {
    t = await startSmtp({ service: { outbound } });
    await t.store.updateAccount(t.accounts.alice.id, {
      addresses: ["alice@example.org", "alice.smith@example.org"],
    });
  });
  after(async () => {
    await t.stop();
  });

  void test("replaced by the authenticated identity unless it is one of the account's addresses", async () => {
    const c = await RawClient.connect(t.port("submissions"), { tls: true });
    await c.reply();
    assert.match(await c.cmd("EHLO client.example"), /AUTH /);
    assert.match(await c.cmd(`AUTH PLAIN ${plainAuth("alice@example.org", PASSWORDS.alice)}`), /^235/);
    const given = [
      "",
      " AUTH=bob@example.org",
      " AUTH=<>",
      " AUTH=Alice.Smith@Example.org",
      " AUTH=e+3Dmc2@example.org",
    ];
    for (const [i, auth] of given.entries()) {
      const m = `Subject: ${i}\r\n\r\nx\r\n`;
      c.write(
        `MAIL FROM:<alice@example.org>${auth}\r\nRCPT TO:<r@remote.example>\r\nBDAT ${m.length} LAST\r\n${m}`,
      );
      const r = await c.replies(3);
      assert.ok(
        r.every((x) => x.startsWith("250")),
        r.join("\n"),
      );
    }
    await c.close();
    assert.deepEqual(
      outbound.queued.map((e) => e.mailParams.auth),
      [
        "alice@example.org",
        "alice@example.org",
        "alice@example.org",
        "alice.smith@example.org",
        "alice@example.org",
      ],
    );
  });

  void test("port 25 does not offer AUTH: the parameter is refused", async () => {
    const c = await ehloSession(t.port("smtp"));
    assert.match(await c.cmd("MAIL FROM:<a@b.example> AUTH=<>"), /^555 5\.5\.4/);
    await c.close();
  });
});
