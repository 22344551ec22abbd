// readMbox keeps memory flat: a ~200 MB file of 100,000 messages reads with the heap and the
// buffers growing by less than 50 MB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { readMbox } from "../../src/mail/formats/mbox-reader.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const MESSAGES = 100_000;

function message(i: number): string {
  const line = `line ${i} of a message body, long enough to look like real text in a mail ......\n`;
  return (
    `From sender${i}@example.org Mon Jan  1 00:00:${String(i % 60).padStart(2, "0")} 2024\n` +
    `From: sender${i}@example.org\nTo: rcpt@example.org\nSubject: message ${i}\nStatus: RO\nX-Keywords: work\n\n` +
    line.repeat(12) +
    ">From quoted line\n" +
    line.repeat(12) +
    "\n"
  );
}

void test("a ~200 MB mbox reads in flat memory", { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "mbox-big-"));
  try {
    const path = join(dir, "big.mbox");
    const out = createWriteStream(path);
    let batch = "";
    for (let i = 0; i < MESSAGES; i++) {
      batch += message(i);
      if (batch.length > 1 << 20) {
        if (!out.write(batch)) await once(out, "drain");
        batch = "";
      }
    }
    out.end(batch);
    await once(out, "finish");
    const size = (await stat(path)).size;
    assert.ok(size > 200e6, `file is ${size} bytes`);

    gc();
    const base = process.memoryUsage();
    let peak = 0;
    let count = 0;
    let bytes = 0;
    let flagged = 0;
    for await (const m of readMbox(path)) {
      count++;
      bytes += m.fileLength;
      if (m.flags.includes("\\Seen") && m.flags.includes("work")) flagged++;
      if (count % 10_000 === 0) {
        gc();
        const u = process.memoryUsage();
        peak = Math.max(peak, u.heapUsed + u.arrayBuffers - (base.heapUsed + base.arrayBuffers));
      }
    }
    assert.equal(count, MESSAGES);
    assert.equal(flagged, MESSAGES);
    assert.equal(bytes, size);
    assert.ok(peak < 50e6, `heap + buffers grew by ${(peak / 1e6).toFixed(1)} MB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
