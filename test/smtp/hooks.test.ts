// Policy hooks at connect, EHLO, DATA and queue time, answered through the one verdict table;
// and a graceful stop that lets the transaction in flight finish before 421 4.3.2.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient, message, show, startSmtp, type TestServer } from "./helpers.ts";

void describe("policy hooks", () => {
  let t: TestServer;
  const seen: string[] = [];
  before(async () => {
    t = await startSmtp({
      service: {
        hooks: [
          {
            connect: async (s) => {
              seen.push(`connect ${s.info.remoteAddress} ${s.mode}`);
              return { action: "continue" };
            },
            ehlo: async (_s, domain) =>
              domain === "blocked.example"
                ? { action: "disconnect", reason: "dnsbl", text: "Listed" }
                : { action: "continue" },
            data: async (_s, msg) =>
              msg.includes("VIAGRA")
                ? { action: "reject", reason: "spam", text: "Spam" }
                : { action: "continue" },
            queue: async (_s, msg, rcpts) => {
              seen.push(`queue ${rcpts.map((r) => r.normalized).join(",")} ${msg.subarray(0, 9).toString()}`);
              return msg.includes("LATER")
                ? { action: "tempfail", reason: "rate-limit" }
                : { action: "continue" };
            },
          },
        ],
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  void test("connect, ehlo (disconnect), data (reject), queue (tempfail)", async () => {
    const c = await RawClient.connect(t.port("smtp"));
    await c.reply();
    assert.match(await c.cmd("EHLO blocked.example"), /^451 4\.7\.1 Listed/);
    assert.equal(await c.reply(), null);
    const d = await RawClient.connect(t.port("smtp"));
    await d.reply();
    await d.cmd("EHLO ok.example");
    for (const [body, want] of [
      ["buy VIAGRA\r\n", /^550 5\.7\.1 Spam/],
      ["try LATER\r\n", /^451 4\.7\.1/],
      ["fine\r\n", /^250 2\.0\.0/],
    ] as const) {
      d.write("MAIL FROM:<a@far.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
      assert.match((await d.replies(3))[2] ?? "", /^354/);
      d.write(`${message("hook", body)}.\r\n`);
      assert.match(show(await d.reply()), want);
    }
    assert.ok(seen.includes("connect 127.0.0.1 smtp"));
    assert.ok(seen.some((x) => x === "queue bob@example.org Received:"));
    await d.close();
  });
});

void test("graceful stop: the transaction in flight completes, then 421 4.3.2", async () => {
  const t = await startSmtp();
  const c = await RawClient.connect(t.port("smtp"));
  await c.reply();
  await c.cmd("EHLO a.example");
  c.write("MAIL FROM:<a@far.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
  assert.match((await c.replies(3))[2] ?? "", /^354/);
  const stopping = t.server.stop({ graceMs: 3000 });
  await new Promise((r) => setTimeout(r, 50));
  c.write(`${message("in flight")}.\r\n`);
  assert.match(show(await c.reply()), /^250 2\.0\.0/);
  assert.match(show(await c.reply()), /^421 4\.3\.2/);
  assert.equal(await c.reply(), null);
  await stopping;
  await t.stop();
});
