// Maildir trees: layout detection, flags and keywords, names, write → read round trip.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  detectMaildirLayout,
  listMaildirFolders,
  maildirTotals,
  MaildirWriter,
  readMaildir,
  readMaildirFolder,
  type MaildirMessage,
} from "../../src/mail/formats/maildir.ts";
import { MaildirNameError } from "../../src/mail/formats/maildir-writer.ts";
import {
  flagsFromInfo,
  infoFromFlags,
  parseMaildirName,
  parseUidlist,
} from "../../src/mail/formats/maildir-info.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "maildir-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function folder(path: string): Promise<void> {
  for (const s of ["cur", "new", "tmp"]) await mkdir(join(path, s), { recursive: true });
}

async function all(root: string, opts = {}): Promise<MaildirMessage[]> {
  const out: MaildirMessage[] = [];
  for await (const m of readMaildir(root, opts)) out.push(m);
  return out;
}

const T = Date.UTC(2024, 0, 2, 3, 4, 5);

void describe("Maildir layouts", () => {
  void test("Maildir++: INBOX at the root, .Sent and .Archive.2024, modified UTF-7 names", async () => {
    await withDir(async (root) => {
      await folder(root);
      await folder(join(root, ".Sent"));
      await folder(join(root, ".Archive.2024"));
      await folder(join(root, ".Entw&APw-rfe")); // Dovecot's modified UTF-7 for "Entwürfe"
      await mkdir(join(root, ".NotAFolder")); // no cur/new
      await writeFile(join(root, "dovecot-uidlist"), "3 V1 N1\n");
      assert.equal(await detectMaildirLayout(root), "maildir++");
      const names = (await listMaildirFolders(root)).map((f) => f.name);
      assert.deepEqual(names, ["INBOX", "Archive/2024", "Entwürfe", "Sent"]);
    });
  });

  void test("nested: Sent/, Archive/2024/ (Archive itself no folder), hidden dirs and cur/new/tmp skipped", async () => {
    await withDir(async (root) => {
      await folder(root);
      await folder(join(root, "Sent"));
      await folder(join(root, "Archive", "2024"));
      await folder(join(root, "Entw&APw-rfe"));
      await mkdir(join(root, ".cache"), { recursive: true });
      await mkdir(join(root, "courierimapkeywords"));
      assert.equal(await detectMaildirLayout(root), "nested");
      const names = (await listMaildirFolders(root)).map((f) => f.name);
      assert.deepEqual(names, ["INBOX", "Archive/2024", "Entwürfe", "Sent"]);
    });
  });

  void test("a lone INBOX counts as Maildir++; the layout can be forced", async () => {
    await withDir(async (root) => {
      await folder(root);
      await folder(join(root, "Sub"));
      assert.equal(await detectMaildirLayout(join(root, "Sub")), "maildir++");
      assert.deepEqual(
        (await listMaildirFolders(root, { layout: "maildir++" })).map((f) => f.name),
        ["INBOX"],
      );
    });
  });

  void test("symbolic links are not followed", async () => {
    await withDir(async (root) => {
      await folder(root);
      await folder(join(root, "real"));
      await writeFile(join(root, "real", "cur", "1.a.host:2,S"), "Subject: x\n\n");
      await symlink(join(root, "real"), join(root, "link"));
      await symlink(join(root, "real", "cur", "1.a.host:2,S"), join(root, "cur", "2.b.host:2,S"));
      const folders = (await listMaildirFolders(root, { layout: "nested" })).map((f) => f.name);
      assert.deepEqual(folders, ["INBOX", "real"]);
      const inbox = [];
      for await (const m of readMaildirFolder({ name: "INBOX", path: root })) inbox.push(m);
      assert.equal(inbox.length, 0);
    });
  });
});

void describe("Maildir messages", () => {
  void test("flags from the info, keywords from dovecot-keywords, new/ unseen, dates from mtime or T=", async () => {
    await withDir(async (root) => {
      await folder(root);
      await writeFile(join(root, "dovecot-keywords"), "0 $Junk\n1 work\n3 later\n");
      const files: [string, string][] = [
        ["cur/1700000001.M1P1Q1.host,S=12,W=14:2,FRS", "Subject: 1\n\n"],
        ["cur/1700000002.M1P1Q2.host:2,DPTabcd", "Subject: 2\n\n"],
        ["cur/1700000003.M1P1Q3.host,T=1600000000:2,", "Subject: 3\n\n"],
        ["new/1700000004.M1P1Q4.host", "Subject: 4\n\n"],
        ["new/1700000004.M1P1Q5.host:2,FS", "Subject: 4b\n\n"],
        ["cur/1700000005.M1P1Q5.host!2,S", "Subject: 5\n\n"],
        ["cur/.hidden", "not a message"],
        ["tmp/1700000006.M1P1Q6.host", "in delivery"],
      ];
      for (const [p, text] of files) {
        await writeFile(join(root, p), text);
        await utimes(join(root, p), T / 1000, T / 1000);
      }
      const ms = await all(root, { crlf: false });
      assert.deepEqual(
        ms.map((m) => [m.raw.toString(), m.flags, m.internalDate]),
        [
          ["Subject: 1\n\n", ["\\Flagged", "\\Answered", "\\Seen"], T],
          ["Subject: 2\n\n", ["\\Draft", "$Forwarded", "\\Deleted", "$Junk", "work", "later"], T],
          ["Subject: 3\n\n", [], 1600000000_000],
          ["Subject: 4\n\n", [], T],
          ["Subject: 4b\n\n", ["\\Flagged"], T],
          ["Subject: 5\n\n", ["\\Seen"], T],
        ],
      );
      assert.ok(ms.every((m) => m.folder === "INBOX"));
      assert.deepEqual(await maildirTotals(await listMaildirFolders(root)), { messages: 6, bytes: 73 });
    });
  });

  void test("crlf (the default) converts LF to CRLF", async () => {
    await withDir(async (root) => {
      await folder(root);
      await writeFile(join(root, "cur", "1.x.h:2,"), "Subject: a\n\nb\n");
      const [m] = await all(root);
      assert.equal(m!.raw.toString(), "Subject: a\r\n\r\nb\r\n");
      assert.equal(m!.fileSize, 14);
    });
  });

  void test("order: dovecot-uidlist first, else the time in the name", async () => {
    await withDir(async (root) => {
      await folder(root);
      for (const n of ["30.a.h", "4.b.h", "100.c.h", "5.d.h"])
        await writeFile(join(root, "cur", `${n}:2,`), n);
      const byTime = (await all(root, { crlf: false })).map((m) => m.raw.toString());
      assert.deepEqual(byTime, ["4.b.h", "5.d.h", "30.a.h", "100.c.h"]);
      await writeFile(join(root, "dovecot-uidlist"), "3 V1 N10 Gabc\n1 :100.c.h\n2 W20 :30.a.h\n");
      const byUid = (await all(root, { crlf: false })).map((m) => m.raw.toString());
      assert.deepEqual(byUid, ["100.c.h", "30.a.h", "4.b.h", "5.d.h"]);
    });
  });

  void test("name helpers", () => {
    assert.deepEqual(parseMaildirName("1.M2P3.host,S=10,W=12:2,RS"), {
      base: "1.M2P3.host,S=10,W=12",
      info: "RS",
      fields: new Map([
        ["S", "10"],
        ["W", "12"],
      ]),
    });
    assert.equal(parseMaildirName("1.x.host").info, null);
    assert.deepEqual(flagsFromInfo("Sz", []), ["\\Seen"]);
    assert.equal(
      infoFromFlags(["\\Seen", "\\Recent", "$Forwarded", "\\Draft", "b-kw", "a-kw"], (k) =>
        k === "a-kw" ? "a" : k === "b-kw" ? "c" : null,
      ),
      "DPSac",
    );
    assert.deepEqual(
      parseUidlist("3 V1 N3\n1 :a\n2 G123 :b:2,S\n"),
      new Map([
        ["a", 1],
        ["b:2,S", 2],
      ]),
    );
  });
});

void describe("Maildir writer", () => {
  void test("Maildir++ by default: folders, maildirfolder file, unique names, mtime, info, keywords file", async () => {
    await withDir(async (root) => {
      const w = new MaildirWriter(root, { hostname: "mx/1:a", now: () => T });
      const p1 = await w.write("INBOX", {
        raw: Buffer.from("Subject: a\r\n\r\nx\r\n"),
        flags: ["\\Seen", "work"],
        internalDate: T - 1000,
      });
      const p2 = await w.write("Archive/2024", {
        raw: Buffer.from("Subject: b\n\n"),
        flags: ["\\Answered", "$Forwarded", "later", "work"],
      });
      assert.match(p1, /\/cur\/1704164645\.M000000P\d+Q\d+\.mx\\0571\\072a,S=14:2,Sa$/);
      assert.ok(p2.startsWith(join(root, ".Archive.2024", "cur") + "/"));
      assert.ok(p2.endsWith(":2,PRab"));
      assert.equal((await readFile(p1)).toString(), "Subject: a\n\nx\n", "LF on disk by default");
      assert.equal((await stat(p1)).mtimeMs, T - 1000);
      assert.equal((await stat(p2)).mtimeMs, T);
      assert.equal(await readFile(join(root, ".Archive.2024", "maildirfolder"), "utf8"), "");
      assert.equal(
        await readFile(join(root, ".Archive.2024", "dovecot-keywords"), "utf8"),
        "0 later\n1 work\n",
      );
      assert.deepEqual(await readdir(join(root, ".Archive.2024", "tmp")), []);
      assert.equal(w.messages, 2);
      await w.close();
    });
  });

  void test("names the layouts cannot hold are refused or escaped", async () => {
    await withDir(async (root) => {
      const nested = new MaildirWriter(root, { layout: "nested" });
      await assert.rejects(nested.createFolder("a/cur"), MaildirNameError);
      await assert.rejects(nested.createFolder("a//b"), MaildirNameError);
      await assert.rejects(nested.createFolder("../x"), MaildirNameError);
      const plus = new MaildirWriter(root);
      assert.equal(plus.folderPath("v1.2/Ünï & co"), join(root, ".v1\\2e2.&ANw-n&AO8- &- co"));
    });
  });

  void test("many messages in the same millisecond read back in writing order", async () => {
    await withDir(async (root) => {
      const w = new MaildirWriter(root, { now: () => T });
      for (let i = 0; i < 30; i++) await w.write("INBOX", { raw: Buffer.from(String(i)) });
      assert.deepEqual(
        (await all(root)).map((m) => m.raw.toString()),
        Array.from({ length: 30 }, (_, i) => String(i)),
      );
    });
  });

  void test("keywords past 26 in a folder are dropped and counted", async () => {
    await withDir(async (root) => {
      const w = new MaildirWriter(root);
      const many = Array.from({ length: 28 }, (_, i) => `kw${i}`);
      await w.write("INBOX", { raw: Buffer.from("x"), flags: many });
      assert.equal(w.droppedKeywords, 2);
      const [m] = await all(root);
      assert.deepEqual(m!.flags, many.slice(0, 26));
    });
  });

  for (const layout of ["maildir++", "nested"] as const) {
    void test(`round trip write → read, ${layout}: bytes, flags, dates, folder names`, async () => {
      const folderName = fc.constantFrom(
        "INBOX",
        "Sent",
        "Archive/2024",
        "Archive/2025",
        "Entwürfe",
        "v1.2",
        "Q&A",
        ".dot",
        "a\\b",
        "日本語/子",
      );
      const msg = fc.record({
        folder: folderName,
        body: fc
          .uint8Array({ maxLength: 300 })
          .map((a) => Buffer.from(a.filter((b) => b !== 10 && b !== 13))),
        flags: fc.subarray([
          "\\Seen",
          "\\Answered",
          "\\Flagged",
          "\\Deleted",
          "\\Draft",
          "$Forwarded",
          "$Junk",
          "work",
          "todo",
        ]),
        seconds: fc.integer({ min: 0, max: 4102444800 }),
      });
      const msgs = fc.sample(msg, { numRuns: 300, seed: 7 });
      await withDir(async (root) => {
        const w = new MaildirWriter(root, { layout });
        const expected = new Map<string, { raw: Buffer; flags: string[]; date: number }[]>();
        for (const m of msgs) {
          const raw = Buffer.concat([Buffer.from("Subject: s\r\n\r\n"), m.body, Buffer.from("\r\nend\r\n")]);
          await w.write(m.folder, { raw, flags: m.flags, internalDate: m.seconds * 1000 });
          const list = expected.get(m.folder) ?? [];
          list.push({ raw, flags: m.flags, date: m.seconds * 1000 });
          expected.set(m.folder, list);
        }
        assert.equal(await detectMaildirLayout(root), expected.size > 1 ? layout : "maildir++");
        const got = new Map<string, MaildirMessage[]>();
        for await (const m of readMaildir(root)) got.set(m.folder, [...(got.get(m.folder) ?? []), m]);
        assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
        for (const [name, list] of expected) {
          const back = got.get(name)!;
          assert.equal(back.length, list.length, name);
          list.forEach((e, i) => {
            assert.ok(back[i]!.raw.equals(e.raw), `${name} #${i} bytes`);
            assert.deepEqual([...back[i]!.flags].sort(), [...e.flags].sort(), `${name} #${i} flags`);
            assert.equal(back[i]!.internalDate, e.date, `${name} #${i} date`);
          });
        }
      });
    });
  }
});
