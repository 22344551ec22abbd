import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ehloKeywords, formatEhlo, parseEhlo } from "../../../src/protocols/smtp/wire/ehlo.ts";
import type { EhloCapabilities } from "../../../src/protocols/smtp/wire/ehlo.ts";
import { ReplyParser } from "../../../src/protocols/smtp/wire/replies.ts";
import {
  decodeUtf8AddrUnitext,
  decodeUtf8AddrXtext,
  decodeXtext,
  decodeXtextBytes,
  encodeUtf8AddrUnitext,
  encodeUtf8AddrXtext,
  encodeXtext,
  isXtext,
} from "../../../src/protocols/smtp/wire/xtext.ts";

const full: EhloCapabilities = {
  pipelining: true,
  size: 52428800,
  eightBitMime: true,
  chunking: true,
  binaryMime: true,
  enhancedStatusCodes: true,
  dsn: true,
  startTls: true,
  auth: ["SCRAM-SHA-256", "PLAIN", "LOGIN"],
  smtputf8: true,
  futureRelease: { maxInterval: 604800, maxDateTime: "2026-12-01T00:00:00Z" },
  mtPriority: { profile: "MIXER" },
  requireTls: true,
  deliverBy: 60,
  noSoliciting: ["org.example:ADV", "net.example.promo"],
  limits: { rcptMax: 100, mailMax: 50 },
  help: true,
};

describe("EHLO", () => {
  test("keyword lines in order", () => {
    assert.deepEqual(ehloKeywords(full), [
      "PIPELINING",
      "SIZE 52428800",
      "8BITMIME",
      "CHUNKING",
      "BINARYMIME",
      "ENHANCEDSTATUSCODES",
      "DSN",
      "STARTTLS",
      "AUTH SCRAM-SHA-256 PLAIN LOGIN",
      "SMTPUTF8",
      "FUTURERELEASE 604800 2026-12-01T00:00:00Z",
      "MT-PRIORITY MIXER",
      "REQUIRETLS",
      "DELIVERBY 60",
      "NO-SOLICITING org.example:ADV,net.example.promo",
      "LIMITS RCPTMAX=100 MAILMAX=50",
      "HELP",
    ]);
    assert.deepEqual(ehloKeywords({ size: 0, deliverBy: null, noSoliciting: [], mtPriority: {}, auth: [] }), [
      "SIZE 0",
      "MT-PRIORITY",
      "DELIVERBY",
      "NO-SOLICITING",
    ]);
  });
  test("formatted reply, then parsed back by a client", () => {
    const wire = formatEhlo("mx.example", "greets client.example", full);
    assert.ok(wire.startsWith("250-mx.example greets client.example\r\n250-PIPELINING\r\n"));
    assert.ok(wire.endsWith("250 HELP\r\n"));
    const [r] = new ReplyParser().push(wire);
    const info = parseEhlo(r!);
    assert.equal(info?.domain, "mx.example");
    assert.equal(info?.greeting, "greets client.example");
    assert.deepEqual(info?.capabilities, full);
  });
  test("a real-world reply: old AUTH= syntax, lower case, unknown keywords", () => {
    const [r] = new ReplyParser().push(
      "250-smtp.example Hello\r\n250-auth=LOGIN PLAIN\r\n250-AUTH PLAIN XOAUTH2\r\n250-size\r\n250-XCLIENT NAME ADDR\r\n250 8bitmime\r\n",
    );
    const info = parseEhlo(r!);
    assert.deepEqual(info?.capabilities, {
      auth: ["LOGIN", "PLAIN", "XOAUTH2"],
      size: null,
      other: Object.assign(Object.create(null), { XCLIENT: ["NAME", "ADDR"] }),
      eightBitMime: true,
    });
    assert.equal(parseEhlo({ code: 500, lines: ["no"] }), null);
  });
  test("property: parseEhlo never throws", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 10 }), (lines) => {
        parseEhlo({ code: 250, lines });
      }),
    );
  });
});

describe("xtext (RFC 3461 §4)", () => {
  test("encode and decode", () => {
    assert.equal(encodeXtext("a+b=c d"), "a+2Bb+3Dc+20d");
    assert.equal(encodeXtext("é"), "+C3+A9");
    assert.equal(decodeXtext("a+2Bb+3dc"), "a+b=c");
    assert.equal(decodeXtext("a+2"), null);
    assert.equal(decodeXtext("a+GG"), null);
    assert.equal(decodeXtext("a b"), null);
    assert.equal(decodeXtext("a=b"), null);
    assert.equal(decodeXtext("+FF"), null); // not UTF-8
    assert.deepEqual(decodeXtextBytes("+FF"), Buffer.from([255]));
    assert.equal(isXtext("abc+20"), true);
  });
  test("property: round trip of any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 50 }), (b) => {
        const e = encodeXtext(b);
        assert.ok(isXtext(e));
        assert.deepEqual(decodeXtextBytes(e), Buffer.from(b));
      }),
    );
  });
});

describe("utf-8-addr-xtext and unitext (RFC 6533 §3)", () => {
  test("encode and decode", () => {
    assert.equal(
      encodeUtf8AddrXtext("jöran+x=y\\z@例.example"),
      "j\\x{F6}ran\\x{2B}x\\x{3D}y\\x{5C}z@\\x{4F8B}.example",
    );
    assert.equal(encodeUtf8AddrUnitext("jöran+x@例.example"), "jöran\\x{2B}x@例.example");
    assert.equal(decodeUtf8AddrXtext("j\\x{F6}ran@\\x{1F600}.example"), "jöran@😀.example");
    assert.equal(decodeUtf8AddrXtext("jöran@x"), null); // raw UTF-8 only in unitext
    assert.equal(decodeUtf8AddrUnitext("jöran@x"), "jöran@x");
    for (const badText of [
      "a+b",
      "a=b",
      "a\\x{}",
      "a\\x{D800}",
      "a\\x{110000}",
      "a\\x{0}",
      "a\\y{41}",
      "a\\x{41",
      "",
      "a b",
    ]) {
      assert.equal(decodeUtf8AddrUnitext(badText), null, badText);
    }
  });
  test("property: round trips", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), (s) => {
        if (s.includes("\0")) return;
        assert.equal(decodeUtf8AddrXtext(encodeUtf8AddrXtext(s)), s);
        assert.equal(decodeUtf8AddrUnitext(encodeUtf8AddrUnitext(s)), s);
      }),
    );
  });
});
