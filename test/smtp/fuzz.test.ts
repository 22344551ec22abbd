// Random input never crashes a session or the server: fast-check drives real connections
// with mixes of valid commands, line-end variants, BDAT sizes and random bytes; afterwards a
// fresh session still works and delivers.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RawClient, message, show, startSmtp, type TestServer } from "./helpers.ts";

let t: TestServer;
before(async () => {
  t = await startSmtp({ service: { timeoutMs: 2000 } });
});
after(async () => {
  await t.stop();
});

const piece = fc.oneof(
  fc.constantFrom(
    "EHLO a.example\r\n",
    "HELO a\r\n",
    "MAIL FROM:<a@b.example>\r\n",
    "MAIL FROM:<a@b.example> BODY=BINARYMIME SIZE=10\r\n",
    "RCPT TO:<bob@example.org>\r\n",
    "RCPT TO:<bob@example.org> NOTIFY=NEVER\r\n",
    "DATA\r\n",
    "BDAT 5\r\n",
    "BDAT 3 LAST\r\n",
    "BDAT 0 LAST\r\n",
    "BDAT x\r\n",
    ".\r\n",
    "\r\n",
    "\n.\n",
    "\r.\r",
    "AUTH PLAIN\r\n",
    "AUTH PLAIN AGFAYg==\r\n",
    "*\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "VRFY x\r\n",
    "LHLO a\r\n",
  ),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
  fc.string({ maxLength: 80 }),
);

async function drive(port: number, pieces: string[]): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    for (const p of pieces) c.write(Buffer.from(p, "latin1"));
    // Read whatever comes for a moment: replies or the close.
    await new Promise((r) => setTimeout(r, 15));
  } finally {
    await c.close();
  }
}

void test("random input on smtp and lmtp never crashes; the server keeps serving", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { maxLength: 25 }), fc.boolean(), async (pieces, lmtp) => {
      await drive(t.port(lmtp ? "lmtp" : "smtp"), pieces);
    }),
    { numRuns: 150 },
  );
  const c = await RawClient.connect(t.port("smtp"));
  assert.match(show(await c.reply()), /^220/);
  await c.cmd("EHLO after.example");
  c.write(`MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n`);
  assert.match((await c.replies(3))[2] ?? "", /^354/);
  c.write(`${message("after fuzz")}.\r\n`);
  assert.match(show(await c.reply()), /^250/);
  await c.close();
});
