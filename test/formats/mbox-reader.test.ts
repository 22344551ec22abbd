// readMbox on the awkward files real mail programs write.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  MboxError,
  readMbox,
  type MboxMessage,
  type MboxReadOptions,
} from "../../src/mail/formats/mbox-reader.ts";
import { parseFromLine, parseFromDate, formatAsctime } from "../../src/mail/formats/mbox-from-line.ts";

async function read(
  text: string | Buffer,
  opts: MboxReadOptions = { crlf: false },
  chunks?: number[],
): Promise<MboxMessage[]> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, "latin1");
  let pieces: Buffer[] = [buf];
  if (chunks) {
    pieces = [];
    let at = 0;
    for (const n of chunks) {
      pieces.push(buf.subarray(at, Math.min(buf.length, at + n)));
      at = Math.min(buf.length, at + n);
    }
    if (at < buf.length) pieces.push(buf.subarray(at));
  }
  const out: MboxMessage[] = [];
  for await (const m of readMbox(Readable.from(pieces), opts)) out.push(m);
  return out;
}

const bodies = (ms: MboxMessage[]): string[] => ms.map((m) => m.raw.toString("latin1"));
const D1 = "Mon Jan  1 00:00:00 2024";
const T1 = Date.UTC(2024, 0, 1);

void describe("mbox separators and quoting", () => {
  void test("two messages, the separator's blank line is not part of a message", async () => {
    const ms = await read(
      `From a@example.org ${D1}\nSubject: one\n\nbody 1\n\nFrom b@example.org ${D1}\nSubject: two\n\nbody 2\n\n`,
    );
    assert.deepEqual(bodies(ms), ["Subject: one\n\nbody 1\n", "Subject: two\n\nbody 2\n"]);
    assert.equal(ms[0]!.envelopeSender, "a@example.org");
    assert.equal(ms[1]!.internalDate, T1);
  });

  void test("mboxrd: one > removed from every ^>+From line, and only there", async () => {
    const ms = await read(
      `From a ${D1}\nS: x\n\n>From quoted\n>>From twice\n>>>From thrice\n > From not at start\n>Fromage\nx>From y\n\n`,
    );
    assert.deepEqual(bodies(ms), [
      "S: x\n\nFrom quoted\n>From twice\n>>From thrice\n > From not at start\n>Fromage\nx>From y\n",
    ]);
  });

  void test("mboxo: only ^>From lines lose their >", async () => {
    const ms = await read(`From a ${D1}\n\n>From quoted\n>>From twice\n\n`, { crlf: false, format: "mboxo" });
    assert.deepEqual(bodies(ms), ["\nFrom quoted\n>>From twice\n"]);
  });

  void test("an unquoted From line without a date stays in the body (mboxo files)", async () => {
    const ms = await read(
      `From a ${D1}\n\nhello\nFrom here on we walk\n\nFrom the top\n\nFrom b ${D1}\n\nsecond\n`,
    );
    assert.equal(ms.length, 2);
    assert.equal(ms[0]!.raw.toString(), "\nhello\nFrom here on we walk\n\nFrom the top\n");
  });

  void test("an unquoted From line with a date is a separator (the mboxo ambiguity)", async () => {
    const ms = await read(`From a ${D1}\n\nhello\nFrom someone Tue Jan  2 10:00:00 2024\nrest\n`);
    assert.equal(ms.length, 2);
    assert.equal(ms[1]!.raw.toString(), "rest");
  });

  void test("message without trailing newline, in the middle and at the end", async () => {
    const ms = await read(`From a ${D1}\n\nno newline\nFrom b ${D1}\n\nlast, no newline`);
    assert.deepEqual(bodies(ms), ["\nno newline", "\nlast, no newline"]);
  });

  void test("empty messages", async () => {
    const ms = await read(`From a ${D1}\n\nFrom b ${D1}\nFrom c ${D1}\n`);
    assert.deepEqual(bodies(ms), ["", "", ""]);
    const last = await read(`From a ${D1}`);
    assert.deepEqual(bodies(last), [""]);
  });

  void test("empty file and blank lines only give no message; leading blank lines are skipped", async () => {
    assert.equal((await read("")).length, 0);
    assert.equal((await read("\n\n")).length, 0);
    assert.deepEqual(bodies(await read(`\n\nFrom a ${D1}\n\nx\n`)), ["\nx"]);
  });

  void test("a file that is not an mbox throws MboxError", async () => {
    await assert.rejects(
      read("Subject: hi\n\nbody\n"),
      (e: unknown) => e instanceof MboxError && e.offset === 0,
    );
  });

  void test("the first From line may lack a date", async () => {
    const ms = await read(`From someone\n\nbody\n`);
    assert.equal(ms.length, 1);
    assert.equal(ms[0]!.envelopeSender, "someone");
    assert.equal(ms[0]!.internalDate, null);
  });

  void test("offsets and file lengths cover the file", async () => {
    const text = `From a ${D1}\n\none\n\nFrom b ${D1}\n\ntwo\n`;
    const ms = await read(text);
    const second = text.indexOf("From b");
    assert.deepEqual(
      ms.map((m) => [m.offset, m.fileLength]),
      [
        [0, second],
        [second, text.length - second],
      ],
    );
  });
});

void describe("mbox line endings", () => {
  const crlfFile = `From a ${D1}\r\nSubject: x\r\n\r\nline\r\n>From q\r\n\r\nFrom b ${D1}\r\n\r\nend\r\n\r\n`;

  void test("CRLF file, crlf:false keeps CRLF", async () => {
    const ms = await read(crlfFile);
    assert.deepEqual(bodies(ms), ["Subject: x\r\n\r\nline\r\nFrom q\r\n", "\r\nend\r\n"]);
  });

  void test("CRLF file, crlf:true changes nothing more", async () => {
    const ms = await read(crlfFile, { crlf: true });
    assert.deepEqual(bodies(ms), ["Subject: x\r\n\r\nline\r\nFrom q\r\n", "\r\nend\r\n"]);
  });

  void test("LF file: crlf (the default) converts, crlf:false keeps the bytes", async () => {
    const file = `From a ${D1}\nSubject: x\n\nline\n\n`;
    assert.deepEqual(bodies(await read(file, {})), ["Subject: x\r\n\r\nline\r\n"]);
    assert.deepEqual(bodies(await read(file, { crlf: false })), ["Subject: x\n\nline\n"]);
  });
});

void describe("mbox flags from bookkeeping headers", () => {
  void test("Status, X-Status, X-Keywords (comma and space lists), removed from the message", async () => {
    const ms = await read(
      `From a ${D1}\nSubject: s\nStatus: RO\nX-Status: ADFT\nX-Keywords: $Label1, work  Junk\nX-UID: 7\nContent-Length: 5\n\nbody\n\n`,
    );
    assert.deepEqual(ms[0]!.flags, [
      "\\Seen",
      "\\Answered",
      "\\Flagged",
      "\\Deleted",
      "\\Draft",
      "$Label1",
      "work",
      "Junk",
    ]);
    assert.equal(ms[0]!.raw.toString(), "Subject: s\nContent-Length: 5\n\nbody\n");
  });

  void test("Status O alone: not seen, no flags", async () => {
    const ms = await read(`From a ${D1}\nStatus: O\n\nx\n`);
    assert.deepEqual(ms[0]!.flags, []);
  });

  void test("stripStatusHeaders:false keeps the headers and still reads the flags", async () => {
    const ms = await read(`From a ${D1}\nStatus: R\n\nx\n`, { crlf: false, stripStatusHeaders: false });
    assert.deepEqual(ms[0]!.flags, ["\\Seen"]);
    assert.equal(ms[0]!.raw.toString(), "Status: R\n\nx");
  });

  void test("Thunderbird X-Mozilla-Status, -Status2 and -Keys; folded X-Keywords", async () => {
    const ms = await read(
      `From - ${D1}\nX-Mozilla-Status: 1007\nX-Mozilla-Status2: 04000000\nX-Mozilla-Keys: $label2 todo                \nX-Keywords: a,\n b\nSubject: t\n\nx\n`,
    );
    assert.equal(ms[0]!.envelopeSender, null);
    assert.deepEqual(ms[0]!.flags, [
      "\\Seen",
      "\\Answered",
      "\\Flagged",
      "$Forwarded",
      "$label2",
      "todo",
      "a",
      "b",
    ]);
    assert.equal(ms[0]!.raw.toString(), "Subject: t\n\nx");
  });

  void test("Status lines in the body are the body's", async () => {
    const ms = await read(`From a ${D1}\nSubject: s\n\nStatus: RO\n`);
    assert.deepEqual(ms[0]!.flags, []);
    assert.equal(ms[0]!.raw.toString(), "Subject: s\n\nStatus: RO");
  });

  void test("UW-IMAP's folder internal data message is skipped", async () => {
    const ms = await read(
      `From MAILER-DAEMON ${D1}\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1234 0000000002\n\nThis text is part of the internal format\n\nFrom a ${D1}\n\nreal\n`,
    );
    assert.deepEqual(bodies(ms), ["\nreal"]);
  });
});

void describe("mbox From line dates", () => {
  const cases: [string, number | null][] = [
    [`From a@b ${D1}`, T1],
    ["From a@b Sat Jan 3 01:05:34 1996", Date.UTC(1996, 0, 3, 1, 5, 34)],
    ["From a@b Mon Jan  1 10:00 2024", Date.UTC(2024, 0, 1, 10, 0)],
    ["From a@b Mon Jan 01 10:00:00 +0200 2024", Date.UTC(2024, 0, 1, 8, 0)],
    ["From a@b Mon Jan  1 10:00:00 2024 -0500", Date.UTC(2024, 0, 1, 15, 0)],
    ["From a@b Tue Jan  1 00:00:00 EST 1991", Date.UTC(1991, 0, 1, 5, 0)],
    ["From a@b mon jan  1 00:00:00 2024", T1],
    ["From a@b Mon, 1 Jan 2024 12:00:00 +0100", Date.UTC(2024, 0, 1, 11, 0)],
    ["From a@b 1 Jan 24 12:00 GMT", Date.UTC(2024, 0, 1, 12, 0)],
    ["From a@b 2024-01-01T12:00:00Z", Date.UTC(2024, 0, 1, 12, 0)],
    ["From a@b 2024-01-01 12:00:00 +01:00", Date.UTC(2024, 0, 1, 11, 0)],
    ["From a@b Mon Jan  1 00:00:00 2024 remote from uucphost", T1],
    ["From a@b\tMon Jan  1 00:00:00 2024", T1],
    ["From  a@b  Mon Jan  1 00:00:00 2024", T1],
  ];
  for (const [line, t] of cases) {
    void test(line, () => {
      const p = parseFromLine(line);
      assert.ok(p, "is a separator");
      assert.equal(p.sender, "a@b");
      assert.equal(p.date, t);
    });
  }

  void test("no sender, quoted sender with spaces, MAILER-DAEMON, CR at the end", () => {
    assert.deepEqual(parseFromLine(`From ${D1}`), { sender: null, date: T1 });
    assert.deepEqual(parseFromLine(`From "john doe"@example.org ${D1}`), {
      sender: '"john doe"@example.org',
      date: T1,
    });
    assert.deepEqual(parseFromLine(`From MAILER-DAEMON ${D1}\r`), { sender: "MAILER-DAEMON", date: T1 });
  });

  void test("lines without a date are no separators; garbage dates are refused", () => {
    assert.equal(parseFromLine("From here on we walk"), null);
    assert.equal(parseFromLine("From a@b Foo Bar 99 99:99:99 2024"), null);
    assert.equal(parseFromLine("From a@b Mon Jan 32 00:00:00 2024"), null);
    assert.equal(parseFromDate("yesterday"), null);
  });

  void test("asctime pads the day with a space", () => {
    assert.equal(formatAsctime(T1), D1);
    assert.equal(formatAsctime(Date.UTC(2024, 11, 25, 13, 5, 9)), "Wed Dec 25 13:05:09 2024");
  });
});

void describe("mbox streaming", () => {
  const file =
    `From a ${D1}\nSubject: one\nStatus: RO\n\nFrom-like: no\n>From q\nbody\n\n` +
    `From b ${D1}\r\n\r\nmixed\r\n\r\n` +
    `From c ${D1}\n\nlast`;

  void test("any split into chunks gives the same messages", async () => {
    const whole = await read(file);
    for (const size of [1, 2, 3, 5, 7, 13, 64]) {
      const chunks = Array.from({ length: Math.ceil(file.length / size) }, () => size);
      assert.deepEqual(await read(file, { crlf: false }, chunks), whole, `chunk size ${size}`);
    }
  });

  void test("reading a path; stopping early closes the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mbox-"));
    try {
      const path = join(dir, "in.mbox");
      await writeFile(path, file);
      const all: MboxMessage[] = [];
      for await (const m of readMbox(path, { chunkSize: 16 })) all.push(m);
      assert.equal(all.length, 3);
      for await (const m of readMbox(path)) {
        assert.equal(m.envelopeSender, "a");
        break;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test("a message spanning many chunks; a very long From-like line is body", async () => {
    const body = Array.from({ length: 40_000 }, (_, i) => (i % 7 === 0 ? ">From q " : "line ") + i).join(
      "\n",
    );
    const long = "From " + "x".repeat(10_000);
    const text = `From a ${D1}\n\n${body}\n${long}\n\nFrom b ${D1}\n\nend\n`;
    const chunks = Array.from({ length: Math.ceil(text.length / 1000) }, () => 1000);
    const ms = await read(text, { crlf: false }, chunks);
    assert.equal(ms.length, 2);
    assert.equal(ms[0]!.raw.toString(), "\n" + body.replace(/^>From/gm, "From") + "\n" + long + "\n");
    assert.equal(ms[1]!.raw.toString(), "\nend");
  });

  void test("maxMessageSize is enforced", async () => {
    await assert.rejects(read(`From a ${D1}\n\n${"x".repeat(100)}\n`, { maxMessageSize: 50 }), MboxError);
  });
});
