// limits.commandsPerMinute over IMAP: a burst of a tenth of the rate passes at once, then a
// client over the rate is slowed down (never refused: every command still gets its OK).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP commandsPerMinute", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ limits: { commandsPerMinute: 600 } }); // a burst of 60, then 10 a second
  });
  after(async () => f.stop());

  test("the burst passes at once; the commands past it are slowed, not refused", async () => {
    const c = await f.raw();
    // LOGIN took one token: 59 more NOOPs fit the burst.
    const t0 = Date.now();
    for (let i = 0; i < 59; i++) assert.match(await c.cmd("NOOP"), /^A\d+ OK/m);
    const burst = Date.now() - t0;
    assert.ok(burst < 1000, `the burst took ${burst} ms`);
    const t1 = Date.now();
    for (let i = 0; i < 5; i++) assert.match(await c.cmd("NOOP"), /^A\d+ OK/m);
    // Five tokens at 10 a second, less those refilled while the burst ran (a loaded machine
    // runs it slowly): about 500 ms from the start of the burst, however long it took.
    const took = Date.now() - t1;
    assert.ok(burst + took >= 400 && took < 2000, `burst ${burst} ms, then 5 commands in ${took} ms`);
  });
});
