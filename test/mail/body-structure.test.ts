// Section numbers (RFC 9051 §6.4.5), ENVELOPE and BODY/BODYSTRUCTURE (RFC 9051 §7.5.2) on the
// RFCs' own examples.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bodyStructure, envelopeValue } from "../../src/mail/body-structure.ts";
import { formatImapValue } from "../../src/mail/imap-value.ts";
import { findSection, parseMessage } from "../../src/mail/parse.ts";
import { bodyOf, checkOffsets, crlf, headerOf } from "./helpers.ts";

// The message of the RFC 9051 §6.4.5 section example.
const rfcSections = crlf([
  "Subject: sections",
  "Content-Type: MULTIPART/MIXED; boundary=top",
  "",
  "--top",
  "Content-Type: TEXT/PLAIN",
  "",
  "part 1",
  "--top",
  "Content-Type: APPLICATION/OCTET-STREAM",
  "",
  "part 2",
  "--top",
  "Content-Type: MESSAGE/RFC822",
  "",
  "Subject: part 3",
  "Content-Type: MULTIPART/MIXED; boundary=m3",
  "",
  "--m3",
  "Content-Type: TEXT/PLAIN",
  "",
  "part 3.1",
  "--m3",
  "Content-Type: APPLICATION/OCTET-STREAM",
  "",
  "part 3.2",
  "--m3--",
  "--top",
  "Content-Type: MULTIPART/MIXED; boundary=m4",
  "",
  "--m4",
  "Content-Type: IMAGE/GIF",
  "",
  "part 4.1",
  "--m4",
  "Content-Type: MESSAGE/RFC822",
  "",
  "Subject: part 4.2",
  "Content-Type: MULTIPART/MIXED; boundary=m42",
  "",
  "--m42",
  "Content-Type: TEXT/PLAIN",
  "",
  "part 4.2.1",
  "--m42",
  "Content-Type: MULTIPART/ALTERNATIVE; boundary=m422",
  "",
  "--m422",
  "Content-Type: TEXT/PLAIN",
  "",
  "part 4.2.2.1",
  "--m422",
  "Content-Type: TEXT/RICHTEXT",
  "",
  "part 4.2.2.2",
  "--m422--",
  "--m42--",
  "--m4--",
  "--top--",
  "",
]);

void describe("section numbers (RFC 9051 §6.4.5)", () => {
  const pm = parseMessage(rfcSections);
  void test("offsets", () => checkOffsets(rfcSections, pm));
  void test("every section of the RFC's example resolves to its part", () => {
    const expect: [string, string][] = [
      ["1", "text/plain"],
      ["2", "application/octet-stream"],
      ["3", "message/rfc822"],
      ["3.1", "text/plain"],
      ["3.2", "application/octet-stream"],
      ["4", "multipart/mixed"],
      ["4.1", "image/gif"],
      ["4.2", "message/rfc822"],
      ["4.2.1", "text/plain"],
      ["4.2.2", "multipart/alternative"],
      ["4.2.2.1", "text/plain"],
      ["4.2.2.2", "text/richtext"],
    ];
    for (const [sec, type] of expect) {
      const p = findSection(pm.root, sec);
      assert.ok(p, `section ${sec} exists`);
      assert.equal(`${p.contentType.type}/${p.contentType.subtype}`, type, sec);
      assert.equal(p.section, sec, `section field of ${sec}`);
      if (p.parts === undefined && p.message === undefined)
        assert.equal(bodyOf(rfcSections, p), `part ${sec}`);
    }
    for (const bad of ["0", "5", "1.1", "3.3", "4.1.1", "4.2.3", "x", "1..2", ""]) {
      if (bad === "") continue;
      assert.equal(findSection(pm.root, bad), null, bad);
    }
  });
  void test("3.HEADER, 3.TEXT and 4.1.MIME slices", () => {
    const m3 = findSection(pm.root, "3")!.message!;
    assert.equal(
      headerOf(rfcSections, m3),
      "Subject: part 3\r\nContent-Type: MULTIPART/MIXED; boundary=m3\r\n\r\n",
    );
    assert.ok(bodyOf(rfcSections, m3).startsWith("--m3\r\n") && bodyOf(rfcSections, m3).endsWith("--m3--"));
    assert.equal(headerOf(rfcSections, findSection(pm.root, "4.1")!), "Content-Type: IMAGE/GIF\r\n\r\n");
  });
  void test("a message that is not multipart: its body is section 1", () => {
    const raw = crlf(["Subject: s", "", "just text"]);
    const r = parseMessage(raw);
    assert.equal(findSection(r.root, "1"), r.root);
    assert.equal(findSection(r.root, "2"), null);
    assert.equal(findSection(r.root, "1.1"), null);
  });
  void test("a top-level message/rfc822: the inner parts are 1.1, 1.2", () => {
    const raw = crlf([
      "Content-Type: message/rfc822",
      "",
      "Content-Type: multipart/mixed; boundary=i",
      "",
      "--i",
      "",
      "a",
      "--i",
      "",
      "b",
      "--i--",
    ]);
    const r = parseMessage(raw);
    checkOffsets(raw, r);
    assert.equal(findSection(r.root, "1.2")?.section, "1.2");
    assert.equal(bodyOf(raw, findSection(r.root, "1.2")!), "b");
  });
  void test("a message/rfc822 part with a non-multipart message: N.1 is its body", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=o",
      "",
      "--o",
      "",
      "x",
      "--o",
      "Content-Type: message/rfc822",
      "",
      "Subject: in",
      "",
      "inner",
      "--o--",
    ]);
    const r = parseMessage(raw);
    const p = findSection(r.root, "2.1")!;
    assert.equal(bodyOf(raw, p), "inner");
    assert.equal(findSection(r.root, "2.2"), null);
  });
});

// RFC 3501 §8 / RFC 9051 §8 sample: FETCH 12 FULL.
function rfcSample(): Buffer {
  const header = crlf([
    "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    "From: Terry Gray <gray@cac.washington.edu>",
    "Subject: IMAP4rev1 WG mtg summary and minutes",
    "To: imap@cac.washington.edu",
    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>",
    "Message-Id: <B27397-0100000@cac.washington.edu>",
    "MIME-Version: 1.0",
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII",
    "",
    "",
  ]);
  // 92 CRLF-terminated lines, 3028 bytes in all
  const lines: string[] = [];
  for (let i = 0; i < 92; i++) lines.push("x".repeat(i < 84 ? 31 : 30) + "\r\n");
  return Buffer.concat([header, Buffer.from(lines.join(""))]);
}

void describe("ENVELOPE and BODY of the RFC's FETCH example", () => {
  const raw = rfcSample();
  const pm = parseMessage(raw);
  void test("header size as in the RFC", () => assert.equal(pm.root.headerEnd, 342));
  void test("ENVELOPE", () => {
    assert.equal(
      formatImapValue(envelopeValue(pm.envelope)),
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>")',
    );
  });
  void test("BODY (case-insensitive, RFC 9051 §4.3)", () => {
    assert.equal(
      formatImapValue(bodyStructure(pm.root, false)).toUpperCase(),
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)',
    );
    assert.equal(
      formatImapValue(bodyStructure(pm.root, true)).toUpperCase(),
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)',
    );
  });
  void test("decoded fields", () => {
    assert.equal(pm.sentAt, Date.UTC(1996, 6, 17, 9, 23, 25));
    assert.deepEqual(pm.cc, [
      { name: null, address: "minutes@CNRI.Reston.VA.US" },
      { name: "John Klensin", address: "KLENSIN@MIT.EDU" },
    ]);
    assert.deepEqual(pm.messageId, ["B27397-0100000@cac.washington.edu"]);
  });
});

void describe("BODYSTRUCTURE of a multipart (Dovecot-like output)", () => {
  const raw = crlf([
    "From: a@b.c",
    'Content-Type: multipart/mixed; boundary="XX"',
    "",
    "--XX",
    "Content-Type: text/plain; charset=utf-8; format=flowed",
    "Content-Transfer-Encoding: quoted-printable",
    "Content-Language: en, de",
    "",
    "Hi =C3=A9",
    "bye",
    "--XX",
    'Content-Type: image/jpeg; name="p.jpg"',
    "Content-Transfer-Encoding: base64",
    "Content-ID: <c1@x>",
    "Content-Description: A photo",
    'Content-Disposition: inline; filename="p.jpg"',
    "Content-Location: http://example.com/p.jpg",
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
    "",
    "/9j/4AAQ",
    "--XX",
    "Content-Type: message/rfc822",
    "Content-Disposition: attachment",
    "",
    'From: "Q. Public" <q@example.org>',
    "Sender: ",
    "To: undisclosed-recipients:;",
    "Subject: =?utf-8?q?fwd?=",
    "",
    "hello",
    "--XX--",
    "",
  ]);
  const pm = parseMessage(raw);
  void test("offsets", () => checkOffsets(raw, pm));
  void test("BODYSTRUCTURE", () => {
    assert.equal(
      formatImapValue(bodyStructure(pm.root)),
      '(("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "quoted-printable" 14 1 NIL NIL ("en" "de") NIL)' +
        '("image" "jpeg" ("name" "p.jpg") "<c1@x>" "A photo" "base64" 8 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("filename" "p.jpg")) NIL "http://example.com/p.jpg")' +
        '("message" "rfc822" NIL NIL NIL "7bit" 108 ' +
        '(NIL "=?utf-8?q?fwd?=" (("Q. Public" NIL "q" "example.org")) (("Q. Public" NIL "q" "example.org")) (("Q. Public" NIL "q" "example.org")) ' +
        '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL) ' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) 5 NIL ("attachment" NIL) NIL NIL)' +
        ' "mixed" ("boundary" "XX") NIL NIL NIL)',
    );
  });
  void test("BODY has no extension data", () => {
    assert.equal(
      formatImapValue(bodyStructure(pm.root, false)),
      '(("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "quoted-printable" 14 1)' +
        '("image" "jpeg" ("name" "p.jpg") "<c1@x>" "A photo" "base64" 8)' +
        '("message" "rfc822" NIL NIL NIL "7bit" 108 ' +
        '(NIL "=?utf-8?q?fwd?=" (("Q. Public" NIL "q" "example.org")) (("Q. Public" NIL "q" "example.org")) (("Q. Public" NIL "q" "example.org")) ' +
        '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL) ' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) 5) "mixed")',
    );
  });
  void test("a multipart without parts still has one body (1*body)", () => {
    const r = parseMessage(crlf(["Content-Type: multipart/mixed; boundary=none", "", "no parts here"]));
    assert.equal(
      formatImapValue(bodyStructure(r.root, false)),
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0) "mixed")',
    );
  });
  void test("an unparsed message/rfc822 keeps the body-type-msg shape", () => {
    const r = parseMessage(
      crlf(["Content-Type: message/rfc822", "Content-Transfer-Encoding: base64", "", "U3ViamVjdDogeA=="]),
    );
    assert.equal(
      formatImapValue(bodyStructure(r.root, false)),
      '("message" "rfc822" NIL NIL NIL "base64" 16 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 0)',
    );
  });
});

void describe("BODYSTRUCTURE details as Dovecot writes them", () => {
  // folded quoted boundary with a space, quoted-pair in a parameter, a language list,
  // text/html without charset (us-ascii is filled in), an invalid transfer encoding (7bit),
  // prologue and epilogue inside an encapsulated multipart.
  const raw = Buffer.from(
    [
      "From: me@host.example",
      "Date: Fri, 01 Mar 2024 10:00:00 +0100",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="outer',
      ' edge"',
      "",
      "prologue",
      "",
      "--outer edge",
      'Content-Type: text/x-custom; charset=us-ascii; note="say \\"hi\\""',
      "Content-ID: <part1@host.example>",
      "Content-Description: first",
      "Content-Language: en, fi, se",
      "",
      "hi",
      "",
      "--outer edge",
      "Content-Type: message/rfc822",
      "",
      "From: inner@host.example",
      "Subject: inside",
      'Content-Type: multipart/alternative; boundary="alt"',
      "",
      "inner prologue",
      "--alt",
      "Content-Type: text/html",
      "Content-Transfer-Encoding: 8bit",
      "",
      "<b>x</b>",
      "",
      "--alt",
      "Content-Type: text/plain",
      "Content-Transfer-Encoding: ?bogus",
      "",
      "x",
      "",
      "--alt--",
      "inner epilogue",
      "",
      "--outer edge--",
      "epilogue",
      "",
    ].join("\r\n"),
  );
  const pm = parseMessage(raw);
  void test("offsets", () => checkOffsets(raw, pm));
  void test("BODYSTRUCTURE", () => {
    assert.equal(
      formatImapValue(bodyStructure(pm.root)),
      '(("text" "x-custom" ("charset" "us-ascii" "note" "say \\"hi\\"") "<part1@host.example>" "first" "7bit" 4 1 NIL NIL ("en" "fi" "se") NIL)' +
        '("message" "rfc822" NIL NIL NIL "7bit" 293 (NIL "inside" ((NIL NIL "inner" "host.example")) ((NIL NIL "inner" "host.example")) ((NIL NIL "inner" "host.example")) NIL NIL NIL NIL NIL) ' +
        '(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 10 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL) "alternative" ("boundary" "alt") NIL NIL NIL) 19 NIL NIL NIL NIL)' +
        ' "mixed" ("boundary" "outer edge") NIL NIL NIL)',
    );
  });
});

void describe("ENVELOPE edge cases (RFC 9051 §7.5.2, as imaptest checks them)", () => {
  const env = (lines: string[]): string =>
    formatImapValue(envelopeValue(parseMessage(Buffer.from(lines.join("\n") + "\n\nbody\n")).envelope));
  void test("every field in its place", () => {
    assert.equal(
      env([
        "Message-ID: <m1@example.net>",
        "In-Reply-To: <parent@example.net>",
        "Date: Sat, 02 Mar 2024 08:09:10 -0500",
        "Subject: all fields",
        "From: Fa <fa@f.example>",
        "To: Ta <ta@t.example>",
        "Cc: Ca <ca@c.example>",
        "Bcc: Ba <ba@b.example>",
        "Sender: Sa <sa@s.example>",
        "Reply-To: Ra <ra@r.example>",
      ]),
      '("Sat, 02 Mar 2024 08:09:10 -0500" "all fields" (("Fa" NIL "fa" "f.example")) (("Sa" NIL "sa" "s.example")) (("Ra" NIL "ra" "r.example")) ' +
        '(("Ta" NIL "ta" "t.example")) (("Ca" NIL "ca" "c.example")) (("Ba" NIL "ba" "b.example")) "<parent@example.net>" "<m1@example.net>")',
    );
  });
  void test("absent or empty Sender and Reply-To take From; a comment names the mailbox", () => {
    assert.equal(
      env(["From: solo@d.example (Solo Person)", "Sender: ", "Reply-To:"]),
      '(NIL NIL (("Solo Person" NIL "solo" "d.example")) (("Solo Person" NIL "solo" "d.example")) (("Solo Person" NIL "solo" "d.example")) NIL NIL NIL NIL NIL)',
    );
  });
  void test("groups, empty groups and a group holding only a comment", () => {
    assert.equal(
      env(["To: team: a1@x.example, a2@y.example;, other: a3@z.example;", "Cc: empty:;, silent: (nobody) ;"]),
      '(NIL NIL NIL NIL NIL ((NIL NIL "team" NIL)(NIL NIL "a1" "x.example")(NIL NIL "a2" "y.example")(NIL NIL NIL NIL)' +
        '(NIL NIL "other" NIL)(NIL NIL "a3" "z.example")(NIL NIL NIL NIL)) ' +
        '((NIL NIL "empty" NIL)(NIL NIL NIL NIL)(NIL NIL "silent" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)',
    );
  });
  void test("source route goes to adl", () => {
    assert.ok(
      env(["From: <@relay.example:who@where.example>"]).startsWith(
        '(NIL NIL ((NIL "@relay.example" "who" "where.example")) ',
      ),
    );
  });
});

void describe("non-ASCII parameters", () => {
  const raw = crlf([
    'Content-Type: application/octet-stream; name="=?utf-8?B?4oKsLmJpbg==?="',
    "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.bin",
    "",
    "x",
  ]);
  const pm = parseMessage(raw);
  void test("RFC 2231 form for clients without UTF8=ACCEPT", () => {
    assert.equal(
      formatImapValue(bodyStructure(pm.root)),
      `("application" "octet-stream" ("name*" "utf-8''%E2%82%AC.bin") NIL NIL "7bit" 1 NIL ("attachment" ("filename*" "utf-8''%E2%82%AC%20rates.bin")) NIL NIL)`,
    );
  });
  void test("Unicode for UTF8=ACCEPT clients", () => {
    assert.equal(
      formatImapValue(bodyStructure(pm.root, true, { utf8: true })),
      '("application" "octet-stream" ("name" "€.bin") NIL NIL "7bit" 1 NIL ("attachment" ("filename" "€ rates.bin")) NIL NIL)',
    );
  });
});
