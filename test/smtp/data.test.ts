// DATA and BDAT: 100 pipelined messages in one connection, the smuggling set (nothing split,
// nothing lost), a BDAT message with NUL bytes and long lines stored byte for byte, BDAT
// sequence rules and size limits.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ehloSession, message, show, startSmtp, type RawClient, type TestServer } from "./helpers.ts";

void describe("DATA and BDAT", () => {
  let t: TestServer;
  before(async () => {
    t = await startSmtp({ limits: { maxMessageSize: 200_000 } });
  });
  after(async () => {
    await t.stop();
  });

  const session = (): Promise<RawClient> => ehloSession(t.port("smtp"));

  void test("100 messages pipelined in one write (BDAT), and 100 with DATA on one connection", async () => {
    const before = (await t.inbox(t.accounts.alice)).length;
    const c = await session();
    let all = "";
    for (let i = 0; i < 100; i++) {
      const m = message(`pipelined ${i}`);
      all += `MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.org>\r\nBDAT ${Buffer.byteLength(m)} LAST\r\n${m}`;
    }
    c.write(all);
    const replies = await c.replies(300);
    assert.ok(
      replies.every((r) => r.startsWith("250")),
      replies.find((r) => !r.startsWith("250")),
    );
    for (let i = 0; i < 100; i++) {
      c.write(`MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n`);
      const r = await c.replies(3);
      assert.match(r[2] ?? "", /^354/);
      c.write(`${message(`data ${i}`, ".leading dot\r\n")}.\r\n`.replace("\r\n.leading", "\r\n..leading"));
      assert.match(show(await c.reply()), /^250 2\.0\.0/);
    }
    const inbox = await t.inbox(t.accounts.alice);
    assert.equal(inbox.length, before + 200);
    const texts = inbox.slice(before).map((m) => m.toString());
    for (let i = 0; i < 100; i++) assert.ok(texts[i]?.includes(`Subject: pipelined ${i}\r\n`));
    assert.ok(texts[100]?.endsWith("\r\n\r\n.leading dot\r\n"));
    await c.close();
  });

  void test("smuggling set: bare LF, \\n.\\n, \\r.\\r refused whole; .\\n inside BDAT is data", async () => {
    const before = (await t.inbox(t.accounts.bob)).length;
    const c = await session();
    const injected =
      "MAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n";
    for (const end of ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n"]) {
      c.write("MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
      const r = await c.replies(3);
      assert.match(r[2] ?? "", /^354/);
      c.write(`Subject: real\r\n\r\nhello${end}${injected}.\r\n`);
      // One reply for the whole thing: refused, nothing after the fake end ran as commands.
      assert.match(show(await c.reply()), /^550 5\.6\.0/);
      assert.match(await c.cmd("NOOP"), /^250/);
    }
    // BDAT: the octets are data whatever they hold.
    const m = `Subject: bdat smuggle\r\n\r\nline\n.\nline\r.\r\r\n.\r\n${injected}.\r\n`;
    c.write(
      `MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT ${Buffer.byteLength(m)} LAST\r\n${m}`,
    );
    assert.deepEqual(
      (await c.replies(3)).map((x) => x.slice(0, 3)),
      ["250", "250", "250"],
    );
    assert.match(await c.cmd("NOOP"), /^250/);
    const inbox = await t.inbox(t.accounts.bob);
    assert.equal(inbox.length, before + 1);
    assert.ok(inbox.at(-1)?.toString().endsWith(m));
    assert.ok(
      !inbox.some(
        (x) =>
          x.toString().includes("Subject: smuggled\r\n\r\nevil") && !x.toString().includes("bdat smuggle"),
      ),
    );
    await c.close();
  });

  void test("BDAT: NUL bytes and long lines stored byte for byte over several chunks", async () => {
    const c = await session();
    const head = Buffer.from("Subject: binary\r\nContent-Type: application/octet-stream\r\n\r\n");
    const bin = Buffer.alloc(70_000);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) % 256;
    bin.fill(0, 100, 200); // a run of NULs
    bin.fill(0x61, 1000, 21000); // a 20,000-octet line
    const whole = Buffer.concat([head, bin]);
    const parts = [whole.subarray(0, 10), whole.subarray(10, 40_000), whole.subarray(40_000)];
    c.write(
      "MAIL FROM:<s@sender.example> BODY=BINARYMIME SIZE=" +
        whole.length +
        "\r\nRCPT TO:<bob@example.org>\r\n",
    );
    assert.deepEqual(
      (await c.replies(2)).map((x) => x.slice(0, 3)),
      ["250", "250"],
    );
    parts.forEach((p, i) => {
      c.write(
        Buffer.concat([Buffer.from(`BDAT ${p.length}${i === parts.length - 1 ? " LAST" : ""}\r\n`), p]),
      );
    });
    const r = await c.replies(3);
    assert.match(r[0] ?? "", /^250 2\.0\.0 10 octets/);
    assert.match(r[2] ?? "", /^250 2\.0\.0 Message accepted/);
    const stored = (await t.inbox(t.accounts.bob)).at(-1) ?? Buffer.alloc(0);
    assert.ok(stored.subarray(stored.length - whole.length).equals(whole));
    await c.close();
  });

  void test("BDAT rules: chunk after a refused command is skipped; DATA after BDAT; BINARYMIME needs BDAT; size", async () => {
    const c = await session();
    // No transaction: 503, and the 5 octets ("NOOP\n") are not read as a command.
    c.write("BDAT 5\r\nNOOP\nRSET\r\n");
    assert.deepEqual(await c.replies(2), ["503 5.5.1 Send MAIL first", "250 2.0.0 Reset"]);
    c.write("MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3\r\nabcDATA\r\n");
    const r = await c.replies(4);
    assert.match(r[2] ?? "", /^250/);
    assert.match(r[3] ?? "", /^503 5\.5\.1/);
    assert.match(await c.cmd("RSET"), /^250/);
    c.write("MAIL FROM:<s@sender.example> BODY=BINARYMIME\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    assert.match((await c.replies(3))[2] ?? "", /^503 5\.5\.1 BINARYMIME/);
    assert.match(await c.cmd("RSET"), /^250/);
    assert.match(await c.cmd("MAIL FROM:<s@sender.example> SIZE=300000"), /^552 5\.3\.4/);
    // Over the limit with chunks: refused, the octets skipped, and the session goes on.
    const big = "x".repeat(150_000);
    c.write(
      `MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT ${big.length}\r\n${big}BDAT ${big.length} LAST\r\n${big}NOOP\r\n`,
    );
    const r2 = await c.replies(5);
    assert.deepEqual(
      r2.map((x) => x.slice(0, 9)),
      ["250 2.1.0", "250 2.1.5", "250 2.0.0", "552 5.3.4", "250 2.0.0"],
    );
    // DATA over the limit.
    c.write("MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    assert.match((await c.replies(3))[2] ?? "", /^354/);
    c.write(
      `Subject: big\r\n\r\n${"y".repeat(998)}\r\n`.repeat(1) + `${"z".repeat(998)}\r\n`.repeat(250) + ".\r\n",
    );
    assert.match(show(await c.reply()), /^552 5\.3\.4/);
    // No valid recipients: DATA is 554 (RFC 2920 §3.1).
    c.write("MAIL FROM:<s@sender.example>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n");
    assert.match((await c.replies(3))[2] ?? "", /^554 5\.5\.1/);
    await c.close();
  });
});
