// Import and export through the real CLI: a 10,000-message mbox imports with progress and
// exports back to the same bytes, flags and dates; Maildir trees round-trip with folders.
import assert from "node:assert/strict";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { MboxWriter } from "../../src/mail/formats/mbox-writer.ts";
import { MaildirWriter } from "../../src/mail/formats/maildir-writer.ts";
import { readMaildir } from "../../src/mail/formats/maildir.ts";
import { runCli, tempDir } from "../helpers/cli.ts";

const FLAG_SETS = [
  [],
  ["\\Seen"],
  ["\\Seen", "\\Answered"],
  ["\\Flagged"],
  ["\\Seen", "$Forwarded", "work"],
  ["\\Draft"],
];

function sample(i: number): { raw: Buffer; flags: string[]; date: number; sender: string } {
  const sender = `sender${i % 7}@example.org`;
  const date = Date.UTC(2024, i % 12, 1 + (i % 28), i % 24, i % 60, (i * 7) % 60);
  const body =
    i % 50 === 0
      ? `From the start, a line that needs quoting.\n>From quoted already\n\nFrom here too\n`
      : `Message ${i}: ${"lorem ipsum ".repeat(1 + (i % 30))}\n`;
  const raw = Buffer.from(
    `Return-Path: <${sender}>\nFrom: Sender ${i % 7} <${sender}>\nTo: user@localhost\nSubject: test ${i}\n` +
      `Date: ${new Date(date).toUTCString()}\nMessage-ID: <m${i}@example.org>\n\n${body}`,
  );
  return { raw, flags: FLAG_SETS[i % FLAG_SETS.length]!, date, sender };
}

void test("a 10,000-message mbox imports with progress and exports back to the same bytes", async () => {
  const t = await tempDir();
  try {
    const data = join(t.dir, "data");
    const src = join(t.dir, "in.mbox");
    const w = new MboxWriter(src);
    for (let i = 0; i < 10_000; i++) {
      const m = sample(i);
      await w.write({ raw: m.raw, flags: m.flags, internalDate: m.date, envelopeSender: m.sender });
    }
    await w.close();
    assert.equal(
      (await runCli(["account", "add", "user@localhost", "--password", "pw-123456", "--data", data])).code,
      0,
    );

    const imp = await runCli(["import", "mbox", "user@localhost", src, "--data", data], {
      timeoutMs: 180_000,
    });
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stderr, /import/);
    assert.match(imp.stderr, /10000 messages|10,000 messages|10000 msg/);

    const out = join(t.dir, "out.mbox");
    const exp = await runCli(
      ["export", "mbox", "user@localhost", out, "--mailbox", "INBOX", "--data", data],
      { timeoutMs: 180_000 },
    );
    assert.equal(exp.code, 0, exp.stderr);
    const [a, b] = await Promise.all([readFile(src), readFile(out)]);
    assert.equal(b.length, a.length, "same size");
    assert.ok(a.equals(b), "same bytes, flags and dates");

    // Without --mailbox: every mailbox in one file (only INBOX has mail here).
    const all = join(t.dir, "all.mbox");
    assert.equal(
      (await runCli(["export", "mbox", "user@localhost", all, "--data", data], { timeoutMs: 180_000 })).code,
      0,
    );
    assert.ok((await readFile(all)).equals(a));
  } finally {
    await t.cleanup();
  }
});

void test("Maildir++ import keeps folders, flags and dates; export writes them back", async () => {
  const t = await tempDir();
  try {
    const data = join(t.dir, "data");
    const src = join(t.dir, "Maildir");
    const w = new MaildirWriter(src, { layout: "maildir++" });
    const folders = ["INBOX", "Sent", "Archive/2024", "Grüße"];
    const written = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const m = sample(i);
      const folder = folders[i % folders.length]!;
      await w.write(folder, { raw: m.raw, flags: m.flags, internalDate: m.date });
      written.set(
        `${folder}\n${m.raw.toString()}`,
        `${[...m.flags].sort().join(" ")}|${Math.floor(m.date / 1000)}`,
      );
    }
    await w.close();
    assert.equal(
      (await runCli(["account", "add", "user@localhost", "--password", "pw-123456", "--data", data])).code,
      0,
    );
    const imp = await runCli(["import", "maildir", "user@localhost", src, "--data", data], {
      timeoutMs: 120_000,
    });
    assert.equal(imp.code, 0, imp.stderr);

    const out = join(t.dir, "Export");
    const exp = await runCli(["export", "maildir", "user@localhost", out, "--data", data], {
      timeoutMs: 120_000,
    });
    assert.equal(exp.code, 0, exp.stderr);
    const seen = new Map<string, string>();
    for await (const m of readMaildir(out, { crlf: false })) {
      seen.set(
        `${m.folder}\n${m.raw.toString()}`,
        `${[...m.flags].sort().join(" ")}|${Math.floor(m.internalDate / 1000)}`,
      );
    }
    assert.equal(seen.size, written.size);
    for (const [k, v] of written) assert.equal(seen.get(k), v, k.split("\n")[0]);
    // The default mailboxes exist in the export too, empty.
    assert.ok((await readdir(out)).includes(".Drafts"));
  } finally {
    await t.cleanup();
  }
});

void test("import refuses a missing file and an unknown account clearly", async () => {
  const t = await tempDir();
  try {
    const data = join(t.dir, "data");
    await mkdir(data);
    await writeFile(join(t.dir, "x.mbox"), "");
    const missing = await runCli([
      "import",
      "mbox",
      "admin@localhost",
      join(t.dir, "nope.mbox"),
      "--data",
      data,
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
    const unknown = await runCli([
      "import",
      "mbox",
      "ghost@localhost",
      join(t.dir, "x.mbox"),
      "--data",
      data,
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no account ghost@localhost/);
  } finally {
    await t.cleanup();
  }
});
