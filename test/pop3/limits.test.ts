// The configured limits over real sockets: limits.commandsPerMinute (a bucket of commands,
// with a credit per maildrop message at login, refused with -ERR [SYS/TEMP]) and
// limits.maxConnectionsPerUser (a login past it refused with -ERR [IN-USE]), and the
// throttle's arithmetic with a fake clock.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { CommandThrottle, MAILDROP_CREDIT } from "../../src/protocols/pop3/server/throttle.ts";
import { userSessions } from "../../src/protocols/pop3/server/user-sessions.ts";
import { message, RawPop3, startPop3, type Pop3Fixture } from "./helpers.ts";

void describe("POP3 command throttle", () => {
  void test("a bucket of a tenth of a minute (at least 10), refilled at the rate, plus credits", () => {
    let now = 0;
    const t = new CommandThrottle(600, () => now);
    for (let i = 0; i < 60; i++) assert.ok(t.take(600), `command ${i}`);
    assert.equal(t.take(600), false);
    assert.equal(t.waitSeconds(600), 1);
    now += 1000; // 10 commands a second
    for (let i = 0; i < 10; i++) assert.ok(t.take(600));
    assert.equal(t.take(600), false);
    t.credit(5); // used when the bucket is empty, never refilled
    for (let i = 0; i < 5; i++) assert.ok(t.take(600));
    assert.equal(t.take(600), false);
    t.credit(5);
    now += 600_000; // refilling never goes past the capacity
    for (let i = 0; i < 65; i++) assert.ok(t.take(600));
    assert.equal(t.take(600), false);
    assert.equal(CommandThrottle.capacity(20), 10);
  });
});

void describe("POP3 limits", () => {
  let f: Pop3Fixture;
  before(async () => {
    f = await startPop3({ limits: { commandsPerMinute: 10, maxConnectionsPerUser: 1 } });
    await f.deliver(message("one"));
    await f.deliver(message("two"));
  });
  after(async () => {
    await f.stop();
  });

  void test("commandsPerMinute: -ERR [SYS/TEMP] once the bucket and the maildrop credit are used", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.login(f.user), /^\+OK/); // 2 of 10, then a credit of 3 per message
    const allowed = 10 - 2 + MAILDROP_CREDIT * 2;
    // Pipelined, as a client may: the answers keep their order.
    c.write("NOOP\r\n".repeat(allowed + 2));
    for (let i = 0; i < allowed; i++) assert.equal(await c.line(), "+OK", `NOOP ${i}`);
    assert.match((await c.line()) ?? "", /^-ERR \[SYS\/TEMP\] too many commands \(at most 10 a minute\)/);
    assert.match((await c.line()) ?? "", /^-ERR \[SYS\/TEMP\] /);
    // QUIT always passes.
    assert.match(await c.cmd("QUIT"), /^\+OK bye/);
    await c.closed();
  });

  void test("maxConnectionsPerUser: a login past the limit gets -ERR [IN-USE]; the slot comes back", async () => {
    const sessions = userSessions(f.server.ctx);
    for (let i = 0; i < 50 && sessions.count(f.account.id) > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    // Another protocol's session of the account holds the one slot (as IMAP would register).
    const release = userSessions(f.server.ctx).open(f.account.id, 1);
    assert.ok(release);
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.equal(await c.cmd(`USER ${f.user}`), "+OK send PASS");
    assert.match(await c.cmd("PASS s3cret pass"), /^-ERR \[IN-USE\] too many sessions for this account/);
    release();
    // Still in AUTHORIZATION: the next login works and takes the slot.
    assert.match(await c.login(f.user), /^\+OK/);
    assert.equal(userSessions(f.server.ctx).count(f.account.id), 1);
    assert.equal(userSessions(f.server.ctx).open(f.account.id, 1), null);
    await c.cmd("QUIT");
    await c.closed();
    for (let i = 0; i < 50 && userSessions(f.server.ctx).count(f.account.id) > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(userSessions(f.server.ctx).count(f.account.id), 0);
  });
});
