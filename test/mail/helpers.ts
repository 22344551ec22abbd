// Shared checks for the MIME tests: every recorded offset must slice back to exact bytes.
import assert from "node:assert/strict";
import type { MimePart, ParsedMessage } from "../../src/mail/types.ts";

export function crlf(lines: string[]): Buffer {
  return Buffer.from(lines.join("\r\n"), "utf8");
}
export function lf(lines: string[]): Buffer {
  return Buffer.from(lines.join("\n"), "utf8");
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Walks every part (children and encapsulated messages). */
export function allParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (p: MimePart): void => {
    out.push(p);
    for (const k of p.parts ?? []) walk(k);
    if (p.message) walk(p.message);
  };
  walk(root);
  return out;
}

/**
 * Structural invariants of a parse: offsets ordered and inside [0, size], header blocks end
 * with their blank line, children tile the parent body with exactly the boundary lines
 * between them, encapsulated messages span their part body.
 */
export function checkOffsets(raw: Buffer, pm: ParsedMessage): void {
  assert.equal(pm.size, raw.length);
  assert.equal(pm.root.headerStart, 0);
  assert.equal(pm.root.bodyEnd, raw.length);
  const check = (p: MimePart): void => {
    assert.ok(0 <= p.headerStart && p.headerStart <= p.headerEnd, `order ${p.section}`);
    assert.equal(p.bodyStart, p.headerEnd, `body follows header ${p.section}`);
    assert.ok(p.bodyStart <= p.bodyEnd && p.bodyEnd <= raw.length, `body in range ${p.section}`);
    const hdr = raw.subarray(p.headerStart, p.headerEnd).toString("latin1");
    if (hdr.length > 0 && p.headerEnd < p.bodyEnd) {
      assert.ok(
        /(^|\n)\r?\n$/.test(hdr),
        `header block ends with the blank line ${p.section}: ${JSON.stringify(hdr.slice(-10))}`,
      );
    }
    // a header block starts with a field, or with one junk line that fields follow
    if (hdr.length > 0)
      assert.ok(
        !/^[ \t]/.test(hdr) || /\n[!-9;-~]+[ \t]*:/.test(hdr),
        `header starts with a field ${p.section}`,
      );
    if (p.parts) {
      assert.ok(p.parts.length > 0, "multipart has parts");
      let prevEnd = p.bodyStart;
      for (const k of p.parts) {
        assert.ok(k.headerStart >= prevEnd, `children ordered ${k.section}`);
        assert.ok(k.bodyEnd <= p.bodyEnd, `child inside parent ${k.section}`);
        prevEnd = k.bodyEnd;
        check(k);
      }
      const b = p.contentType.params.boundary;
      if (b !== undefined && p.parts.length > 1) {
        const re = new RegExp(`^\\r?\\n--${escapeRe(b)}[ \\t]*\\r?\\n$`);
        // a delimiter on the last line may lack its line break
        const reAtEnd = new RegExp(`^\\r?\\n--${escapeRe(b)}[ \\t]*\\r?\\n?$`);
        for (let i = 1; i < p.parts.length; i++) {
          const gap = raw.subarray(p.parts[i - 1]!.bodyEnd, p.parts[i]!.headerStart).toString("latin1");
          const atEnd = p.parts[i]!.headerStart === p.bodyEnd;
          // an empty part ("--b CRLF --b"): the one line break belongs to the first line
          const prevEmpty = p.parts[i - 1]!.headerStart === p.parts[i - 1]!.bodyEnd;
          assert.match(
            prevEmpty ? "\n" + gap.replace(/^\r?\n/, "") : gap,
            atEnd ? reAtEnd : re,
            `boundary line between ${p.parts[i - 1]!.section} and ${p.parts[i]!.section}`,
          );
        }
      }
    }
    if (p.message) {
      assert.equal(p.message.headerStart, p.bodyStart, "message starts at part body");
      assert.equal(p.message.bodyEnd, p.bodyEnd, "message ends at part body end");
      check(p.message);
    }
  };
  check(pm.root);
}

/** The body slice of a part as a string (latin1, byte-exact). */
export function bodyOf(raw: Buffer, p: MimePart): string {
  return raw.subarray(p.bodyStart, p.bodyEnd).toString("latin1");
}
export function headerOf(raw: Buffer, p: MimePart): string {
  return raw.subarray(p.headerStart, p.headerEnd).toString("latin1");
}
