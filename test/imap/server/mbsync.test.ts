// mbsync (Debian's isync) syncs an account both ways: 1,000 messages down, flags, a deletion
// and a new message up, then a last run that changes nothing on either side. Skipped without mbsync.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { maildirFiles, message, PASSWORD, startImap, type ImapFixture } from "./helpers.ts";

const MBSYNC = "/usr/bin/mbsync";
const run = promisify(execFile);
const COUNT = 1000;

describe("IMAP with mbsync", () => {
  let f: ImapFixture;
  let conf: string;
  let local: string;
  before(async () => {
    f = await startImap({ limits: { commandsPerMinute: 1_000_000 } });
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) => f.deliver(message(`sync ${i}`, [`body ${i}`]))),
    );
    local = join(f.dir, "maildir");
    await mkdir(local);
    conf = join(f.dir, "mbsyncrc");
    await writeFile(
      conf,
      [
        "IMAPAccount t",
        "Host 127.0.0.1",
        `Port ${f.port}`,
        `User ${f.user}`,
        `Pass "${PASSWORD}"`,
        "SSLType None",
        "AuthMechs LOGIN",
        "",
        "IMAPStore remote",
        "Account t",
        "",
        "MaildirStore local",
        `Path ${local}/`,
        `Inbox ${local}/INBOX`,
        "SubFolders Verbatim",
        "",
        "Channel ch",
        "Far :remote:",
        "Near :local:",
        "Patterns *",
        "Create Both",
        "Expunge Both",
        "SyncState *",
        "Sync All",
        "",
      ].join("\n"),
    );
  });
  after(async () => f.stop());

  async function mbsync(): Promise<void> {
    await run(MBSYNC, ["-c", conf, "-a"], { timeout: 60_000 });
  }

  const files = (box: string): Promise<string[]> => maildirFiles(join(local, box));

  test("down, up, and nothing left to do", async () => {
    await mbsync();
    const inbox = await files("INBOX");
    assert.equal(inbox.length, COUNT);
    assert.ok(existsSync(join(local, "Sent")));

    // local changes: flag one, delete one (trashed then expunged), add one
    const [first, second] = inbox;
    assert.ok(first !== undefined && second !== undefined);
    const base = first.replace(/\/new\//, "/cur/").replace(/:2,.*$/, "");
    await rename(first, `${base}:2,FS`);
    await rm(second);
    await writeFile(join(local, "INBOX", "new", `${Date.now()}.local.host`), message("from local"));
    await mbsync();

    const store = f.server.ctx.store;
    const inboxMb = await store.getMailboxByPath(f.account.id, "INBOX");
    assert.ok(inboxMb !== null);
    const rows = await store.listMessages(f.account.id, inboxMb.id);
    assert.equal(rows.length, COUNT);
    assert.equal(rows.filter((r) => r.keywords.includes("\\Flagged")).length, 1);
    const parsed = await store.getEnvelopes(
      f.account.id,
      rows.slice(-1).map((r) => r.emailId),
    );
    assert.equal([...parsed.values()][0]?.subject, "from local");

    // a change on the server comes down
    await store.setKeywords(f.account.id, [rows[5]?.emailId ?? ""], { add: ["\\Answered"] });
    await mbsync();
    assert.equal((await files("INBOX")).filter((n) => /:2,[A-Z]*R/.test(n)).length, 1);

    // nothing left to do: neither side changes
    const modseq = await store.currentModSeq(f.account.id);
    const before = (await files("INBOX")).sort();
    await mbsync();
    assert.equal(await store.currentModSeq(f.account.id), modseq);
    assert.deepEqual((await files("INBOX")).sort(), before);
  });
});
