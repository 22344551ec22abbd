// Property tests (fast-check): the parser never throws and stays fast on random and mutated
// input, offsets stay ordered inside [0, size], generated MIME trees parse back exactly, and
// modified UTF-7 round-trips any string.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseAddressGroups, parseEnvelopeAddresses } from "../../src/mail/address.ts";
import { bodyStructure } from "../../src/mail/body-structure.ts";
import { parseDate } from "../../src/mail/date.ts";
import { decodePartBody, partText } from "../../src/mail/decode.ts";
import { decodeWords, parseParams } from "../../src/mail/headers.ts";
import { findSection, makePreview, parseMessage } from "../../src/mail/parse.ts";
import { Utf7Error, decodeMailboxName, encodeMailboxName } from "../../src/mail/utf7.ts";
import type { MimePart } from "../../src/mail/types.ts";
import { allParts, bodyOf, checkOffsets } from "./helpers.ts";

const TIME_BOUND_MS = 250;

function parseChecked(raw: Buffer): void {
  const t0 = performance.now();
  const pm = parseMessage(raw);
  const ms = performance.now() - t0;
  assert.ok(ms < TIME_BOUND_MS, `parse took ${ms} ms for ${raw.length} bytes`);
  checkOffsets(raw, pm);
  for (const p of allParts(pm.root)) {
    decodePartBody(raw, p);
    partText(raw, p);
    if (p.section !== "")
      assert.ok(findSection(pm.root, p.section) !== null, `section ${p.section} resolves`);
  }
  bodyStructure(pm.root, true);
  JSON.stringify(pm);
}

const seeds = [
  "From: a@b.c\r\nTo: G: x@y.z;\r\nSubject: =?utf-8?B?w6k=?=\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npre\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A9llo\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b2--\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Type: multipart/mixed; boundary=b3\r\n\r\n--b3\r\n\r\ninner\r\n--b3--\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename*0*=utf-8''%E2%82%AC; filename*1=x\r\n\r\nAAECAwQ=\r\n--b1--\r\nepi\r\n",
  "Subject: lf\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n1\n--d\n\nSubject: two\n\n2\n--d--\n",
  "Content-Type: text/plain\r\n\r\nno multipart",
];

void describe("properties", () => {
  void test("random bytes never throw and parse within the time bound", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => parseChecked(Buffer.from(bytes))),
      { numRuns: 300 },
    );
  });

  void test("random text built from MIME-ish tokens never throws", () => {
    const token = fc.constantFrom(
      "\r\n",
      "\n",
      "\r",
      "--",
      "--b",
      "--b--",
      "Content-Type: multipart/mixed; boundary=b",
      "Content-Type: message/rfc822",
      "Content-Type: multipart/digest; boundary=b",
      ": ",
      "\t",
      " ",
      "=?utf-8?b?",
      "?=",
      "=?",
      "<",
      ">",
      "@",
      '"',
      "(",
      ")",
      ";",
      ",",
      "boundary=",
      "charset=koi8-r",
      "Content-Transfer-Encoding: base64",
      "Content-Transfer-Encoding: quoted-printable",
      "=",
      "a",
      "From: ",
      "Subject: ",
      "\x00",
      "\xff",
      "é",
      "\r\n\r\n",
      "\n\n",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 400 }), (toks) =>
        parseChecked(Buffer.from(toks.join(""), "utf8")),
      ),
      { numRuns: 400 },
    );
  });

  void test("mutated messages never throw and keep exact offsets", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.nat({ max: 64 }) }),
      fc.record({
        kind: fc.constant("insert" as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ maxLength: 32 }),
      }),
      fc.record({ kind: fc.constant("dup" as const), at: fc.nat(), len: fc.nat({ max: 200 }) }),
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("lf" as const) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { maxLength: 8 }), (seed, muts) => {
        let b = Buffer.from(seed, "utf8");
        for (const m of muts) {
          const at = b.length === 0 ? 0 : "at" in m ? m.at % (b.length + 1) : 0;
          if (m.kind === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
          else if (m.kind === "insert")
            b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
          else if (m.kind === "dup") b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
          else if (m.kind === "flip") {
            if (at < b.length) b[at] = m.byte;
          } else if (m.kind === "truncate") b = b.subarray(0, at);
          else b = Buffer.from(b.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
        }
        parseChecked(b);
      }),
      { numRuns: 400 },
    );
  });

  // A generated MIME tree, printed with CRLF or LF, must parse back to the same tree with
  // byte-exact bodies.
  type Node = { kind: "leaf"; body: string } | { kind: "multi"; kids: Node[] } | { kind: "msg"; inner: Node };
  const nodeArb = fc.letrec<{ node: Node }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.record({
        kind: fc.constant("leaf" as const),
        body: fc.stringMatching(/^[a-z :]{0,12}(\n[a-z ]{0,12}){0,3}$/),
      }),
      fc.record({
        kind: fc.constant("multi" as const),
        kids: fc.array(tie("node"), { minLength: 1, maxLength: 4 }),
      }),
      fc.record({ kind: fc.constant("msg" as const), inner: tie("node") }),
    ),
  })).node;

  function render(
    n: Node,
    eol: string,
    counter: { n: number },
    top: boolean,
  ): { head: string[]; body: string } {
    const head = top ? ["Subject: generated"] : [];
    if (n.kind === "leaf") {
      head.push("Content-Type: text/plain");
      return { head, body: n.body.replace(/\n/g, eol) };
    }
    if (n.kind === "msg") {
      head.push("Content-Type: message/rfc822");
      const inner = render(n.inner, eol, counter, true);
      return { head, body: inner.head.join(eol) + eol + eol + inner.body };
    }
    const b = `bnd${counter.n++}`;
    head.push(`Content-Type: multipart/mixed; boundary="${b}"`);
    let body = "";
    for (const k of n.kids) {
      const r = render(k, eol, counter, false);
      body += `--${b}${eol}${r.head.join(eol)}${eol}${eol}${r.body}${eol}`;
    }
    body += `--${b}--`;
    return { head, body };
  }

  function compare(raw: Buffer, n: Node, p: MimePart, eol: string, counter: { n: number }): void {
    if (n.kind === "leaf") {
      assert.equal(p.parts, undefined);
      assert.equal(bodyOf(raw, p), n.body.replace(/\n/g, eol));
      return;
    }
    if (n.kind === "msg") {
      assert.equal(`${p.contentType.type}/${p.contentType.subtype}`, "message/rfc822");
      assert.ok(p.message);
      compare(raw, n.inner, p.message, eol, counter);
      return;
    }
    counter.n++;
    assert.equal(p.parts?.length, n.kids.length);
    n.kids.forEach((k, i) => {
      const child = p.parts![i]!;
      const expected = p.section === "" ? String(i + 1) : `${p.section}.${i + 1}`;
      assert.equal(child.section, expected);
      compare(raw, k, child, eol, counter);
    });
  }

  void test("generated MIME trees parse back exactly", () => {
    fc.assert(
      fc.property(nodeArb, fc.constantFrom("\r\n", "\n"), (tree, eol) => {
        const r = render(tree, eol, { n: 0 }, true);
        const raw = Buffer.from(r.head.join(eol) + eol + eol + r.body, "utf8");
        const pm = parseMessage(raw);
        checkOffsets(raw, pm);
        compare(raw, tree, pm.root, eol, { n: 0 });
      }),
      { numRuns: 300 },
    );
  });

  void test("the preview is the text's start with whitespace folded, as a regular expression folds it", () => {
    // RFC 8970 §3: the reference, in the form the one-pass fold replaced
    const reference = (text: string): string => {
      const folded = text.slice(0, 4096).replace(/\s+/g, " ").trim();
      return Array.from(folded.slice(0, 600)).slice(0, 256).join("").trimEnd();
    };
    const piece = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(
        " ",
        "\t",
        "\r\n",
        "\u00a0",
        "\u2028",
        "\u3000",
        "\ufeff",
        "😀",
        "\ud800",
        "\udc00",
        "é",
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 400 }), fc.nat(4200), (pieces, pad) => {
        for (const text of [pieces.join(""), "x".repeat(pad) + pieces.join("")])
          assert.equal(makePreview(text), reference(text));
      }),
      { numRuns: 300 },
    );
  });

  void test("modified UTF-7 round-trips any string", () => {
    const anyUnit = fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    });
    const anyCodePoint = fc.string({ unit: "binary", maxLength: 40 });
    for (const arb of [anyUnit, anyCodePoint]) {
      fc.assert(
        fc.property(arb, (s) => {
          const e = encodeMailboxName(s);
          assert.match(e, /^[\x20-\x7e]*$/);
          // lone surrogates are not Unicode: they go out as U+FFFD
          assert.equal(decodeMailboxName(e), s.toWellFormed());
        }),
        { numRuns: 1000 },
      );
    }
  });

  void test("modified UTF-7 decoding of random ASCII: Utf7Error or a canonical name", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("&", "-", "A", "B", "+", ",", "a", "/", "Z", "0"), maxLength: 20 }),
        (s) => {
          let d: string;
          try {
            d = decodeMailboxName(s);
          } catch (e) {
            assert.ok(e instanceof Utf7Error);
            return;
          }
          assert.equal(encodeMailboxName(d), s);
        },
      ),
      { numRuns: 2000 },
    );
  });

  void test("header helpers never throw on random strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        decodeWords(s);
        parseParams(s);
        parseAddressGroups(s);
        parseEnvelopeAddresses(s);
        parseDate(s);
      }),
      { numRuns: 1000 },
    );
  });
});
