import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatAuthChallenge,
  formatCommand,
  parseAuthResponse,
  parseCommand,
} from "../../../src/protocols/smtp/wire/commands.ts";
import type { Command, CommandResult, ParseOptions } from "../../../src/protocols/smtp/wire/commands.ts";
import { mailParamsToRaw, rcptParamsToRaw } from "../../../src/protocols/smtp/wire/params.ts";
import { encodeUtf8AddrXtext, encodeXtext } from "../../../src/protocols/smtp/wire/xtext.ts";

function ok(line: string | Buffer, opts: ParseOptions = {}): Command {
  const r = parseCommand(line, opts);
  if (!r.ok)
    assert.fail(
      `expected ${JSON.stringify(String(line))} to parse, got ${r.reply.code} ${r.reply.enhanced} ${String(r.reply.text)}`,
    );
  return r.command;
}

function bad(
  line: string | Buffer,
  code: number,
  enhanced: string | null,
  opts: ParseOptions = {},
): CommandResult & { ok: false } {
  const r = parseCommand(line, opts);
  if (r.ok) assert.fail(`expected ${JSON.stringify(String(line))} to fail, got ${JSON.stringify(r.command)}`);
  assert.equal(r.reply.code, code, `code for ${JSON.stringify(String(line))}: ${String(r.reply.text)}`);
  assert.equal(r.reply.enhanced, enhanced, `enhanced for ${JSON.stringify(String(line))}`);
  return r;
}

const U8: ParseOptions = { smtputf8Allowed: true };

describe("verbs", () => {
  test("case-insensitive verbs, CRLF optional, trailing spaces tolerated", () => {
    assert.deepEqual(ok("quit"), { verb: "QUIT" });
    assert.deepEqual(ok("DaTa\r\n"), { verb: "DATA" });
    assert.deepEqual(ok(Buffer.from("RSET \r\n")), { verb: "RSET" });
    assert.deepEqual(ok("STARTTLS"), { verb: "STARTTLS" });
  });
  test("unknown verbs: 500 5.5.1", () => {
    bad("FOO", 500, "5.5.1");
    bad("", 500, "5.5.1");
    bad("MAILFROM:<a@b>", 500, "5.5.1");
    bad("XEXCH50 1 2", 500, "5.5.1");
  });
  test("argument-less verbs refuse arguments: 501 5.5.4", () => {
    for (const v of ["DATA", "RSET", "QUIT", "STARTTLS"]) bad(`${v} x`, 501, "5.5.4");
  });
  test("HELP, NOOP with optional argument; VRFY and EXPN need one", () => {
    assert.deepEqual(ok("HELP"), { verb: "HELP", arg: "" });
    assert.deepEqual(ok("HELP MAIL"), { verb: "HELP", arg: "MAIL" });
    assert.deepEqual(ok("NOOP hello there"), { verb: "NOOP", arg: "hello there" });
    assert.deepEqual(ok("VRFY postmaster"), { verb: "VRFY", arg: "postmaster" });
    assert.deepEqual(ok("EXPN list"), { verb: "EXPN", arg: "list" });
    bad("VRFY", 501, "5.5.4");
    bad("EXPN", 501, "5.5.4");
  });
  test("line length: 512 octets with CRLF by default, configurable", () => {
    const noop = "NOOP " + "x".repeat(505); // 510 + CRLF = 512
    assert.equal(ok(noop + "\r\n").verb, "NOOP");
    const r = bad(noop + "x\r\n", 500, "5.5.2");
    assert.equal(r.kind, "line-too-long");
    assert.equal(ok(noop + "xyz", { maxLineLength: 1000 }).verb, "NOOP");
    bad(Buffer.from(noop + "x\r\n"), 500, "5.5.2");
  });
  test("bare CR or LF, NUL and invalid UTF-8 are refused", () => {
    assert.equal(bad("NOOP\n", 500, "5.5.2").kind, "bare-line-end");
    assert.equal(bad("NOOP a\rb", 500, "5.5.2").kind, "bare-line-end");
    assert.equal(bad("RSET\r\nQUIT\r\n", 500, "5.5.2").kind, "bare-line-end");
    bad("NOOP \0", 500, "5.5.2");
    bad(Buffer.from([0x4e, 0x4f, 0x4f, 0x50, 0x20, 0xff, 0xfe]), 500, "5.5.2");
  });
});

describe("HELO / EHLO / LHLO", () => {
  test("domains and address literals", () => {
    assert.deepEqual(ok("EHLO mail.example.com"), { verb: "EHLO", domain: "mail.example.com", valid: true });
    assert.deepEqual(ok("helo example.com."), { verb: "HELO", domain: "example.com.", valid: true });
    assert.deepEqual(ok("EHLO [192.0.2.1]"), {
      verb: "EHLO",
      domain: "[192.0.2.1]",
      literal: { kind: "ipv4", value: "192.0.2.1" },
      valid: true,
    });
    assert.deepEqual(ok("EHLO [IPv6:::1]"), {
      verb: "EHLO",
      domain: "[IPv6:::1]",
      literal: { kind: "ipv6", value: "::1" },
      valid: true,
    });
    assert.deepEqual(ok("EHLO [IPv6:2001:db8::1]").verb, "EHLO");
  });
  test("junk names parse but are flagged invalid (a policy decision)", () => {
    assert.equal((ok("EHLO my_pc") as { valid: boolean }).valid, false);
    assert.equal((ok("EHLO [999.1.1.1]") as { valid: boolean }).valid, false);
    assert.equal((ok("EHLO -bad-.com") as { valid: boolean }).valid, false);
  });
  test("missing, multiple or non-ASCII arguments: 501 5.5.4", () => {
    bad("EHLO", 501, "5.5.4");
    bad("HELO", 501, "5.5.4");
    bad("EHLO a b", 501, "5.5.4");
    bad("EHLO bücher.example", 501, "5.5.4");
  });
  test("LMTP: LHLO only (RFC 2033 §4.1)", () => {
    assert.equal(ok("LHLO example.com", { lmtp: true }).verb, "LHLO");
    bad("LHLO example.com", 500, "5.5.1");
    bad("EHLO example.com", 500, "5.5.1", { lmtp: true });
    bad("HELO example.com", 500, "5.5.1", { lmtp: true });
  });
});

describe("MAIL FROM", () => {
  test("plain, null and spaced forms", () => {
    const m = ok("MAIL FROM:<alice@example.com>");
    assert.deepEqual(m, {
      verb: "MAIL",
      from: { localPart: "alice", domain: "example.com", quoted: false, utf8: false },
      params: {},
      rawParams: [],
    });
    assert.deepEqual(ok("mail from:<>"), { verb: "MAIL", from: null, params: {}, rawParams: [] });
    assert.equal((ok("MAIL FROM: <a@b.c>") as any).from.localPart, "a");
    bad("MAIL FROM:a@b.c", 501, "5.1.7");
    bad("MAIL TO:<a@b.c>", 501, "5.5.4");
    bad("MAIL", 501, "5.5.4");
    bad("MAIL FROM:<a@b.c>x", 501, "5.1.7");
    bad("MAIL FROM:<postmaster>", 501, "5.1.7");
  });
  test("quoted local parts, source routes and address literals", () => {
    const q = ok('MAIL FROM:<"john smith"@example.com>') as any;
    assert.equal(q.from.localPart, "john smith");
    assert.equal(q.from.quoted, true);
    const q2 = ok('MAIL FROM:<"a\\"b\\\\c>d"@example.com> SIZE=10') as any;
    assert.equal(q2.from.localPart, 'a"b\\c>d');
    assert.equal(q2.params.size, 10);
    const sr = ok("MAIL FROM:<@relay1.example,@relay2.example:user@example.com>") as any;
    assert.deepEqual(sr.from.sourceRoute, ["relay1.example", "relay2.example"]);
    assert.equal(sr.from.localPart, "user");
    const lit = ok("MAIL FROM:<user@[IPv6:2001:db8::1]>") as any;
    assert.deepEqual(lit.from.literal, { kind: "ipv6", value: "2001:db8::1" });
    assert.equal(lit.from.domain, "[IPv6:2001:db8::1]");
    const gen = ok("MAIL FROM:<user@[x-tag:abc]>") as any;
    assert.deepEqual(gen.from.literal, { kind: "general", tag: "x-tag", value: "abc" });
    bad("MAIL FROM:<user@[300.1.1.1]>", 501, "5.1.7");
    bad("MAIL FROM:<user@[IPv6:zz::1]>", 501, "5.1.7");
    bad("MAIL FROM:<a..b@example.com>", 501, "5.1.7");
    bad("MAIL FROM:<.a@example.com>", 501, "5.1.7");
    bad("MAIL FROM:<a@-example.com>", 501, "5.1.7");
    bad("MAIL FROM:<a@example..com>", 501, "5.1.7");
    bad('MAIL FROM:<"unterminated@example.com>', 501, "5.1.7");
    bad("MAIL FROM:<@relay:>", 501, "5.1.7");
  });
  test("length limits (RFC 5321 §4.5.3.1)", () => {
    ok(`MAIL FROM:<${"a".repeat(64)}@example.com>`);
    bad(`MAIL FROM:<${"a".repeat(65)}@example.com>`, 501, "5.1.7");
    const label = "d".repeat(63);
    const dom = [label, label, label, "d".repeat(61)].join("."); // 253
    ok(`MAIL FROM:<a@${dom.slice(2)}>`); // path 255
    bad(`MAIL FROM:<a@${dom}>`, 501, "5.1.7"); // path 257 > 256
    bad(`MAIL FROM:<a@${dom}.xy.z>`, 501, "5.1.7"); // 258 > 255
    bad(`RCPT TO:<${"b".repeat(64)}@${[label, label, label, "d".repeat(60)].join(".")}>`, 501, "5.1.3"); // path 319 > 256
    bad(`MAIL FROM:<a@${"d".repeat(64)}.com>`, 501, "5.1.7"); // label > 63
  });
  test("UTF-8 addresses only with SMTPUTF8 (RFC 6531)", () => {
    bad("MAIL FROM:<jöran@example.com>", 553, "5.6.7", U8);
    bad("MAIL FROM:<jöran@example.com> SMTPUTF8", 555, "5.5.4"); // not advertised
    const m = ok("MAIL FROM:<jöran@bücher.example> SMTPUTF8", U8) as any;
    assert.equal(m.from.utf8, true);
    assert.equal(m.from.localPart, "jöran");
    assert.equal(m.params.smtputf8, true);
    const q = ok('MAIL FROM:<"ö ö"@example.com> SMTPUTF8', U8) as any;
    assert.equal(q.from.localPart, "ö ö");
    bad("RCPT TO:<用户@例子.广告>", 553, "5.6.7", U8);
    assert.equal((ok("RCPT TO:<用户@例子.广告>", { ...U8, utf8Transaction: true }) as any).to.utf8, true);
    // 64 octets counted in UTF-8: 32 two-octet characters fit, 33 do not.
    ok(`MAIL FROM:<${"é".repeat(32)}@example.com> SMTPUTF8`, U8);
    bad(`MAIL FROM:<${"é".repeat(33)}@example.com> SMTPUTF8`, 501, "5.1.7", U8);
  });
});

describe("MAIL parameters", () => {
  const p = (s: string, opts: ParseOptions = U8) => (ok(`MAIL FROM:<a@b.example> ${s}`, opts) as any).params;
  const badp = (s: string, code = 501, enh = "5.5.4", opts: ParseOptions = U8) =>
    bad(`MAIL FROM:<a@b.example> ${s}`, code, enh, opts);
  test("SIZE (RFC 1870)", () => {
    assert.equal(p("SIZE=12345").size, 12345);
    assert.equal(p("size=0").size, 0);
    badp("SIZE");
    badp("SIZE=-1");
    badp("SIZE=1e5");
    badp("SIZE=" + "9".repeat(21));
  });
  test("BODY (RFC 6152, RFC 3030)", () => {
    assert.equal(p("BODY=8bitmime").body, "8BITMIME");
    assert.equal(p("BODY=7BIT").body, "7BIT");
    assert.equal(p("BODY=BINARYMIME").body, "BINARYMIME");
    badp("BODY=9BIT");
    badp("BODY=BINARYMIME", 501, "5.5.4", { allowedParams: new Set(["BODY"]) });
    assert.equal(p("BODY=BINARYMIME", { allowedParams: new Set(["BODY", "BINARYMIME"]) }).body, "BINARYMIME");
  });
  test("SMTPUTF8 and REQUIRETLS take no value", () => {
    assert.equal(p("SMTPUTF8").smtputf8, true);
    assert.equal(p("REQUIRETLS").requireTls, true);
    badp("SMTPUTF8=yes");
    badp("REQUIRETLS=1");
  });
  test("RET and ENVID (RFC 3461)", () => {
    assert.equal(p("RET=hdrs").ret, "HDRS");
    assert.equal(p("RET=FULL ENVID=QQ314159+2Bx").envid, "QQ314159+x");
    badp("RET=ALL");
    badp("ENVID=a+2");
    badp("ENVID=a+ZZb");
    badp("ENVID=" + "a".repeat(101));
  });
  test("AUTH= (RFC 4954 §5)", () => {
    assert.equal(p("AUTH=<>").auth, null);
    assert.equal(p("AUTH=e+3Dmc2@example.com").auth, "e=mc2@example.com");
    badp("AUTH=");
    badp("AUTH=a+zz");
  });
  test("HOLDFOR / HOLDUNTIL (RFC 4865)", () => {
    assert.equal(p("HOLDFOR=3600").holdFor, 3600);
    assert.equal(p("HOLDUNTIL=2026-12-01T10:00:00Z").holdUntil.toISOString(), "2026-12-01T10:00:00.000Z");
    assert.equal(
      p("HOLDUNTIL=2026-12-01T10:00:00.5+02:00").holdUntil.toISOString(),
      "2026-12-01T08:00:00.500Z",
    );
    badp("HOLDFOR=1234567890");
    badp("HOLDFOR=-1");
    badp("HOLDUNTIL=2026-13-01T10:00:00Z");
    badp("HOLDUNTIL=tomorrow");
    badp("HOLDFOR=10 HOLDUNTIL=2026-12-01T10:00:00Z");
  });
  test("MT-PRIORITY (RFC 6710)", () => {
    assert.equal(p("MT-PRIORITY=-9").mtPriority, -9);
    assert.equal(p("MT-PRIORITY=9").mtPriority, 9);
    assert.equal(p("mt-priority=0").mtPriority, 0);
    badp("MT-PRIORITY=10");
    badp("MT-PRIORITY=-10");
    badp("MT-PRIORITY=x");
  });
  test("BY (RFC 2852)", () => {
    assert.deepEqual(p("BY=120;R").by, { time: 120, mode: "R", trace: false });
    assert.deepEqual(p("BY=-30;NT").by, { time: -30, mode: "N", trace: true });
    assert.deepEqual(p("BY=0;n").by, { time: 0, mode: "N", trace: false });
    badp("BY=0;R");
    badp("BY=-5;R");
    badp("BY=10");
    badp("BY=10;X");
    badp("BY=1234567890;R");
  });
  test("SOLICIT (RFC 3865)", () => {
    assert.deepEqual(p("SOLICIT=org.example:ADV,net.example.promo").solicit, [
      "org.example:ADV",
      "net.example.promo",
    ]);
    badp("SOLICIT=1abc");
    badp("SOLICIT=a,,b");
  });
  test("several parameters, case-insensitive names, raw kept", () => {
    const m = ok("MAIL FROM:<a@b.example> size=100 Body=8BITMIME ret=FULL", U8) as any;
    assert.deepEqual(m.params, { size: 100, body: "8BITMIME", ret: "FULL" });
    assert.deepEqual(m.rawParams, [
      { name: "SIZE", value: "100" },
      { name: "BODY", value: "8BITMIME" },
      { name: "RET", value: "FULL" },
    ]);
  });
  test("unknown parameters: 555 5.5.4; duplicates: 501 5.5.4", () => {
    assert.equal(badp("RRVS=2026-01-01T00:00:00Z", 555, "5.5.4").kind, "unknown-param");
    badp("XFOO", 555, "5.5.4");
    badp("NOTIFY=NEVER", 555, "5.5.4"); // an RCPT parameter
    badp("SIZE=1", 555, "5.5.4", { allowedParams: new Set(["BODY"]) });
    assert.equal(badp("SIZE=1 SIZE=2").kind, "bad-param");
    badp("size=1 SIZE=1");
    badp("=x");
    badp("SIZE=");
    badp("-X=1");
  });
  test("non-ASCII values only in SMTPUTF8 transactions", () => {
    badp("ENVID=é");
  });
});

describe("RCPT TO", () => {
  test("forward paths and Postmaster", () => {
    const r = ok("RCPT TO:<bob@example.org>") as any;
    assert.deepEqual(r.to, { localPart: "bob", domain: "example.org", quoted: false, utf8: false });
    assert.deepEqual((ok("RCPT TO:<Postmaster>") as any).to, {
      localPart: "Postmaster",
      domain: "",
      quoted: false,
      utf8: false,
    });
    assert.equal((ok("rcpt to:<postmaster@example.org>") as any).to.domain, "example.org");
    bad("RCPT TO:<>", 501, "5.1.3");
    bad("RCPT TO:<bob>", 501, "5.1.3");
    bad('RCPT TO:<"Postmaster">', 501, "5.1.3");
    bad("RCPT TO:bob@example.org", 501, "5.1.3");
    bad("RCPT FROM:<bob@example.org>", 501, "5.5.4");
    const q = ok('RCPT TO:<"a b"@[IPv6:::1]>') as any;
    assert.equal(q.to.localPart, "a b");
    assert.equal(q.to.literal.value, "::1");
  });
  test("NOTIFY and ORCPT (RFC 3461, RFC 6533)", () => {
    const p = (s: string, o: ParseOptions = {}) => (ok(`RCPT TO:<b@c.example> ${s}`, o) as any).params;
    assert.equal(p("NOTIFY=NEVER").notify, "NEVER");
    assert.deepEqual(p("notify=success,Delay").notify, ["SUCCESS", "DELAY"]);
    assert.deepEqual(p("ORCPT=rfc822;b+2Bx@c.example").orcpt, {
      addrType: "rfc822",
      address: "b+x@c.example",
    });
    assert.deepEqual(p("ORCPT=utf-8;j\\x{F6}ran@example.com").orcpt, {
      addrType: "utf-8",
      address: "jöran@example.com",
    });
    assert.deepEqual(p("ORCPT=UTF-8;jöran@example.com", { ...U8, utf8Transaction: true }).orcpt, {
      addrType: "UTF-8",
      address: "jöran@example.com",
    });
    const b = (s: string, o: ParseOptions = {}) => bad(`RCPT TO:<b@c.example> ${s}`, 501, "5.5.4", o);
    b("NOTIFY=NEVER,SUCCESS");
    b("NOTIFY=SUCCESS,SUCCESS");
    b("NOTIFY=");
    b("NOTIFY=SOMETIMES");
    b("ORCPT=rfc822");
    b("ORCPT=;a@b");
    b("ORCPT=rfc822;a+ZZ");
    b("ORCPT=utf-8;jöran@example.com"); // non-ASCII outside an SMTPUTF8 transaction
    b("ORCPT=utf-8;a\\x{D800}b");
    b("ORCPT=rfc822;" + "a".repeat(500), { maxLineLength: 1000 });
    bad("RCPT TO:<b@c.example> SIZE=1", 555, "5.5.4");
    bad("RCPT TO:<b@c.example> NOTIFY=NEVER NOTIFY=NEVER", 501, "5.5.4");
  });
});

describe("BDAT and AUTH", () => {
  test("BDAT n [LAST] (RFC 3030)", () => {
    assert.deepEqual(ok("BDAT 1000"), { verb: "BDAT", size: 1000, last: false });
    assert.deepEqual(ok("bdat 0 last"), { verb: "BDAT", size: 0, last: true });
    for (const l of ["BDAT", "BDAT x", "BDAT -1", "BDAT 10 FIRST", "BDAT 1234567890123456"]) {
      const r = bad(l, 554, "5.5.4");
      assert.equal(r.close, true, l);
    }
  });
  test("AUTH mechanism [initial-response] (RFC 4954)", () => {
    assert.deepEqual(ok("AUTH plain"), { verb: "AUTH", mechanism: "PLAIN" });
    const a = ok("AUTH PLAIN AGFsaWNlAHNlY3JldA==") as any;
    assert.equal(a.initialResponse.toString("latin1"), "\0alice\0secret");
    assert.equal((ok("AUTH EXTERNAL =") as any).initialResponse.length, 0);
    bad("AUTH", 501, "5.5.4");
    bad("AUTH PLAIN a b", 501, "5.5.4");
    bad("AUTH THIS-NAME-IS-FAR-TOO-LONG", 501, "5.5.4");
    bad("AUTH PLAIN ***", 501, "5.5.2");
    bad("AUTH PLAIN abc", 501, "5.5.2");
  });
});

describe("AUTH exchange lines (RFC 4954 §4)", () => {
  test("responses: base64, empty, cancel, garbage, too long", () => {
    const r = parseAuthResponse("dXNlcg==\r\n");
    assert.ok(r.ok && !r.cancel && r.data.toString() === "user");
    const e = parseAuthResponse("");
    assert.ok(e.ok && !e.cancel && e.data.length === 0);
    assert.deepEqual(parseAuthResponse(Buffer.from("*\r\n")), { ok: true, cancel: true });
    const g = parseAuthResponse("not base64!");
    assert.ok(!g.ok && g.reply.code === 501 && g.reply.enhanced === "5.5.2");
    const long = parseAuthResponse("QUFB".repeat(3100));
    assert.ok(!long.ok && long.reply.code === 500 && long.reply.enhanced === "5.5.6");
    assert.ok(parseAuthResponse("QUFB".repeat(3000)).ok);
  });
  test("challenges", () => {
    assert.equal(formatAuthChallenge(Buffer.from("abc")), "334 YWJj\r\n");
    assert.equal(formatAuthChallenge(Buffer.alloc(0)), "334 \r\n");
  });
});

describe("client serialization", () => {
  test("formatCommand round-trips through parseCommand", () => {
    const mail = ok('MAIL FROM:<"x y"@example.com> SIZE=5 BODY=8BITMIME ENVID=a+2Bb AUTH=<>', U8);
    assert.deepEqual(ok(formatCommand(mail), U8), mail);
    const rcpt = ok("RCPT TO:<b@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@c.example");
    assert.deepEqual(ok(formatCommand(rcpt)), rcpt);
    for (const l of [
      "BDAT 5 LAST",
      "AUTH PLAIN =",
      "AUTH LOGIN",
      "EHLO [IPv6:::1]",
      "NOOP",
      "HELP DATA",
      "QUIT",
    ]) {
      assert.deepEqual(ok(formatCommand(ok(l))), ok(l));
    }
  });
  test("typed parameters back to the wire", () => {
    const raw = mailParamsToRaw(
      {
        size: 1,
        body: "BINARYMIME",
        smtputf8: true,
        envid: "a=b",
        auth: "x+y@z",
        holdFor: 5,
        mtPriority: -3,
        requireTls: true,
        by: { time: 60, mode: "R", trace: true },
        solicit: ["a.b"],
      },
      encodeXtext,
    );
    const m = ok(formatCommand({ verb: "MAIL", from: null, params: {}, rawParams: raw }), U8) as any;
    assert.deepEqual(m.params, {
      size: 1,
      body: "BINARYMIME",
      smtputf8: true,
      envid: "a=b",
      auth: "x+y@z",
      holdFor: 5,
      mtPriority: -3,
      requireTls: true,
      by: { time: 60, mode: "R", trace: true },
      solicit: ["a.b"],
    });
    const rr = rcptParamsToRaw({ notify: ["DELAY"], orcpt: { addrType: "utf-8", address: "jö=@x" } }, (o) =>
      encodeUtf8AddrXtext(o.address),
    );
    const r = ok(
      formatCommand({
        verb: "RCPT",
        to: { localPart: "a", domain: "b.c", quoted: false, utf8: false },
        params: {},
        rawParams: rr,
      }),
    ) as any;
    assert.deepEqual(r.params, { notify: ["DELAY"], orcpt: { addrType: "utf-8", address: "jö=@x" } });
  });
});

describe("property: parseCommand never throws", () => {
  const opts = fc.record({
    lmtp: fc.boolean(),
    smtputf8Allowed: fc.boolean(),
    utf8Transaction: fc.boolean(),
  });
  test("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), opts, (bytes, o) => {
        const r = parseCommand(Buffer.from(bytes), o);
        assert.equal(typeof r.ok, "boolean");
        if (!r.ok) assert.ok(r.reply.code >= 400 && r.reply.code < 600);
      }),
      { numRuns: 3000 },
    );
  });
  test("random strings after real verbs", () => {
    const prefix = fc.constantFrom(
      "MAIL FROM:<",
      "RCPT TO:<",
      "MAIL FROM:<a@b> ",
      "RCPT TO:<a@b> ",
      "EHLO ",
      "AUTH ",
      "BDAT ",
      "LHLO ",
      'MAIL FROM:<"',
    );
    const body = fc.string({
      unit: fc.constantFrom(
        "a",
        "@",
        "<",
        ">",
        '"',
        "\\",
        " ",
        "=",
        ";",
        ",",
        ":",
        "[",
        "]",
        ".",
        "+",
        "é",
        "x",
        "1",
        "-",
        "\r",
        "\n",
        "{",
        "}",
      ),
      maxLength: 80,
    });
    fc.assert(
      fc.property(prefix, body, opts, (pre, b, o) => {
        const r = parseCommand(pre + b, o);
        assert.equal(typeof r.ok, "boolean");
      }),
      { numRuns: 5000 },
    );
  });
});
