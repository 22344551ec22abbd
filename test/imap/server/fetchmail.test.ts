// fetchmail (Debian) downloads the INBOX over IMAP into an MDA and marks the messages seen;
// a second run fetches nothing new. Skipped without /usr/bin/fetchmail.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { message, PASSWORD, startImap, type ImapFixture } from "./helpers.ts";

const FETCHMAIL = "/usr/bin/fetchmail";
const run = promisify(execFile);

describe("IMAP with fetchmail", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    for (let i = 1; i <= 5; i++) await f.deliver(message(`fm ${i}`));
  });
  after(async () => f.stop());

  async function fetchmail(rc: string): Promise<void> {
    await run(FETCHMAIL, ["-f", rc, "-v", "--nodetach", "--idfile", join(f.dir, "fetchids")], {
      timeout: 30_000,
      env: { ...process.env, HOME: f.dir, FETCHMAILHOME: f.dir },
    }).catch((e: { code?: number; stdout?: string; stderr?: string }) => {
      // exit code 1: no new mail
      if (e.code !== 1) throw new Error(`fetchmail failed (${e.code}): ${e.stdout ?? ""}${e.stderr ?? ""}`);
    });
  }

  test("fetches every message once and leaves them seen", async () => {
    const out = join(f.dir, "fetched.mbox");
    const rc = join(f.dir, "fetchmailrc");
    await writeFile(
      rc,
      `poll 127.0.0.1 protocol IMAP port ${f.port} user "${f.user}" password "${PASSWORD}" keep sslproto '' mda "/bin/sh -c 'cat >> ${out}'"\n`,
    );
    await chmod(rc, 0o600);
    await fetchmail(rc);
    const got = await readFile(out, "utf8");
    for (let i = 1; i <= 5; i++) assert.match(got, new RegExp(`Subject: fm ${i}\\r?\\n`));
    const inbox = await f.server.ctx.store.getMailboxByPath(f.account.id, "INBOX");
    assert.equal(inbox?.unseenEmails, 0);
    await fetchmail(rc);
    assert.equal((await readFile(out, "utf8")).length, got.length);
  });
});
