// Random input over a real socket never crashes the session or the server: after each burst
// of garbage (before and after login, in random chunks) the connection still answers NOOP or
// was closed cleanly, and a fresh session still works.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { message, RawPop3, startPop3, type Pop3Fixture } from "./helpers.ts";

const WORDS = [
  "USER",
  "PASS",
  "STAT",
  "LIST",
  "RETR",
  "TOP",
  "DELE",
  "UIDL",
  "AUTH",
  "CAPA",
  "UTF8",
  "LANG",
  "RSET",
  "NOOP",
];

const garbage = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)),
    fc
      .tuple(fc.constantFrom(...WORDS), fc.string({ maxLength: 30 }))
      .map(([w, a]) => Buffer.from(`${w} ${a}\r\n`, "utf8")),
    fc.constant(Buffer.from("\r\n")),
    fc.constant(Buffer.from("*\r\n")),
  ),
  { maxLength: 12 },
);

void describe("POP3 session under random input", () => {
  let f: Pop3Fixture;
  before(async () => {
    f = await startPop3({ pop3: { maxErrors: 1000 } });
    await f.deliver(message("fuzz-1"));
    await f.deliver(message("fuzz-2"));
  });
  after(async () => {
    await f.stop();
  });

  void test("property: garbage before and after login leaves the server standing", async () => {
    await fc.assert(
      fc.asyncProperty(garbage, fc.boolean(), async (chunks, loggedIn) => {
        const c = await RawPop3.connect(f.pop3Port);
        try {
          await c.line();
          if (loggedIn) {
            // A property run may find the maildrop still locked by the previous one for a moment.
            const r = await c.login(f.user);
            assert.ok(r.startsWith("+OK") || r.includes("[IN-USE]"), r);
          }
          for (const ch of chunks) c.write(ch);
          // End whatever line or AUTH exchange is open, then probe. The answer order is kept,
          // so the NOOP's reply comes after every earlier one; "QUIT" never appears in WORDS.
          c.write("\r\n*\r\nNOOP\r\n");
          for (;;) {
            const l = await c.line(5000);
            if (l === null) break; // closed by a limit: fine
            if (l === "+OK" || /^-ERR NOOP is not valid/.test(l)) break;
          }
        } finally {
          c.destroy();
          await c.closed();
        }
      }),
      { numRuns: 60 },
    );
    // The server still serves, and nothing was deleted (no QUIT in the garbage).
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    let r = "";
    for (let i = 0; i < 40; i++) {
      r = await c.login(f.user);
      if (!r.includes("IN-USE")) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    assert.match(r, /^\+OK maildrop has 2 messages/);
    await c.cmd("QUIT");
  });
});
