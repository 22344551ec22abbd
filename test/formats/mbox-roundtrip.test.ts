// MboxWriter → readMbox gives back the same bytes, flags and dates (property tests).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import fc from "fast-check";
import { readMbox, type MboxMessage, type MboxReadOptions } from "../../src/mail/formats/mbox-reader.ts";
import {
  formatMboxEntry,
  MboxWriter,
  type MboxWriterOptions,
  type MboxWriteInput,
} from "../../src/mail/formats/mbox-writer.ts";

/** A line: random bytes but NUL, CR and LF, often starting like an mbox-sensitive line. */
const line = fc
  .tuple(
    fc.constantFrom(
      "",
      "",
      "",
      "From ",
      ">From ",
      ">>From ",
      "From someone Mon Jan  1 00:00:00 2024",
      ".",
      "..",
      "Status: RO",
      ">",
      " ",
    ),
    fc
      .uint8Array({ maxLength: 40 })
      .map((a) => Buffer.from(a.filter((b) => b !== 0 && b !== 10 && b !== 13))),
    fc.constantFrom("", "", "", "\ra"),
  )
  .map(([prefix, bytes, tail]) =>
    Buffer.concat([Buffer.from(prefix, "latin1"), bytes, Buffer.from(tail, "latin1")]),
  );

const headerLine = fc.constantFrom(
  "Subject: hello",
  "From: a@example.org",
  "To: b@example.org",
  "X-Thing: From x",
  "Received: by x;\n  Mon, 1 Jan 2024 00:00:00 +0000",
);

const flagsArb = fc.subarray([
  "\\Seen",
  "\\Answered",
  "\\Flagged",
  "\\Deleted",
  "\\Draft",
  "$Forwarded",
  "$Junk",
  "work",
  "todo",
]);

/**
 * A message with LF line endings: header fields (maybe none), an empty line, body lines, the
 * last line with or without LF; or header fields only, without the empty line.
 */
const message: fc.Arbitrary<MboxWriteInput & { raw: Buffer }> = fc
  .record({
    headers: fc.array(headerLine, { maxLength: 4 }),
    body: fc.array(line, { maxLength: 12 }),
    end: fc.constantFrom("\n", "\n", ""),
    headerOnly: fc.boolean(),
    flags: flagsArb,
    seconds: fc.integer({ min: 0, max: 4102444800 }),
    sender: fc.constantFrom("a@example.org", "MAILER-DAEMON", '"x y"@example.org'),
  })
  .map((r) => {
    const head = r.headers.map((h) => Buffer.from(h));
    const lines = r.headerOnly ? head : [...head, Buffer.alloc(0), ...r.body];
    const raw = Buffer.concat([
      Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from("\n"), l]))),
      Buffer.from(lines.length > 0 ? r.end : ""),
    ]);
    return { raw, flags: r.flags, internalDate: r.seconds * 1000, envelopeSender: r.sender };
  });

const toCrlf = (b: Buffer): Buffer => Buffer.from(b.toString("latin1").replace(/\n/g, "\r\n"), "latin1");

async function readAll(src: Readable | string, opts: MboxReadOptions): Promise<MboxMessage[]> {
  const out: MboxMessage[] = [];
  for await (const m of readMbox(src, opts)) out.push(m);
  return out;
}

function check(input: readonly (MboxWriteInput & { raw: Buffer })[], output: MboxMessage[]): void {
  assert.equal(output.length, input.length);
  input.forEach((m, i) => {
    const o = output[i]!;
    assert.ok(
      o.raw.equals(m.raw),
      `message ${i}: ${JSON.stringify(m.raw.toString("latin1"))} came back as ${JSON.stringify(o.raw.toString("latin1"))}`,
    );
    assert.deepEqual([...o.flags].sort(), [...(m.flags ?? [])].sort(), `flags of message ${i}`);
    assert.equal(o.internalDate, m.internalDate, `date of message ${i}`);
    assert.equal(o.envelopeSender, m.envelopeSender, `sender of message ${i}`);
  });
}

const variants: { name: string; crlfInput: boolean; write: MboxWriterOptions; read: MboxReadOptions }[] = [
  { name: "LF messages, LF file, reader keeps bytes", crlfInput: false, write: {}, read: { crlf: false } },
  {
    name: "CRLF messages, CRLF file, reader keeps bytes",
    crlfInput: true,
    write: { eol: "crlf" },
    read: { crlf: false },
  },
  {
    name: "CRLF messages, LF file, reader converts to CRLF (export then import)",
    crlfInput: true,
    write: {},
    read: { crlf: true },
  },
];

void describe("mbox writer → reader round trip", () => {
  for (const v of variants) {
    void test(`property: ${v.name}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 8 }), async (msgs) => {
          const input = v.crlfInput ? msgs.map((m) => ({ ...m, raw: toCrlf(m.raw) })) : msgs;
          const file = Buffer.concat(input.map((m) => formatMboxEntry(m, v.write)));
          // small chunks exercise the separator scan across chunk boundaries
          const chunks: Buffer[] = [];
          for (let i = 0; i < file.length; i += 97) chunks.push(file.subarray(i, i + 97));
          check(input, await readAll(Readable.from(chunks), v.read));
        }),
        { numRuns: 150 },
      );
    });
  }

  void test("1000 generated messages through a file", async () => {
    const msgs = fc.sample(message, { numRuns: 1000, seed: 20261122 });
    const dir = await mkdtemp(join(tmpdir(), "mbox-rt-"));
    try {
      const path = join(dir, "out.mbox");
      const w = new MboxWriter(path);
      for (const m of msgs) await w.write(m);
      await w.close();
      assert.equal(w.messages, 1000);
      assert.equal((await readFile(path)).length, w.bytes);
      check(msgs, await readAll(path, { crlf: false }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test("the file looks like an mbox: From lines, quoting, Status headers, blank line after each message", () => {
    const entry = formatMboxEntry(
      {
        raw: Buffer.from("Subject: x\r\nStatus: U\r\n\r\nFrom me\r\n>From you\r\n"),
        flags: ["\\Seen", "\\Flagged", "\\Recent", "work"],
        internalDate: 0,
        envelopeSender: null,
      },
      {},
    );
    assert.equal(
      entry.toString(),
      "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: x\nStatus: RO\nX-Status: F\nX-Keywords: work\n\n>From me\n>>From you\n\n",
    );
  });

  void test("mboxo quoting and a CRLF file", () => {
    const entry = formatMboxEntry(
      { raw: Buffer.from("\nFrom a\n>From b\n"), internalDate: 0 },
      { format: "mboxo", eol: "crlf", flagHeaders: false },
    );
    assert.equal(
      entry.toString(),
      "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\r\n\r\n>From a\r\n>From b\r\n\r\n",
    );
  });

  void test("backpressure: write waits for a slow stream to drain", async () => {
    const sink = new PassThrough({ highWaterMark: 1024 });
    const w = new MboxWriter(sink);
    let drained = false;
    const big = { raw: Buffer.alloc(10_000, 0x61), internalDate: 0 };
    const pending = w.write(big).then(() => {
      drained = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false, "write() waits while the stream is full");
    const received: Buffer[] = [];
    sink.on("data", (c: Buffer) => received.push(c));
    await pending;
    assert.equal(drained, true);
    const done = w.close();
    await done;
    assert.equal(Buffer.concat(received).length, w.bytes);
  });

  void test("a write error surfaces", async () => {
    const w = new MboxWriter(join(tmpdir(), "no-such-dir-mbox", "x", "out.mbox"));
    await assert.rejects(async () => {
      await w.write({ raw: Buffer.from("x"), internalDate: 0 });
      await w.close();
    });
  });
});
