// Failed-login limits per address and per account, with a ManualClock.
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../src/core/clock.ts";
import { makeCredential } from "../../src/auth/password.ts";
import { ipKey, MemoryRateLimiter } from "../../src/auth/rate-limit.ts";
import { MemorySource, makeAuth, run } from "./helpers.ts";

const src = new MemorySource();
before(async () => {
  src.add("dave@example.org", [await makeCredential("right")]);
  src.add("erin@example.org", [await makeCredential("right")]);
});

void describe("login rate limiting", () => {
  void test("per account: 5 failures lock the account for 5 minutes, without checking the password", async () => {
    const { auth, clock } = makeAuth(src);
    for (let i = 0; i < 5; i++) {
      const r = await auth.verifyPlain("dave@example.org", "wrong", { ip: `192.0.2.${i}` });
      assert.equal(!r.ok && r.reason, "bad-credentials");
      clock.advance(1000);
    }
    const lookupsBefore = src.lookups.length;
    const limited = await auth.verifyPlain("dave@example.org", "right", { ip: "192.0.2.99" });
    assert.equal(!limited.ok && limited.reason, "temporary");
    assert.match(!limited.ok ? limited.message : "", /^too many failed logins; try again in \d+ s$/);
    assert.equal(src.lookups.length, lookupsBefore, "no lookup while limited");
    // other accounts are unaffected
    assert.equal((await auth.verifyPlain("erin@example.org", "right", { ip: "192.0.2.99" })).ok, true);
    // the first failure leaves the window after 5 min: one more attempt is allowed
    clock.advance(5 * 60_000 - 5000 + 1);
    assert.equal((await auth.verifyPlain("dave@example.org", "right", { ip: "192.0.2.99" })).ok, true);
  });

  void test("per IP: 10 failures; successes do not count", async () => {
    const { auth, clock } = makeAuth(src);
    const ip = "203.0.113.44";
    for (let i = 0; i < 20; i++)
      assert.equal((await auth.verifyPlain("erin@example.org", "right", { ip })).ok, true);
    for (let i = 0; i < 10; i++) {
      const r = await auth.verifyPlain(`guess${i}@example.org`, "x", { ip });
      assert.equal(!r.ok && r.reason, "bad-credentials");
    }
    const r = await auth.verifyPlain("erin@example.org", "right", { ip });
    assert.equal(!r.ok && r.reason, "temporary");
    assert.equal(!r.ok && r.message, "too many failed logins; try again in 300 s");
    // SASL is limited the same way
    const s = await run(auth.createMechanism("PLAIN", { tls: true, ip }), "\0erin@example.org\0right");
    assert.equal(s.last.type === "failure" && s.last.reason, "temporary");
    const scram = await auth
      .createMechanism("SCRAM-SHA-256", { tls: true, ip })
      .start(Buffer.from("n,,n=erin@example.org,r=x"));
    assert.equal(scram.type === "failure" && scram.reason, "temporary");
    // another address is fine
    assert.equal((await auth.verifyPlain("erin@example.org", "right", { ip: "203.0.113.45" })).ok, true);
    clock.advance(5 * 60_000);
    assert.equal((await auth.verifyPlain("erin@example.org", "right", { ip })).ok, true);
  });

  void test("memory is bounded", async () => {
    const clock = new ManualClock();
    const l = new MemoryRateLimiter({ clock, maxKeys: 100 });
    for (let i = 0; i < 1000; i++)
      await l.recordFailure({ ip: `10.0.${i >> 8}.${i & 255}`, account: `u${i}` });
    assert.deepEqual(l.trackedKeys, { ip: 100, account: 100 });
    // expired keys are dropped when touched
    clock.advance(10 * 60_000);
    assert.equal(await l.retryAfter({ ip: "10.0.3.231", account: "u999" }), 0);
    assert.deepEqual(l.trackedKeys, { ip: 99, account: 99 });
  });

  void test("custom rules and retry time", async () => {
    const clock = new ManualClock();
    const l = new MemoryRateLimiter({
      clock,
      perIp: { max: 2, windowMs: 1000 },
      perAccount: { max: 100, windowMs: 1000 },
    });
    await l.recordFailure({ ip: "192.0.2.1" });
    clock.advance(400);
    await l.recordFailure({ ip: "192.0.2.1" });
    assert.equal(await l.retryAfter({ ip: "192.0.2.1" }), 600);
    clock.advance(600);
    assert.equal(await l.retryAfter({ ip: "192.0.2.1" }), 0);
  });

  void test("IPv6 addresses are grouped by /64, IPv4-mapped ones by IPv4", () => {
    assert.equal(ipKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert.equal(ipKey("2001:db8:1:2::9"), "2001:db8:1:2::/64");
    assert.equal(ipKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(ipKey("::1"), "0:0:0:0::/64");
    assert.equal(ipKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(ipKey("192.0.2.1"), "192.0.2.1");
  });
});
