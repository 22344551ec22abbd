// A real client library (imapflow) against the server: list, status, append, fetch with
// sources and body structure, flags, search, move, IDLE notifications, and a second session.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP with imapflow", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    for (let i = 1; i <= 3; i++) await f.deliver(message(`flow ${i}`, [`body ${i}`]));
  });
  after(async () => f.stop());

  test("list, status, fetch, flags, search, move, append", async () => {
    const c = await f.flow();
    const boxes = await c.list();
    assert.deepEqual(boxes.map((b) => b.path).sort(), [
      "Archive",
      "Drafts",
      "INBOX",
      "Junk",
      "Sent",
      "Trash",
    ]);
    assert.equal(boxes.find((b) => b.path === "Sent")?.specialUse, "\\Sent");
    const st = await c.status("INBOX", { messages: true, unseen: true, uidNext: true });
    assert.ok(st !== false);
    assert.equal(st.messages, 3);
    const lock = await c.getMailboxLock("INBOX");
    try {
      const msgs = [];
      for await (const m of c.fetch("1:*", {
        uid: true,
        flags: true,
        envelope: true,
        source: true,
        bodyStructure: true,
      }))
        msgs.push(m);
      assert.equal(msgs.length, 3);
      assert.equal(msgs[0]?.envelope?.subject, "flow 1");
      assert.match(msgs[1]?.source?.toString() ?? "", /body 2/);
      assert.equal(msgs[2]?.bodyStructure?.type, "text/plain");
      await c.messageFlagsAdd("2", ["\\Flagged"]);
      const hits = await c.search({ flagged: true });
      assert.deepEqual(hits, [2]);
      const text = await c.search({ body: "body 3" });
      assert.deepEqual(text, [3]);
      const moved = await c.messageMove("1", "Archive");
      assert.ok(moved !== false);
      assert.equal(moved.uidMap?.get(1), 1);
    } finally {
      lock.release();
    }
    const ap = await c.append("Drafts", message("draft"), ["\\Draft"]);
    assert.ok(ap !== false);
    assert.equal(ap.uid, 1);
    await c.logout();
  });

  test("IDLE: a second client's append arrives as an exists event", async () => {
    const a = await f.flow();
    const b = await f.flow();
    await a.mailboxOpen("INBOX");
    const got = new Promise<number>((resolve) => a.on("exists", (d: { count: number }) => resolve(d.count)));
    const idling = a.idle(); // imapflow idles on its own only after a while
    await new Promise((r) => setTimeout(r, 50));
    await b.append("INBOX", message("pushed"));
    const count = await Promise.race([
      got,
      new Promise<number>((_, rej) => setTimeout(() => rej(new Error("no exists event")), 2000)),
    ]);
    assert.ok(count >= 3);
    await a.logout();
    await idling.catch(() => undefined);
    await b.logout();
  });
});
