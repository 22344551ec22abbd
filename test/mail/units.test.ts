// Unit tests of the MIME helpers: headers, encoded words, parameters, addresses, transfer
// decoding, modified UTF-7, dates and base subjects.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import iconv from "iconv-lite";
import {
  addressKey,
  asciiDomain,
  formatAddress,
  parseAddressGroups,
  parseAddressList,
  parseEnvelopeAddresses,
  unicodeDomain,
} from "../../src/mail/address.ts";
import { decodeCharset } from "../../src/mail/charset.ts";
import {
  formatImapDate,
  formatImapDay,
  formatRfc5322Date,
  parseDate,
  parseDateDay,
  parseImapDateTime,
} from "../../src/mail/date.ts";
import { decodeBase64, decodeQuotedPrintable, decodeTransfer } from "../../src/mail/decode.ts";
import {
  decodeWords,
  findHeaderEnd,
  getHeader,
  getHeaders,
  parseContentType,
  parseParams,
  splitHeaderFields,
} from "../../src/mail/headers.ts";
import { decodeEntities, htmlToText } from "../../src/mail/html-text.ts";
import { parseMessageIds } from "../../src/mail/parse.ts";
import { baseSubject } from "../../src/mail/subject.ts";
import { Utf7Error, decodeMailboxName, encodeMailboxName } from "../../src/mail/utf7.ts";

void describe("headers", () => {
  void test("findHeaderEnd includes the blank line; CRLF and LF", () => {
    const b = Buffer.from("A: 1\r\nB: 2\r\n\r\nbody");
    assert.equal(findHeaderEnd(b, 0, b.length), 14);
    const l = Buffer.from("A: 1\nB: 2\n\nbody");
    assert.equal(findHeaderEnd(l, 0, l.length), 11);
    const none = Buffer.from("A: 1\r\nB: 2");
    assert.equal(findHeaderEnd(none, 0, none.length), none.length);
    assert.equal(findHeaderEnd(Buffer.from("\r\nx"), 0, 3), 2);
  });
  void test("splitHeaderFields unfolds and keeps order and names as written", () => {
    const b = Buffer.from("Subject: a\r\n b\r\n\tc\r\nX-A: 1\r\nnot a field\r\nx-a:2\r\n\r\n");
    const f = splitHeaderFields(b, 0, b.length);
    assert.deepEqual(f, [
      { name: "Subject", value: "a b\tc" },
      { name: "X-A", value: "1" },
      { name: "x-a", value: "2" },
    ]);
    assert.equal(getHeader(f, "x-A"), "1");
    assert.deepEqual(getHeaders(f, "X-a"), ["1", "2"]);
    assert.equal(getHeader(f, "missing"), null);
  });
  void test("encoded words: Q, B, joined multi-byte, unknown charset, malformed", () => {
    assert.equal(decodeWords("=?UTF-8?Q?a_b=3Dc?="), "a b=c");
    assert.equal(decodeWords("x =?utf-8?b?w6k=?= y"), "x é y");
    // "é" split across two B words: bytes are joined before decoding
    assert.equal(decodeWords("=?utf-8?B?ww==?= =?utf-8?B?qQ==?="), "é");
    assert.equal(decodeWords("=?utf-8?q?a?= =?iso-8859-1?q?=E9?="), "aé");
    assert.equal(decodeWords("=?utf-8*en?q?lang?="), "lang");
    assert.equal(decodeWords("=?x-unknown?q?plain?="), "plain");
    assert.equal(decodeWords("=?utf-8?x?nope?= and =? broken"), "=?utf-8?x?nope?= and =? broken");
    assert.equal(
      decodeWords("=?koi8-r?B?" + iconv.encode("Привет", "koi8-r").toString("base64") + "?="),
      "Привет",
    );
    assert.equal(decodeWords("=?windows-1251?Q?=CF=F0=E8?="), "При");
    assert.equal(
      decodeWords("=?gb2312?B?" + iconv.encode("中文", "gb2312").toString("base64") + "?="),
      "中文",
    );
    assert.equal(decodeWords("=?big5?B?" + iconv.encode("中文", "big5").toString("base64") + "?="), "中文");
    assert.equal(decodeWords("=?ISO-2022-JP?B?GyRCJEskWyRzGyhC?="), "にほん");
  });
  void test("encoded-word decoding stays linear on hostile input", () => {
    const evil = "=?a".repeat(80_000) + "=?utf-8?q?x?=";
    const t0 = performance.now();
    decodeWords(evil);
    assert.ok(performance.now() - t0 < 2000);
  });
  void test("parameters: quoting, comments, RFC 2231, encoded words in filename", () => {
    assert.deepEqual(parseParams('attachment; filename="a;b.txt"; size=3'), {
      value: "attachment",
      params: { filename: "a;b.txt", size: "3" },
    });
    assert.deepEqual(parseContentType('Text/HTML (comment); Charset="UTF-8" (c)'), {
      type: "text",
      subtype: "html",
      params: { charset: "UTF-8" },
    });
    assert.deepEqual(parseContentType(null), {
      type: "text",
      subtype: "plain",
      params: { charset: "us-ascii" },
    });
    assert.deepEqual(parseContentType(null, "message/rfc822"), {
      type: "message",
      subtype: "rfc822",
      params: {},
    });
    assert.deepEqual(parseContentType("garbage; charset=koi8-r"), {
      type: "text",
      subtype: "plain",
      params: { charset: "koi8-r" },
    });
    assert.equal(parseParams("inline; filename*=iso-8859-1'de'M%FCller.txt").params.filename, "Müller.txt");
    assert.equal(
      parseParams("attachment; filename*0*=utf-8''%E4%B8%AD; filename*1*=%E6%96%87.doc").params.filename,
      "中文.doc",
    );
    assert.equal(
      parseParams('attachment; filename="=?utf-8?B?5Lit5paHLnR4dA==?="').params.filename,
      "中文.txt",
    );
    assert.deepEqual(parseParams("x; __proto__=1").params, {});
  });
  void test("charset decoding falls back instead of throwing", () => {
    assert.equal(decodeCharset(Buffer.from([0xe9]), "us-ascii"), "é");
    assert.equal(decodeCharset(Buffer.from("é"), "us-ascii"), "é");
    assert.equal(decodeCharset(Buffer.from("é"), "no-such-charset"), "é");
    assert.equal(decodeCharset(Buffer.from([0xe9]), "no-such-charset"), "é");
    assert.equal(decodeCharset(iconv.encode("Ωμέγα", "iso-8859-7"), "ISO-8859-7"), "Ωμέγα");
    assert.equal(decodeCharset(iconv.encode("€", "windows-1252"), "cp1252"), "€");
  });
});

void describe("addresses (RFC 5322 §3.4)", () => {
  void test("mailboxes, quoted names, comments, encoded words", () => {
    assert.deepEqual(
      parseAddressList(
        '"Doe, John" <john@example.com>, jane@example.com (Jane Roe), =?utf-8?q?J=C3=BCrgen?= <j@x.de>',
      ),
      [
        { name: "Doe, John", address: "john@example.com" },
        { name: "Jane Roe", address: "jane@example.com" },
        { name: "Jürgen", address: "j@x.de" },
      ],
    );
    assert.deepEqual(parseAddressList('"=?utf-8?B?w6k=?=" <e@x.org>'), [{ name: "é", address: "e@x.org" }]);
    assert.deepEqual(parseAddressList("John Q. Public <jqp@x.org>"), [
      { name: "John Q. Public", address: "jqp@x.org" },
    ]);
  });
  void test("quoted local parts and domain literals", () => {
    assert.deepEqual(parseAddressList('"john smith"@example.com, "a.b"@x.org, user@[192.0.2.1]'), [
      { name: null, address: '"john smith"@example.com' },
      { name: null, address: "a.b@x.org" },
      { name: null, address: "user@[192.0.2.1]" },
    ]);
  });
  void test("groups, flattened and kept", () => {
    const v = "A Group: a@x.org, B <b@x.org>; c@x.org, Empty:;";
    assert.deepEqual(
      parseAddressList(v).map((a) => a.address),
      ["a@x.org", "b@x.org", "c@x.org"],
    );
    assert.deepEqual(parseAddressGroups(v), [
      {
        name: "A Group",
        addresses: [
          { name: null, address: "a@x.org" },
          { name: "B", address: "b@x.org" },
        ],
      },
      { name: null, addresses: [{ name: null, address: "c@x.org" }] },
      { name: "Empty", addresses: [] },
    ]);
  });
  void test("ENVELOPE form: raw names, groups as markers, obsolete routes", () => {
    assert.deepEqual(
      parseEnvelopeAddresses("=?utf-8?q?X?= <x@a.b>, G: m@a.b;, <@r1.net,@r2.net:route@a.b>"),
      [
        { name: "=?utf-8?q?X?=", adl: null, mailbox: "x", host: "a.b" },
        { name: null, adl: null, mailbox: "G", host: null },
        { name: null, adl: null, mailbox: "m", host: "a.b" },
        { name: null, adl: null, mailbox: null, host: null },
        { name: null, adl: "@r1.net,@r2.net", mailbox: "route", host: "a.b" },
      ],
    );
    assert.deepEqual(parseEnvelopeAddresses("nodomain"), [
      { name: null, adl: null, mailbox: "nodomain", host: "MISSING_DOMAIN" },
    ]);
    assert.deepEqual(parseEnvelopeAddresses(""), []);
    assert.deepEqual(parseEnvelopeAddresses(null), []);
  });
  void test("a display name without angle brackets", () => {
    assert.deepEqual(parseAddressList("John Smith john@x.org"), [
      { name: "John Smith", address: "john@x.org" },
    ]);
    assert.deepEqual(parseAddressList("john . smith@x.org"), [{ name: null, address: "john.smith@x.org" }]);
    assert.deepEqual(parseAddressList("(c) john@x.org"), [{ name: "c", address: "john@x.org" }]);
  });
  void test("garbage does not throw", () => {
    for (const s of [
      "<<<>>>",
      '"unterminated',
      "(((",
      "a@b@c",
      ",,,;;;:::",
      "<a@b",
      "@",
      "[",
      "\\",
      "a <b> <c>",
    ]) {
      parseAddressList(s);
      parseEnvelopeAddresses(s);
      parseAddressGroups(s);
    }
  });
  void test("IDN domains and formatting", () => {
    assert.equal(asciiDomain("bücher.example"), "xn--bcher-kva.example");
    assert.equal(unicodeDomain("xn--bcher-kva.example"), "bücher.example");
    assert.equal(addressKey("Jo@Bücher.Example"), "Jo@xn--bcher-kva.example");
    assert.equal(formatAddress({ name: null, address: "a@b.c" }), "a@b.c");
    assert.equal(formatAddress({ name: "Jane Roe", address: "a@b.c" }), "Jane Roe <a@b.c>");
    assert.equal(formatAddress({ name: 'Doe, "J"', address: "a@b.c" }), '"Doe, \\"J\\"" <a@b.c>');
    assert.deepEqual(parseAddressList(formatAddress({ name: 'Doe, "J"', address: "a@b.c" })), [
      { name: 'Doe, "J"', address: "a@b.c" },
    ]);
  });
  void test("message ids", () => {
    assert.deepEqual(parseMessageIds("<a@b> <c@d>\r\n <e@f>"), ["a@b", "c@d", "e@f"]);
    assert.deepEqual(parseMessageIds("bare@id"), ["bare@id"]);
    assert.deepEqual(parseMessageIds(null), []);
  });
});

void describe("transfer decoding (RFC 2045 §6)", () => {
  void test("base64 tolerant of garbage, padding in the middle, missing padding", () => {
    assert.equal(decodeBase64(Buffer.from("SGVsbG8=")).toString(), "Hello");
    assert.equal(decodeBase64(Buffer.from("SGVs\r\nbG8")).toString(), "Hello");
    assert.equal(decodeBase64(Buffer.from("SGk=SGk=")).toString(), "HiHi");
    assert.equal(decodeBase64(Buffer.from("!!S*G%V\x00sbG8")).toString(), "Hello");
    assert.equal(decodeBase64(Buffer.alloc(0)).length, 0);
  });
  void test("quoted-printable: soft breaks, trailing space, malformed =", () => {
    assert.equal(decodeQuotedPrintable(Buffer.from("a=3Db=\r\nc  \r\nd=\ne=4")).toString(), "a=bc\r\nde=4");
    assert.equal(decodeQuotedPrintable(Buffer.from("=C3=A9=\r\n")).toString(), "é");
    assert.equal(decodeQuotedPrintable(Buffer.from("100% = =ZZ")).toString(), "100% = =ZZ");
    assert.equal(decodeQuotedPrintable(Buffer.from("x= \r\ny")).toString(), "xy");
  });
  void test("identity encodings pass through", () => {
    const b = Buffer.from([0, 1, 255]);
    for (const e of ["7bit", "8bit", "binary", "x-unknown"]) assert.deepEqual(decodeTransfer(b, e), b);
  });
});

void describe("modified UTF-7 (RFC 3501 §5.1.3)", () => {
  void test("the RFC's example and common names", () => {
    assert.equal(encodeMailboxName("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    assert.equal(decodeMailboxName("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
    assert.equal(encodeMailboxName("A&B"), "A&-B");
    assert.equal(decodeMailboxName("A&-B"), "A&B");
    assert.equal(encodeMailboxName("Entwürfe"), "Entw&APw-rfe");
    assert.equal(encodeMailboxName("😀"), "&2D3eAA-");
    assert.equal(decodeMailboxName("&2D3eAA-"), "😀");
    assert.equal(encodeMailboxName("INBOX"), "INBOX");
    assert.equal(encodeMailboxName("&&x&&"), "&-&-x&-&-");
    assert.equal(encodeMailboxName("tietäjä"), "tiet&AOQ-j&AOQ-");
    assert.equal(encodeMailboxName("a\ud800b"), "a&,,0-b");
  });
  void test("invalid input throws Utf7Error", () => {
    // lone high surrogate "&2D0-", lone low surrogate "&3gA-", DEL, a single encoded octet
    for (const bad of [
      "&",
      "&Jjo",
      "&Jjo!-",
      "a\u00e9",
      "&AGE-",
      "&U,BTFw-&ZeVnLIqe-",
      "&U,BTF-",
      "\x01",
      "&2D0-",
      "&3gA-",
      "\x7f",
      "&AO-",
    ]) {
      assert.throws(() => decodeMailboxName(bad), Utf7Error, JSON.stringify(bad));
    }
  });
});

void describe("dates (RFC 5322 §3.3, §4.3)", () => {
  void test("modern and obsolete forms", () => {
    const t = Date.UTC(2024, 0, 2, 3, 4, 5);
    assert.equal(parseDate("Tue, 02 Jan 2024 03:04:05 +0000"), t);
    assert.equal(parseDate("2 Jan 2024 04:04:05 +0100"), t);
    assert.equal(parseDate("Tue, 2 Jan 24 03:04:05 GMT"), t);
    assert.equal(parseDate("Mon, 1 Jan 2024 22:04:05 EST"), t);
    assert.equal(parseDate("Tue,  2 Jan 2024 03:04:05 +0000 (UTC)"), t);
    assert.equal(parseDate("Tue, 2 Jan 2024 03:04:05"), t);
    assert.equal(parseDate("02 Jan 124 03:04:05 +0000"), t);
    assert.equal(parseDate("Tue, 2 Jan 99 03:04 +0000"), Date.UTC(1999, 0, 2, 3, 4, 0));
    assert.equal(parseDate("Tue, 2 Jan 2024 03:04:05 Z"), t);
    assert.equal(parseDate("Tue, 2 Jan 2024 03:04:05 A"), t);
    assert.equal(parseDate("2024-01-02T03:04:05Z"), t);
    assert.equal(parseDate("garbage"), null);
    assert.equal(parseDate(""), null);
    assert.equal(parseDate(null), null);
    assert.equal(parseDate("32 Jan 2024 00:00:00 +0000"), null);
    // the day as written, in the date's own zone (RFC 9051 §6.4.4 SENT*)
    const day = (y: number, m: number, d: number): number => Date.UTC(y, m, d) / 86_400_000;
    assert.equal(parseDateDay("Sun, 25 Mar 2007 01:30:00 +0300"), day(2007, 2, 25));
    assert.equal(parseDateDay("Sat, 24 Mar 2007 23:30:00 -0500"), day(2007, 2, 24));
    assert.equal(parseDateDay("Sat, 24 Mar 2007 23:30:00"), day(2007, 2, 24));
    assert.equal(parseDateDay("garbage"), null);
    // RFC 5322 Appendix A.5, A.6.2 and A.6.3
    assert.equal(
      parseDate(
        "Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)",
      ),
      Date.UTC(1969, 1, 14, 3, 2),
    );
    assert.equal(parseDate("21 Nov 97 09:55:06 GMT"), Date.UTC(1997, 10, 21, 9, 55, 6));
    assert.equal(
      parseDate("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600"),
      Date.UTC(1997, 10, 21, 15, 55, 6),
    );
  });
  void test("IMAP date-time formatting and parsing", () => {
    const t = Date.UTC(2024, 0, 2, 3, 4, 5);
    assert.equal(formatImapDate(t), "02-Jan-2024 03:04:05 +0000");
    assert.equal(formatImapDate(t, 120), "02-Jan-2024 05:04:05 +0200");
    assert.equal(formatImapDate(t, -330), "01-Jan-2024 21:34:05 -0530");
    assert.equal(formatImapDay(t), "2-Jan-2024");
    assert.equal(formatRfc5322Date(t), "Tue, 02 Jan 2024 03:04:05 +0000");
    assert.equal(parseImapDateTime(" 2-Jan-2024 05:04:05 +0200"), t);
    assert.equal(parseImapDateTime("02-Jan-2024 03:04:05 +0000"), t);
    assert.equal(parseImapDateTime("02-Foo-2024 03:04:05 +0000"), null);
  });
});

void describe("base subject (RFC 5256 §2.1)", () => {
  void test("leaders, blobs, trailers, [fwd: ]", () => {
    const cases: [string, string][] = [
      ["Re: hello", "hello"],
      ["RE: Re: re:hello", "hello"],
      ["Fwd: Re: [list] hello (fwd)", "hello"],
      ["[list] Re: hello", "hello"],
      ["Re[2]: hello", "hello"],
      ["[fwd: hello]", "hello"],
      ["[fwd: Re: hello (fwd)]", "hello"],
      ["[only a blob]", "[only a blob]"],
      ["  hello \t world  ", "hello world"],
      ["", ""],
      ["Re:", ""],
    ];
    for (const [input, expected] of cases) assert.equal(baseSubject(input), expected, input);
  });
});

void describe("HTML to text", () => {
  void test("tags, entities, scripts, styles, comments", () => {
    assert.equal(
      htmlToText(
        "<p>a&nbsp;b</p><!-- x --><script>evil()</script><style>p{}</style><br>c &#169; &#x1F600; &bogus;",
      ),
      "a b\nc © 😀 &bogus;",
    );
    assert.equal(htmlToText('<a href="x>y">link</a> <img alt="pic" src=x>'), "link pic");
    assert.equal(decodeEntities("&lt;&gt;&amp;&quot;&#39;"), "<>&\"'");
    assert.equal(htmlToText("<table><tr><td>a</td><td>b</td></tr></table>"), "a b");
  });
});

void describe("format=flowed (RFC 3676)", () => {
  void test("soft breaks joined, quotes kept apart, space-stuffing removed, delsp", async () => {
    const { unflow } = await import("../../src/mail/decode.ts");
    assert.equal(
      unflow("Hello \nworld\n>quoted \n>more\n From stuffed\n-- \nsig", false),
      "Hello world\n> quoted more\nFrom stuffed\n-- \nsig",
    );
    assert.equal(unflow("ab \ncd", true), "abcd");
  });
});

void describe("RFC 5322 Appendix A address examples", () => {
  void test("A.1.2, A.1.3, A.4, A.5 and A.6.1", () => {
    const flat = (v: string): string[] => parseAddressList(v).map((a) => `${a.name ?? ""}|${a.address}`);
    assert.deepEqual(
      flat(
        '"Joe Q. Public" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>',
      ),
      [
        "Joe Q. Public|john.q.public@example.com",
        "Mary Smith|mary@x.test",
        "|jdoe@example.org",
        "Who?|one@y.test",
      ],
    );
    assert.deepEqual(flat('<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>'), [
      "|boss@nil.test",
      'Giant; "Big" Box|sysservices@example.net',
    ]);
    assert.deepEqual(
      parseAddressGroups("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;").map((g) => [
        g.name,
        g.addresses.length,
      ]),
      [["A Group", 3]],
    );
    assert.deepEqual(parseAddressGroups("Undisclosed recipients:;"), [
      { name: "Undisclosed recipients", addresses: [] },
    ]);
    assert.deepEqual(flat("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"), [
      "Pete|pete@silly.test",
    ]);
    assert.deepEqual(
      flat(
        "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
      ),
      ["Chris Jones|c@public.example", "|joe@example.org", "John|jdoe@one.test"],
    );
    assert.deepEqual(parseAddressGroups("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;"), [
      { name: "Hidden recipients", addresses: [] },
    ]);
    assert.deepEqual(flat("Joe Q. Public <john.q.public@example.com>"), [
      "Joe Q. Public|john.q.public@example.com",
    ]);
    assert.deepEqual(flat("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"), [
      "Mary Smith|mary@example.net",
      "|jdoe@test.example",
    ]);
    assert.deepEqual(flat("John Doe <jdoe@machine(comment).  example>"), ["John Doe|jdoe@machine.example"]);
  });
});
