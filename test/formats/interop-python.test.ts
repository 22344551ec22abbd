// Interoperation with another implementation: Python's mailbox module (Debian's python3)
// writes mbox and Maildir that we read, and reads what we write. Skipped without /usr/bin/python3.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readMbox, type MboxMessage } from "../../src/mail/formats/mbox-reader.ts";
import { MboxWriter } from "../../src/mail/formats/mbox-writer.ts";
import { MaildirWriter, readMaildir, type MaildirMessage } from "../../src/mail/formats/maildir.ts";

const PY = "/usr/bin/python3";
const skip = existsSync(PY) ? false : "needs /usr/bin/python3";
const run = promisify(execFile);

async function python(script: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await run(PY, ["-c", script, ...args], { timeout: 20_000 });
  return JSON.parse(stdout) as unknown;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "interop-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void describe("interop with Python's mailbox module", { skip }, () => {
  void test("Python writes an mbox, we read it", async () => {
    await withDir(async (dir) => {
      const path = join(dir, "py.mbox");
      await python(
        `
import mailbox, sys, json, time
box = mailbox.mbox(sys.argv[1])
m = mailbox.mboxMessage("Subject: one\\n\\nFrom here on\\nbody\\n")
m.set_from("alice@example.org", time.gmtime(1700000000))
m.set_flags("ROAF")
box.add(m)
m = mailbox.mboxMessage("Subject: two\\n\\nsecond\\n")
m.set_from("bob@example.org", time.gmtime(1600000000))
m.set_flags("O")
box.add(m)
box.flush(); box.close()
print("[]")
`,
        path,
      );
      const ms: MboxMessage[] = [];
      for await (const m of readMbox(path, { crlf: false })) ms.push(m);
      assert.equal(ms.length, 2);
      assert.equal(ms[0]!.envelopeSender, "alice@example.org");
      assert.equal(ms[0]!.internalDate, 1700000000_000);
      assert.deepEqual(ms[0]!.flags, ["\\Seen", "\\Answered", "\\Flagged"]);
      assert.equal(ms[0]!.raw.toString(), "Subject: one\n\nFrom here on\nbody\n");
      assert.equal(ms[1]!.internalDate, 1600000000_000);
      assert.deepEqual(ms[1]!.flags, []);
      assert.equal(ms[1]!.raw.toString(), "Subject: two\n\nsecond\n");
    });
  });

  void test("we write an mbox, Python reads it", async () => {
    await withDir(async (dir) => {
      const path = join(dir, "ours.mbox");
      const w = new MboxWriter(path);
      await w.write({
        raw: Buffer.from("Subject: one\r\n\r\nFrom the start\r\n"),
        flags: ["\\Seen", "\\Answered"],
        internalDate: 1700000000_000,
        envelopeSender: "a@example.org",
      });
      await w.write({
        raw: Buffer.from("Subject: two\r\n\r\nno newline"),
        flags: ["\\Flagged", "\\Deleted"],
        internalDate: 1600000000_000,
      });
      await w.write({ raw: Buffer.from("Subject: three\r\n\r\nlast\r\n"), flags: [] });
      await w.close();
      const got = (await python(
        `
import mailbox, sys, json
out = []
for m in mailbox.mbox(sys.argv[1]):
    out.append({"from": m.get_from(), "flags": "".join(sorted(m.get_flags())), "subject": m["subject"], "body": m.get_payload()})
print(json.dumps(out))
`,
        path,
      )) as { from: string; flags: string; subject: string; body: string }[];
      assert.equal(got.length, 3);
      assert.deepEqual(
        got.map((m) => [m.subject, m.flags]),
        [
          ["one", "AOR"],
          ["two", "DFO"],
          ["three", "O"],
        ],
      );
      assert.equal(got[0]!.from, "a@example.org Tue Nov 14 22:13:20 2023");
      assert.match(got[1]!.from, /^MAILER-DAEMON Sun Sep 13 12:26:40 2020$/);
      // Python reads mboxo: it leaves our quoting in place
      assert.equal(got[0]!.body, ">From the start\n");
    });
  });

  void test("Python writes a Maildir++ tree, we read it", async () => {
    await withDir(async (dir) => {
      const root = join(dir, "Maildir");
      await python(
        `
import mailbox, sys, os, json
md = mailbox.Maildir(sys.argv[1], create=True)
m = mailbox.MaildirMessage("Subject: in inbox\\n\\nx\\n")
m.set_subdir("cur"); m.set_flags("RS"); m.set_date(1700000000)
md.add(m)
sent = md.add_folder("Sent")
m = mailbox.MaildirMessage("Subject: sent\\n\\ny\\n")
m.set_subdir("cur"); m.set_flags("T"); m.set_date(1600000000)
sent.add(m)
new = mailbox.MaildirMessage("Subject: new\\n\\nz\\n")
sent.add(new)
print("[]")
`,
        root,
      );
      const ms: MaildirMessage[] = [];
      for await (const m of readMaildir(root, { crlf: false })) ms.push(m);
      const byFolder = ms.map((m) => [m.folder, m.raw.toString().split("\n")[0], m.flags]);
      assert.deepEqual(byFolder.slice(0, 1), [["INBOX", "Subject: in inbox", ["\\Answered", "\\Seen"]]]);
      assert.deepEqual(
        byFolder.slice(1).sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
        [
          ["Sent", "Subject: new", []],
          ["Sent", "Subject: sent", ["\\Deleted"]],
        ],
      );
      assert.equal(ms[0]!.internalDate, 1700000000_000);
    });
  });

  void test("we write a Maildir++ tree, Python reads it", async () => {
    await withDir(async (dir) => {
      const root = join(dir, "Maildir");
      const w = new MaildirWriter(root);
      await w.write("INBOX", {
        raw: Buffer.from("Subject: a\r\n\r\nx\r\n"),
        flags: ["\\Seen", "\\Flagged"],
        internalDate: 1700000000_000,
      });
      await w.write("Archive/2024", {
        raw: Buffer.from("Subject: b\r\n\r\ny\r\n"),
        flags: ["\\Answered", "$Forwarded"],
        internalDate: 1600000000_000,
      });
      const got = (await python(
        `
import mailbox, sys, json
md = mailbox.Maildir(sys.argv[1], create=False)
out = {"INBOX": [(m["subject"], m.get_flags(), m.get_subdir(), int(m.get_date())) for m in md]}
for name in md.list_folders():
    out[name] = [(m["subject"], m.get_flags(), m.get_subdir(), int(m.get_date())) for m in md.get_folder(name)]
print(json.dumps(out))
`,
        root,
      )) as Record<string, [string, string, string, number][]>;
      assert.deepEqual(got, {
        INBOX: [["a", "FS", "cur", 1700000000]],
        "Archive.2024": [["b", "PR", "cur", 1600000000]],
      });
    });
  });
});
