// The configured limits over real sockets: limits.commandsPerMinute (the shared bucket, with
// a credit per maildrop message at login; a client over the rate waits, one far over it gets
// -ERR [SYS/TEMP]) and limits.maxConnectionsPerUser (a login past it gets -ERR [IN-USE]).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { MAILDROP_CREDIT } from "../../src/protocols/pop3/server/session.ts";
import { userSessions } from "../../src/core/user-sessions.ts";
import { message, RawPop3, startPop3, type Pop3Fixture } from "./helpers.ts";

void describe("POP3 commandsPerMinute, slowing down", () => {
  let f: Pop3Fixture;
  before(async () => {
    f = await startPop3({ limits: { commandsPerMinute: 600 } }); // a burst of 60, then 10 a second
    await f.deliver(message("one"));
    await f.deliver(message("two"));
  });
  after(async () => {
    await f.stop();
  });

  void test("past the burst and the maildrop credit, commands wait for the rate", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.login(f.user), /^\+OK/); // 2 of 60, then a credit of 3 per message
    const free = 60 - 2 + MAILDROP_CREDIT * 2;
    const t0 = performance.now();
    c.write("NOOP\r\n".repeat(free));
    for (let i = 0; i < free; i++) assert.equal(await c.line(), "+OK", `NOOP ${i}`);
    const t1 = performance.now();
    c.write("NOOP\r\n".repeat(3));
    for (let i = 0; i < 3; i++) assert.equal(await c.line(), "+OK");
    const t2 = performance.now();
    assert.ok(t1 - t0 < 1000, `the free commands took ${t1 - t0} ms`);
    // Three tokens at 10 a second, less those refilled while the free commands ran (a loaded
    // machine runs them slowly): about 300 ms from the start, however long they took.
    assert.ok(t2 - t0 >= 200, `free commands ${t1 - t0} ms, then 3 commands in ${t2 - t1} ms`);
    assert.match(await c.cmd("QUIT"), /^\+OK bye/);
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

  void test("commandsPerMinute: a command that would wait past 5 s gets -ERR [SYS/TEMP]; QUIT passes", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    // 10 a minute: a burst of 10 (2 used by the login), a credit of 3 per message, then each
    // command would wait 6 s.
    assert.match(await c.login(f.user), /^\+OK/);
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
