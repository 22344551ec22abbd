// offlineimap (Debian's offlineimap3) syncs an account both ways, run one-shot as a user would:
// 1,000 messages down across INBOX and a second folder; flags set through Maildir file names, a
// message moved between local folders and a new local message up; flags, an expunge and a new
// message on the server down; then a last run that copies nothing either way.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import type { Mailbox } from "../../../src/store/types.ts";
import { maildirFiles, message, PASSWORD, startImap, type ImapFixture } from "./helpers.ts";

const OFFLINEIMAP = "/usr/bin/offlineimap";
const run = promisify(execFile);
const COUNT = 1000;
const IN_LISTS = 300;

describe("IMAP with offlineimap", () => {
  let f: ImapFixture;
  let rc: string;
  let local: string;
  let lists: Mailbox;
  before(async () => {
    assert.ok(existsSync(OFFLINEIMAP), "needs offlineimap (apt-get install offlineimap3; see .ci/run)");
    f = await startImap();
    const store = f.server.ctx.store;
    lists = await store.createMailbox(f.account.id, { name: "Lists" });
    for (let i = 0; i < COUNT; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          f.deliver(message(`sync ${i + j}`, [`body ${i + j}`]), i + j < IN_LISTS ? "Lists" : "INBOX"),
        ),
      );
    }
    local = join(f.dir, "maildir");
    await mkdir(local);
    rc = join(f.dir, "offlineimaprc");
    await writeFile(
      rc,
      [
        "[general]",
        "accounts = t",
        `metadata = ${join(f.dir, "offlineimap")}`,
        "",
        "[Account t]",
        "localrepository = local",
        "remoterepository = remote",
        "",
        "[Repository local]",
        "type = Maildir",
        `localfolders = ${local}`,
        "",
        "[Repository remote]",
        "type = IMAP",
        "remotehost = 127.0.0.1",
        `remoteport = ${f.port}`,
        `remoteuser = ${f.user}`,
        `remotepass = ${PASSWORD}`,
        "ssl = no",
        "starttls = no",
        // two folders at a time, each over its own session. Not usecompression: imaplib2 3.05
        // inflates at most one read's worth of a chunk and then waits on the socket for the
        // rest it already holds, so a long compressed FETCH reply stalls it for good
        "maxconnections = 2",
        "",
      ].join("\n"),
    );
  });
  after(async () => f.stop());

  /** One-shot run; returns what offlineimap printed. */
  async function offlineimap(): Promise<string> {
    // SIGKILL: offlineimap waits for its threads on SIGTERM, so a stalled run would never end
    const r = await run(OFFLINEIMAP, ["-c", rc, "-o", "-u", "basic"], {
      timeout: 45_000,
      killSignal: "SIGKILL",
    });
    const out = r.stdout + r.stderr;
    assert.doesNotMatch(out, /WARNING|ERROR/, out);
    return out;
  }

  const files = (box: string): Promise<string[]> => maildirFiles(join(local, box));

  /** The "Copy message" lines of a run, "remote" or "local" by the side copied to. */
  function copies(out: string, to: "remote" | "local"): string[] {
    return out.split("\n").filter((l) => l.startsWith("Copy message") && l.includes(`-> ${to}:`));
  }

  /** Subjects by mailbox on the server, from the store. */
  async function serverSubjects(path: string): Promise<string[]> {
    const store = f.server.ctx.store;
    const mb = await store.getMailboxByPath(f.account.id, path);
    assert.ok(mb !== null);
    const rows = await store.listMessages(f.account.id, mb.id, { withEnvelope: true });
    return rows.map((r) => r.envelope?.subject ?? "");
  }

  /** The subject of a local Maildir file. */
  async function subjectOf(file: string): Promise<string> {
    const text = await readFile(file, "utf8");
    return /^Subject: (.*)$/m.exec(text)?.[1]?.trim() ?? "";
  }

  /** Renames a Maildir file to cur/ with exactly these flags (Maildir info "2,<flags>"). */
  async function setLocalFlags(file: string, flags: string, box?: string): Promise<string> {
    const name = basename(file).replace(/:2,.*$/, "");
    const to = join(
      box === undefined ? join(file, "..", "..") : join(local, box),
      "cur",
      `${name}:2,${flags}`,
    );
    await rename(file, to);
    return to;
  }

  const flagged = (names: string[], flag: string): string[] =>
    names.filter((n) => new RegExp(`:2,[A-Za-z]*${flag}`).test(basename(n)));

  test("down, up, down again, and nothing left to do", async () => {
    const store = f.server.ctx.store;
    const inboxMb = await store.getMailboxByPath(f.account.id, "INBOX");
    assert.ok(inboxMb !== null);

    // (1) everything comes down, INBOX and Lists
    let out = await offlineimap();
    assert.equal(copies(out, "local").length, COUNT);
    assert.equal(copies(out, "remote").length, 0);
    const inbox = (await files("INBOX")).sort();
    assert.equal(inbox.length, COUNT - IN_LISTS);
    assert.equal((await files("Lists")).length, IN_LISTS);
    assert.ok(existsSync(join(local, "Sent")));

    // (2) local changes: ten seen, one flagged, one answered, one moved INBOX -> Lists, one new
    const [flagMe, answerMe, moveMe, ...rest] = inbox;
    assert.ok(flagMe !== undefined && answerMe !== undefined && moveMe !== undefined);
    for (const file of rest.slice(0, 10)) await setLocalFlags(file, "S");
    await setLocalFlags(flagMe, "FS");
    await setLocalFlags(answerMe, "RS");
    const movedSubject = await subjectOf(moveMe);
    await setLocalFlags(moveMe, "S", "Lists");
    await writeFile(join(local, "Lists", "new", `${Date.now()}.local.host`), message("from local"));

    out = await offlineimap();
    assert.equal(copies(out, "remote").length, 2, out);
    assert.equal(copies(out, "local").length, 0, out);
    assert.match(out, /^Deleting 1 messages .* in IMAP\[INBOX\]/m);
    const rows = await store.listMessages(f.account.id, inboxMb.id);
    assert.equal(rows.length, COUNT - IN_LISTS - 1);
    assert.equal(rows.filter((r) => r.keywords.includes("\\Seen")).length, 12);
    assert.equal(rows.filter((r) => r.keywords.includes("\\Flagged")).length, 1);
    assert.equal(rows.filter((r) => r.keywords.includes("\\Answered")).length, 1);
    const inboxSubjects = await serverSubjects("INBOX");
    assert.ok(!inboxSubjects.includes(movedSubject));
    const listsSubjects = await serverSubjects("Lists");
    assert.equal(listsSubjects.length, IN_LISTS + 2);
    assert.ok(listsSubjects.includes(movedSubject));
    assert.ok(listsSubjects.includes("from local"));
    const listsRows = await store.listMessages(f.account.id, lists.id);
    const movedRow = listsRows[listsSubjects.indexOf(movedSubject)];
    assert.deepEqual(movedRow?.keywords, ["\\Seen"]);
    // UIDPLUS: offlineimap learnt the new UIDs from APPENDUID, so it did not mark the messages
    // with a header of its own to find them again
    const fromLocal = listsRows[listsSubjects.indexOf("from local")];
    assert.ok(fromLocal !== undefined);
    assert.doesNotMatch(
      (await store.getRaw(f.account.id, fromLocal.emailId))?.toString() ?? "",
      /^X-OfflineIMAP/im,
    );

    // (3) server changes: flags added and removed, two expunged, one delivered
    const flaggedOnServer = rows.find((r) => r.keywords.includes("\\Flagged"));
    assert.ok(flaggedOnServer !== undefined);
    await store.setKeywords(f.account.id, [flaggedOnServer.emailId], { remove: ["\\Flagged"] });
    await store.setKeywords(
      f.account.id,
      rows.slice(100, 105).map((r) => r.emailId),
      { add: ["\\Flagged", "$Important"] },
    );
    const gone = rows.slice(200, 202);
    const goneSubjects = (
      await store.getEnvelopes(
        f.account.id,
        gone.map((r) => r.emailId),
      )
    ).values();
    await store.expunge(
      f.account.id,
      inboxMb.id,
      gone.map((r) => r.uid),
    );
    await f.deliver(message("from the server"));

    out = await offlineimap();
    assert.equal(copies(out, "local").length, 1, out);
    assert.equal(copies(out, "remote").length, 0, out);
    assert.match(out, /^Deleting 2 messages .* in Maildir\[INBOX\]/m);
    const after = await files("INBOX");
    assert.equal(after.length, COUNT - IN_LISTS - 1 - 2 + 1);
    assert.equal(flagged(after, "F").length, 5);
    assert.equal(flagged(after, "S").length, 12);
    assert.equal(flagged(after, "R").length, 1);
    const localSubjects = await Promise.all(after.map(subjectOf));
    assert.ok(localSubjects.includes("from the server"));
    for (const env of goneSubjects) assert.ok(!localSubjects.includes(env.subject ?? ""));

    // (4) nothing left to do: no copies, no flag changes, no deletions, on either side
    const modseq = await store.currentModSeq(f.account.id);
    const uids = (await store.listMessages(f.account.id, inboxMb.id)).map((r) => r.uid);
    const beforeFiles = [...(await files("INBOX")), ...(await files("Lists"))].sort();
    out = await offlineimap();
    assert.equal(copies(out, "local").length + copies(out, "remote").length, 0, out);
    assert.doesNotMatch(out, /^(Adding|Deleting) /m, out);
    assert.equal(await store.currentModSeq(f.account.id), modseq);
    assert.deepEqual(
      (await store.listMessages(f.account.id, inboxMb.id)).map((r) => r.uid),
      uids,
    );
    assert.deepEqual([...(await files("INBOX")), ...(await files("Lists"))].sort(), beforeFiles);
  });
});
