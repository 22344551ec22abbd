// limits.commandsPerMinute as a token bucket: a burst of a tenth of the rate (at least 10)
// without waiting, then one command per 60000/rate ms; idle time refills up to the burst.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CommandThrottle } from "../../src/net/command-throttle.ts";

void test("burst, then waits at the configured rate; the rate is read at every command", () => {
  let now = 1_000_000;
  let rate = 600; // 10 per second, burst 60
  const t = new CommandThrottle(() => rate, { now: () => now });
  for (let i = 0; i < 60; i++) assert.equal(t.take(), 0, `command ${i} of the burst`);
  assert.equal(t.take(), 100);
  now += 100;
  assert.equal(t.take(), 100);
  now += 100;
  // Idle for a minute: the bucket is full again, not fuller.
  now += 60_000;
  for (let i = 0; i < 60; i++) assert.equal(t.take(), 0);
  assert.equal(t.take(), 100);
  now += 100;
  // A reload to a higher rate applies at once.
  rate = 60_000;
  assert.equal(t.take(), 1);
  assert.equal(CommandThrottle.burst(60), 10);
  assert.equal(CommandThrottle.burst(6000), 600);
});
