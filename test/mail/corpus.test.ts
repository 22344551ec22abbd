// A corpus of hard messages: each parses without throwing, every offset slices back to the
// exact original bytes, and the structure is what the RFCs (and Dovecot) make of it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import iconv from "iconv-lite";
import { parseMessage } from "../../src/mail/parse.ts";
import { allParts, bodyOf, checkOffsets, crlf, headerOf, lf } from "./helpers.ts";

const nested3 = crlf([
  "From: a@example.com",
  "Subject: nested",
  "Content-Type: multipart/mixed; boundary=L1",
  "",
  "This is the preamble.",
  "--L1",
  'Content-Type: multipart/related; boundary="L2"',
  "",
  "--L2",
  "Content-Type: multipart/alternative; boundary=L3",
  "",
  "--L3",
  "Content-Type: text/plain; charset=us-ascii",
  "",
  "plain text",
  "two lines",
  "--L3",
  "Content-Type: text/html; charset=utf-8",
  "",
  "<html><body><p>html &eacute;</p></body></html>",
  "--L3--",
  "",
  "--L2",
  "Content-Type: image/png",
  "Content-ID: <img1@x>",
  "Content-Transfer-Encoding: base64",
  "",
  "iVBORw0KGgo=",
  "--L2--",
  "--L1",
  "Content-Type: message/rfc822",
  "",
  "From: inner@example.org",
  "Subject: inner subject",
  "Content-Type: multipart/mixed; boundary=IN",
  "",
  "--IN",
  "",
  "inner first part without headers",
  "--IN",
  "Content-Type: application/pdf",
  'Content-Disposition: attachment; filename="x.pdf"',
  "",
  "%PDF",
  "--IN--",
  "--L1--",
  "epilogue",
  "",
]);

void describe("corpus: structure and exact offsets", () => {
  void test("three levels of multipart and a message/rfc822 inside a multipart", () => {
    const pm = parseMessage(nested3);
    checkOffsets(nested3, pm);
    const secs = allParts(pm.root).map((p) => `${p.section}:${p.contentType.type}/${p.contentType.subtype}`);
    assert.deepEqual(secs, [
      ":multipart/mixed",
      "1:multipart/related",
      "1.1:multipart/alternative",
      "1.1.1:text/plain",
      "1.1.2:text/html",
      "1.2:image/png",
      "2:message/rfc822",
      "2:multipart/mixed",
      "2.1:text/plain",
      "2.2:application/pdf",
    ]);
    const parts = allParts(pm.root);
    const plain = parts[3]!;
    assert.equal(bodyOf(nested3, plain), "plain text\r\ntwo lines");
    assert.equal(headerOf(nested3, plain), "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    // body-fld-lines counts line breaks as Dovecot does: the CRLF before the boundary is not the part's
    assert.equal(plain.lines, 1);
    // the alternative ends before the CRLF that precedes --L2 (its own close delimiter and
    // the blank line after it are inside its body)
    assert.ok(bodyOf(nested3, parts[2]!).endsWith("--L3--\r\n"));
    const img = parts[5]!;
    assert.equal(bodyOf(nested3, img), "iVBORw0KGgo=");
    const msg = parts[6]!;
    assert.ok(bodyOf(nested3, msg).startsWith("From: inner@example.org\r\n"));
    assert.ok(bodyOf(nested3, msg).endsWith("--IN--"));
    assert.equal(msg.envelope?.subject, "inner subject");
    const noHeaders = parts[8]!;
    assert.equal(headerOf(nested3, noHeaders), "\r\n");
    assert.equal(bodyOf(nested3, noHeaders), "inner first part without headers");
    assert.equal(pm.preview, "plain text two lines");
    assert.ok(pm.text.includes("plain text") && pm.text.includes("inner first part"));
    assert.equal(pm.hasAttachment, true);
    // the root header slice: first header line up to and including the blank line
    assert.ok(headerOf(nested3, pm.root).startsWith("From: a@example.com\r\n"));
    assert.ok(headerOf(nested3, pm.root).endsWith("boundary=L1\r\n\r\n"));
    assert.ok(bodyOf(nested3, pm.root).startsWith("This is the preamble."));
  });

  void test("bare LF line endings give the same structure", () => {
    const raw = Buffer.from(nested3.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    const parts = allParts(pm.root);
    assert.equal(parts.length, 10);
    assert.equal(bodyOf(raw, parts[3]!), "plain text\ntwo lines");
    assert.equal(headerOf(raw, parts[3]!), "Content-Type: text/plain; charset=us-ascii\n\n");
  });

  void test("missing final boundary: the last part runs to the end", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=b",
      "",
      "--b",
      "",
      "one",
      "--b",
      "Content-Type: text/plain",
      "",
      "two",
      "still two",
      "",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.parts?.length, 2);
    assert.equal(bodyOf(raw, pm.root.parts[0]!), "one");
    assert.equal(bodyOf(raw, pm.root.parts[1]!), "two\r\nstill two\r\n");
    assert.equal(pm.root.parts[1]!.bodyEnd, raw.length);
  });

  void test("wrong boundary: one headerless text part holds the whole body", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=right",
      "",
      "--wrong",
      "Content-Type: text/plain",
      "",
      "x",
      "--wrong--",
      "",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.parts?.length, 1);
    const only = pm.root.parts[0]!;
    assert.equal(only.section, "1");
    assert.equal(only.bodyStart, pm.root.bodyStart);
    assert.equal(only.bodyEnd, raw.length);
    assert.equal(only.headerStart, only.headerEnd);
  });

  void test("multipart without a boundary parameter", () => {
    const raw = crlf(["Content-Type: multipart/mixed", "", "body"]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.parts?.length, 1);
  });

  void test("a boundary that is a prefix of a longer line is not a delimiter", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=ab",
      "",
      "--ab",
      "",
      "x",
      "--abc not ours",
      "--ab  ",
      "",
      "y",
      "--ab--  ",
      "tail",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.parts?.length, 2);
    assert.equal(bodyOf(raw, pm.root.parts[0]!), "x\r\n--abc not ours");
    assert.equal(bodyOf(raw, pm.root.parts[1]!), "y");
  });

  void test("8-bit headers: UTF-8 when valid, latin1 otherwise", () => {
    const raw = Buffer.concat([
      Buffer.from("Subject: Grüße aus Köln\r\nFrom: ", "utf8"),
      Buffer.from("J\xf6rg <j@example.de>\r\n", "latin1"),
      Buffer.from("To: Дмитрий <d@пример.рф>\r\n\r\nbody", "utf8"),
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.subject, "Grüße aus Köln");
    assert.deepEqual(pm.from, [{ name: "Jörg", address: "j@example.de" }]);
    assert.deepEqual(pm.to, [{ name: "Дмитрий", address: "d@пример.рф" }]);
  });

  void test("encoded words in many charsets", () => {
    const b = (s: string, cs: string): string => `=?${cs}?B?${iconv.encode(s, cs).toString("base64")}?=`;
    const jis = Buffer.from("\x1b$B$3$s$K$A$O\x1b(B", "latin1").toString("base64");
    const raw = crlf([
      `Subject: ${b("Привет", "windows-1251")} ${b("мир", "koi8-r")}`,
      `From: ${b("张伟", "gb2312")} <zw@example.cn>, =?GBK?B?${iconv.encode("你好", "gbk").toString("base64")}?= <nh@example.cn>`,
      `To: =?ISO-2022-JP?B?${jis}?= <jp@example.jp>, =?iso-8859-1?q?Fran=E7ois?= <f@example.fr>`,
      `Cc: =?utf-8?q?=F0=9F=98=80_smile?= <s@example.com>`,
      "",
      "",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.subject, "Приветмир"); // RFC 2047 §6.2: space between words is dropped
    assert.deepEqual(
      pm.from.map((a) => a.name),
      ["张伟", "你好"],
    );
    assert.deepEqual(
      pm.to.map((a) => a.name),
      ["こんにちは", "François"],
    );
    assert.equal(pm.cc[0]?.name, "😀 smile");
    // ENVELOPE keeps the raw encoded form
    assert.ok(pm.envelope.subject?.startsWith("=?windows-1251?B?"));
  });

  void test("RFC 2231 continuations with charset", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=x",
      "",
      "--x",
      "Content-Type: application/octet-stream;",
      " name*0*=iso-8859-1'fr'r%E9sum%E9;",
      ' name*1=" final";',
      " name*2*=%2Etxt",
      "Content-Disposition: attachment;",
      " filename*=UTF-8''%E2%82%AC%20rates.txt",
      "",
      "data",
      "--x--",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    const p = pm.root.parts![0]!;
    assert.equal(p.contentType.params.name, "résumé final.txt");
    assert.deepEqual(p.disposition, { type: "attachment", params: { filename: "€ rates.txt" } });
  });

  void test("broken base64 still decodes what it can", async () => {
    const { decodePartBody } = await import("../../src/mail/decode.ts");
    const raw = crlf([
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      "SGVs!!bG8g*d29y\x00bGQ",
      "===",
      "IQ",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(decodePartBody(raw, pm.root).toString(), "Hello world!");
    assert.equal(pm.text, "Hello world!");
  });

  void test("no body at all, header only, empty file, blank-line only", () => {
    for (const raw of [
      crlf(["From: a@b.c", "Subject: no body", ""]),
      crlf(["From: a@b.c", "Subject: header only without final newline"]),
      Buffer.alloc(0),
      Buffer.from("\r\n"),
      Buffer.from("\n"),
      crlf(["From: a@b.c", "", ""]),
    ]) {
      const pm = parseMessage(raw);
      checkOffsets(raw, pm);
      assert.equal(pm.root.parts, undefined);
    }
    const h = crlf(["From: a@b.c", "Subject: hi", ""]);
    const pm = parseMessage(h);
    assert.equal(pm.root.headerEnd, h.length);
    assert.equal(pm.root.bodyStart, h.length);
    assert.equal(pm.subject, "hi");
    const e = parseMessage(Buffer.alloc(0));
    assert.deepEqual([e.root.headerEnd, e.root.bodyEnd, e.subject, e.preview, e.text], [0, 0, null, "", ""]);
  });

  void test("a message that starts with body text has an empty header block", () => {
    const raw = lf(["just some text", "no fields here", "", "x"]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.headerEnd, 0);
    assert.equal(pm.headers.length, 0);
    const part = crlf(["Content-Type: multipart/mixed; boundary=b", "", "--b", "Hello world", "--b--"]);
    const pp = parseMessage(part);
    checkOffsets(part, pp);
    assert.equal(bodyOf(part, pp.root.parts![0]!), "Hello world");
  });

  void test("a junk first line (mbox From line) before the fields is kept in the header block", () => {
    const raw = lf(["From sender@example.com Sat Jan  3 01:05:34 1996", "Subject: after junk", "", "body"]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.subject, "after junk");
    assert.equal(bodyOf(raw, pm.root), "body");
  });

  void test("NUL bytes in headers and bodies", () => {
    const raw = Buffer.from(
      "Subject: a\x00b\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\n\x00\x00\x00\r\n--z--\r\n",
      "latin1",
    );
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(bodyOf(raw, pm.root.parts![0]!), "\x00\x00\x00");
  });

  void test("folded headers and obsolete white space before the colon", () => {
    const raw = crlf([
      "Subject: a long",
      "\tfolded  subject",
      "X-Obs : value",
      "Content-Type: text/plain;",
      ' charset="iso-8859-1"',
      "",
      "caf\xe9",
    ]);
    const pm = parseMessage(Buffer.from(raw.toString("utf8").replace("caf\xe9", ""), "utf8"));
    assert.equal(pm.subject, "a long\tfolded  subject");
    assert.deepEqual(pm.headers[1], { name: "X-Obs", value: "value" });
    const latin = Buffer.concat([raw.subarray(0, raw.length - 5), Buffer.from("caf\xe9", "latin1")]);
    const pm2 = parseMessage(latin);
    checkOffsets(latin, pm2);
    assert.equal(pm2.root.contentType.params.charset, "iso-8859-1");
    assert.equal(pm2.text, "café");
  });

  void test("multipart/digest children default to message/rfc822", () => {
    const raw = crlf([
      "Content-Type: multipart/digest; boundary=d",
      "",
      "--d",
      "",
      "Subject: one",
      "",
      "1",
      "--d",
      "",
      "Subject: two",
      "",
      "2",
      "--d--",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    const kids = pm.root.parts!;
    assert.deepEqual(
      kids.map((k) => `${k.contentType.type}/${k.contentType.subtype}`),
      ["message/rfc822", "message/rfc822"],
    );
    assert.equal(kids[1]!.envelope?.subject, "two");
    assert.equal(kids[1]!.message?.section, "2");
  });

  void test("message/global (RFC 6532) is parsed like message/rfc822", () => {
    const raw = crlf([
      "Content-Type: message/global",
      "",
      "Subject: ünïcødé",
      "From: 用户@例子.广告",
      "",
      "body",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.message?.section, "1");
    assert.equal(pm.root.envelope?.subject, "ünïcødé");
    assert.deepEqual(pm.root.envelope?.from, [{ name: null, adl: null, mailbox: "用户", host: "例子.广告" }]);
  });

  void test("nesting deeper than the limit stops recursing but keeps offsets", () => {
    let body = "leaf";
    for (let i = 0; i < 120; i++)
      body = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--`;
    const raw = Buffer.from(body);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    let depth = 0;
    for (let p = pm.root; p.parts; p = p.parts[0]!) depth++;
    assert.ok(depth <= 52 && depth >= 49, `depth ${depth}`);
  });

  void test("many parts stop at the part limit", () => {
    const parts = Array.from({ length: 12_000 }, (_, i) => `--p\r\n\r\n${i}`).join("\r\n");
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=p\r\n\r\n${parts}\r\n--p--\r\n`);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.ok(pm.root.parts!.length < 10_001);
  });

  void test("message/rfc822 in base64 is a leaf", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=q",
      "",
      "--q",
      "Content-Type: message/rfc822",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("Subject: x\r\n\r\ny").toString("base64"),
      "--q--",
    ]);
    const pm = parseMessage(raw);
    checkOffsets(raw, pm);
    assert.equal(pm.root.parts![0]!.message, undefined);
    assert.equal(pm.root.parts![0]!.lines, 0);
  });

  void test("quoted-printable HTML is reduced to text for preview and index", () => {
    const raw = crlf([
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "<html><head><title>T</title><style>p{color:red}</style><script>var x=3D1;</script></head>",
      "<body><p>Gr=C3=BC=C3=9Fe &amp; &#x263A; &lt;ok&gt;</p><div>second=",
      " line</div></body></html>",
    ]);
    const pm = parseMessage(raw);
    assert.equal(pm.text, "Grüße & ☺ <ok>\nsecond line");
    assert.equal(pm.preview, "Grüße & ☺ <ok> second line");
  });

  void test("preview is at most 256 characters and never splits a surrogate pair", () => {
    const raw = (body: string): Buffer =>
      Buffer.from("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body);
    const pm = parseMessage(raw("😀".repeat(300)));
    assert.equal(Array.from(pm.preview).length, 256);
    assert.ok(!/[\ud800-\udbff]$/.test(pm.preview));
    // cut where the 256th character would be a space: none trails
    const spaced = parseMessage(raw("😀 ".repeat(300))).preview;
    assert.equal(Array.from(spaced).length, 255);
    assert.ok(spaced.endsWith("😀"));
  });
});

void describe("options", () => {
  void test("extractText: false leaves text empty but still makes the preview", () => {
    const raw = crlf(["Subject: x", "", "some body text"]);
    const pm = parseMessage(raw, { extractText: false });
    assert.equal(pm.text, "");
    assert.equal(pm.preview, "some body text");
  });
});
