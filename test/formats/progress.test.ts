// The progress reporter: plain lines off a terminal, a throttled in-place bar on one, a summary.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  formatBytes,
  formatDuration,
  ProgressReporter,
  type ProgressStream,
} from "../../src/mail/formats/progress.ts";

class Capture implements ProgressStream {
  writes: string[] = [];
  isTTY: boolean;
  columns = 100;
  constructor(tty: boolean) {
    this.isTTY = tty;
  }
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
}

void describe("progress", () => {
  void test("plain: a line every intervalMs and every N messages, then a summary", () => {
    const out = new Capture(false);
    let t = 0;
    const p = new ProgressReporter({
      label: "import",
      stream: out,
      now: () => t,
      intervalMs: 5000,
      everyMessages: 5000,
    });
    for (let i = 0; i < 4999; i++) {
      t += 0.5;
      p.add(1, 20480);
    }
    assert.equal(out.writes.length, 0, "nothing before 5000 messages or 5 s");
    t += 0.5;
    p.add(1, 20480);
    assert.equal(out.writes.length, 1);
    assert.equal(out.writes[0], "import: 5000 messages, 102.4 MB, 2000 msg/s\n");
    t += 5000;
    p.add(0, 0);
    assert.equal(out.writes.length, 2, "and after 5 s without a message count trigger");
    p.fail(2);
    const summary = p.finish();
    assert.equal(summary, "import: done, 5000 messages, 102.4 MB in 7.5 s (667 msg/s, 13.7 MB/s), 2 failed");
    assert.equal(out.writes.at(-1), summary + "\n");
    p.add(1, 1);
    assert.equal(out.writes.at(-1), summary + "\n", "nothing after finish");
  });

  void test("plain with totals: percent and ETA", () => {
    const out = new Capture(false);
    let t = 0;
    const p = new ProgressReporter({
      label: "export",
      stream: out,
      now: () => t,
      totalBytes: 1000,
      intervalMs: 1000,
    });
    t = 1000;
    p.add(10, 250);
    assert.equal(out.writes[0], "export: 10 messages, 250 B, 10 msg/s, 25.0%, ETA 3s\n");
  });

  void test("tty: in-place bar redrawn at most every 100 ms, cleared by the summary", () => {
    const out = new Capture(true);
    let t = 0;
    const p = new ProgressReporter({
      label: "import",
      stream: out,
      now: () => t,
      totalMessages: 100,
      totalBytes: 100_000,
    });
    p.add(1, 1000);
    assert.equal(out.writes.length, 1);
    assert.ok(out.writes[0]!.startsWith("\r\x1b[2Kimport ["));
    for (let i = 0; i < 50; i++) {
      t += 1;
      p.add(1, 1000);
    }
    assert.equal(out.writes.length, 1, "no redraw within 100 ms");
    t += 100;
    p.add(0, 0);
    assert.equal(out.writes.length, 2);
    const bar = out.writes[1]!;
    assert.match(
      bar,
      /^\r\x1b\[2Kimport \[#{12}-{12}\]  51% 51\/100 msg {2}51\.0 kB\/100\.0 kB {2}\d+ msg\/s {2}ETA \d+s$/,
    );
    assert.ok(bar.length <= 100 + 5);
    p.note("warning: skipped one");
    assert.deepEqual(out.writes.slice(2, 4), ["\r\x1b[2K", "warning: skipped one\n"]);
    assert.ok(out.writes[4]!.startsWith("\r\x1b[2Kimport ["), "bar drawn again after the note");
    p.finish("3 duplicates");
    assert.equal(out.writes.at(-2), "\r\x1b[2K");
    assert.match(
      out.writes.at(-1)!,
      /^import: done, 51 messages, 51\.0 kB in 0\.\d s \(\d+ msg\/s, [\d.]+ kB\/s\), 3 duplicates\n$/,
    );
  });

  void test("tty bar without totals, narrow terminal", () => {
    const out = new Capture(true);
    out.columns = 30;
    const p = new ProgressReporter({ label: "import", stream: out, now: () => 0 });
    p.add(3, 10);
    assert.equal(out.writes[0], "\r\x1b[2K" + "import  3 msg  10 B  0 msg/s".slice(0, 29));
  });

  void test("units", () => {
    assert.equal(formatBytes(999), "999 B");
    assert.equal(formatBytes(1500), "1.5 kB");
    assert.equal(formatBytes(2.5e9), "2.5 GB");
    assert.equal(formatDuration(45_000), "45s");
    assert.equal(formatDuration(185_000), "3m05s");
    assert.equal(formatDuration(7_620_000), "2h07m");
  });
});
