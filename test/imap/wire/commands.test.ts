import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bad, ok, parse, raw } from "./helpers.ts";
import { isDone } from "../../../src/protocols/imap/wire/commands/simple.ts";
import { parseSaslResponse } from "../../../src/protocols/imap/wire/commands/auth.ts";
import { openCommand, runParser, COMMAND_PARSERS } from "../../../src/protocols/imap/wire/parser.ts";

const seq = (start: number | "*", end: number | "*" = start) => ({
  kind: "ranges",
  ranges: [{ start, end }],
});

describe("command name and tag", () => {
  test("commands without arguments, any case", () => {
    for (const n of [
      "CAPABILITY",
      "noop",
      "Logout",
      "STARTTLS",
      "CHECK",
      "CLOSE",
      "UNSELECT",
      "EXPUNGE",
      "IDLE",
      "NAMESPACE",
      "UNAUTHENTICATE",
    ])
      assert.deepEqual(ok(`a1 ${n}`), { type: n.toLowerCase() });
    bad("a1 NOOP x");
    bad("a1 NOOP ");
  });

  test("unknown command, missing command, bad tag", () => {
    const r = parse("a1 FROB x");
    assert.ok(!r.ok && r.tag === "a1" && r.name === "FROB" && /Unknown command/.test(r.error.message));
    const u = parse("a1 UID FROB 1");
    assert.ok(!u.ok && u.name === "UID FROB");
    const nt = parse("a1 NOOP\r\n");
    assert.ok(nt.ok);
  });

  test("openCommand + runParser, as a dispatcher uses them", () => {
    const o = openCommand(raw("t UID fetch 1:2 UID"));
    assert.ok(o.ok);
    assert.equal(o.name, "UID FETCH");
    const p = COMMAND_PARSERS.get(o.name);
    assert.ok(p !== undefined);
    const r = runParser(o, p);
    assert.ok(r.ok && r.command.args.type === "fetch" && r.command.args.uid);
  });

  test("UID EXPUNGE (RFC 4315 §2.1)", () => {
    assert.deepEqual(ok("A003 UID EXPUNGE 3000:3002"), { type: "uid expunge", uids: seq(3000, 3002) });
    bad("A003 UID EXPUNGE");
  });

  test("IDLE's DONE", () => {
    assert.ok(isDone(Buffer.from("DONE")));
    assert.ok(isDone(Buffer.from("done")));
    assert.ok(!isDone(Buffer.from("DONE ")));
  });
});

describe("LOGIN, AUTHENTICATE", () => {
  test("LOGIN with atoms, quoted strings and literals (RFC 9051 §6.2.3)", () => {
    assert.deepEqual(ok("a001 LOGIN SMITH SESAME"), { type: "login", username: "SMITH", password: "SESAME" });
    assert.deepEqual(ok('a LOGIN "fred" "p\\"w\\\\d"'), {
      type: "login",
      username: "fred",
      password: 'p"w\\d',
    });
    assert.deepEqual(ok("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man"), {
      type: "login",
      username: "FRED FOOBAR",
      password: "fat man",
    });
    assert.deepEqual(ok('a LOGIN "jörg" pass'), { type: "login", username: "jörg", password: "pass" });
    bad("a LOGIN fred");
    bad('a LOGIN "fred pass');
    bad('a LOGIN "a\\b" c');
    bad("a LOGIN (x) y");
    bad(Buffer.from('a LOGIN "\xff\xfe" y\r\n', "latin1"));
  });

  test("AUTHENTICATE with SASL-IR (RFC 4959 §3)", () => {
    assert.deepEqual(ok("a01 AUTHENTICATE plain"), {
      type: "authenticate",
      mechanism: "PLAIN",
      initialResponse: null,
    });
    const ir = ok("a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=");
    assert.ok(ir.type === "authenticate" && ir.initialResponse?.toString("latin1") === "test\0test\0test");
    const empty = ok("a AUTHENTICATE EXTERNAL =");
    assert.ok(empty.type === "authenticate" && empty.initialResponse?.length === 0);
    bad("a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q");
    bad("a AUTHENTICATE");
    bad("a AUTHENTICATE PLAIN a b");
  });

  test("SASL response lines", () => {
    assert.equal(parseSaslResponse(Buffer.from("*")), "cancel");
    assert.deepEqual(parseSaslResponse(Buffer.from("")), Buffer.alloc(0));
    assert.deepEqual(parseSaslResponse(Buffer.from("YWJj")), Buffer.from("abc"));
    assert.ok(parseSaslResponse(Buffer.from("YWJ")) instanceof Error);
  });
});

describe("ENABLE, ID, COMPRESS", () => {
  test("ENABLE (RFC 5161 §3.1)", () => {
    assert.deepEqual(ok("t2 ENABLE CONDSTORE X-GOOD-IDEA"), {
      type: "enable",
      capabilities: ["CONDSTORE", "X-GOOD-IDEA"],
    });
    assert.deepEqual(ok("t ENABLE imap4rev2 utf8=accept"), {
      type: "enable",
      capabilities: ["IMAP4REV2", "UTF8=ACCEPT"],
    });
    bad("t ENABLE");
  });

  test("ID (RFC 2971 §3.3 examples)", () => {
    assert.deepEqual(ok('a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")'), {
      type: "id",
      params: [
        ["name", "sodr"],
        ["version", "19.34"],
        ["vendor", "Pink Floyd Music Limited"],
      ],
    });
    assert.deepEqual(ok("a ID NIL"), { type: "id", params: null });
    assert.deepEqual(ok('a ID ("os" NIL)'), { type: "id", params: [["os", null]] });
    assert.deepEqual(ok("a ID ()"), { type: "id", params: [] });
    bad('a ID ("name")');
    bad("a ID");
    bad(`a ID ("${"x".repeat(31)}" "v")`);
    bad(`a ID (${Array.from({ length: 31 }, (_, i) => `"k${i}" "v"`).join(" ")})`);
  });

  test("COMPRESS (RFC 4978 §3)", () => {
    assert.deepEqual(ok("a COMPRESS DEFLATE"), { type: "compress", algorithm: "DEFLATE" });
    bad("a COMPRESS");
  });
});

describe("mailbox names", () => {
  test("modified UTF-7 decoded unless UTF-8 mode; INBOX in any case", () => {
    assert.deepEqual(ok("a SELECT inbox"), {
      type: "select",
      mailbox: "INBOX",
      condstore: false,
      qresync: null,
    });
    // RFC 3501 §5.1.3 example
    const m = ok("a SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    assert.ok(m.type === "select" && m.mailbox === "~peter/mail/台北/日本語");
    const u = ok('a SELECT "~peter/mail/台北/日本語"', { utf8: true });
    assert.ok(u.type === "select" && u.mailbox === "~peter/mail/台北/日本語");
    // in UTF-8 mode "&" is itself
    const amp = ok('a SELECT "a&b"', { utf8: true });
    assert.ok(amp.type === "select" && amp.mailbox === "a&b");
    assert.match(bad('a SELECT "a&b"'), /modified UTF-7/);
    assert.match(bad('a SELECT "Été"'), /modified UTF-7/);
    const lit = ok("a SELECT {5+}\r\nA&-B!");
    assert.ok(lit.type === "select" && lit.mailbox === "A&B!");
  });

  test("CREATE with USE (RFC 6154 §5.2), DELETE, RENAME", () => {
    assert.deepEqual(ok("t1 CREATE MySpecial (USE (\\Drafts \\Sent))"), {
      type: "create",
      mailbox: "MySpecial",
      use: ["\\Drafts", "\\Sent"],
    });
    assert.deepEqual(ok("t1 CREATE owatagusiam/"), { type: "create", mailbox: "owatagusiam/", use: [] });
    bad("t1 CREATE x (FOO)");
    bad("t1 CREATE x (USE (Drafts))");
    bad("t1 CREATE");
    assert.deepEqual(ok("A683 DELETE blurdybloop"), { type: "delete", mailbox: "blurdybloop" });
    assert.deepEqual(ok("A683 RENAME blurdybloop sarasoop"), {
      type: "rename",
      from: "blurdybloop",
      to: "sarasoop",
    });
    bad("A683 RENAME blurdybloop");
  });

  test("SUBSCRIBE, UNSUBSCRIBE", () => {
    assert.deepEqual(ok("A002 SUBSCRIBE #news.comp.mail.mime"), {
      type: "subscribe",
      mailbox: "#news.comp.mail.mime",
    });
    assert.deepEqual(ok('A002 UNSUBSCRIBE "x y"'), { type: "unsubscribe", mailbox: "x y" });
    bad("A002 SUBSCRIBE");
    bad("A002 SUBSCRIBE a b");
  });
});

describe("SELECT / EXAMINE", () => {
  test("CONDSTORE (RFC 7162 §3.1.8)", () => {
    assert.deepEqual(ok("a SELECT INBOX (CONDSTORE)"), {
      type: "select",
      mailbox: "INBOX",
      condstore: true,
      qresync: null,
    });
    assert.deepEqual(ok("a EXAMINE INBOX"), {
      type: "examine",
      mailbox: "INBOX",
      condstore: false,
      qresync: null,
    });
  });

  test("QRESYNC (RFC 7162 §3.2.5.2 examples)", () => {
    // RFC 7162 §7: mod-sequences up to 2^63-1. The RFC's pass 2^53: held as 2^53-1, above
    // every mod-sequence the store gives out; past 2^63-1 they are refused.
    const big = ok("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))");
    assert.ok(big.type === "select" && big.qresync?.modseq === Number.MAX_SAFE_INTEGER);
    assert.ok(ok("A02 SELECT INBOX (QRESYNC (1 9223372036854775807))").type === "select");
    assert.match(bad("A02 SELECT INBOX (QRESYNC (1 9223372036854775808))"), /out of range/);
    assert.deepEqual(ok("A02 SELECT INBOX (QRESYNC (67890007 20050715194045 41,43:211,214:541))"), {
      type: "select",
      mailbox: "INBOX",
      condstore: false,
      qresync: {
        uidValidity: 67890007,
        modseq: 20050715194045,
        knownUids: {
          kind: "ranges",
          ranges: [
            { start: 41, end: 41 },
            { start: 43, end: 211 },
            { start: 214, end: 541 },
          ],
        },
        seqMatch: null,
      },
    });
    const s = ok(
      "B02 SELECT INBOX (QRESYNC (67890007 90060115194045 41:211,214:541 (1:20,23:33 41:60,65:71)))",
    );
    assert.ok(s.type === "select" && s.qresync?.seqMatch?.seqs.kind === "ranges");
    const noknown = ok("B02 SELECT INBOX (QRESYNC (1 2 (1 2)))");
    assert.ok(
      noknown.type === "select" && noknown.qresync?.knownUids === null && noknown.qresync.seqMatch !== null,
    );
    bad("a SELECT INBOX (QRESYNC (0 5))");
    // RFC 7162 §7: "*" is not allowed in known-uids
    assert.match(bad("a SELECT INBOX (QRESYNC (1 5 1:*))"), /not allowed/);
    bad("a SELECT INBOX (QRESYNC (1))");
    bad("a SELECT INBOX (FOO)");
    bad("a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))");
    bad("a SELECT");
  });
});

describe("LIST, LSUB, STATUS", () => {
  test("basic LIST (RFC 9051 §6.3.9)", () => {
    assert.deepEqual(ok('A101 LIST "" ""'), {
      type: "list",
      selection: [],
      reference: "",
      patterns: [""],
      returns: { subscribed: false, children: false, specialUse: false, status: null },
      extended: false,
    });
    const l = ok("A102 LIST #news.comp.mail.misc %");
    assert.ok(l.type === "list" && l.reference === "#news.comp.mail.misc" && l.patterns[0] === "%");
    const l2 = ok('A103 LIST /usr/staff/jones ""');
    assert.ok(l2.type === "list" && l2.reference === "/usr/staff/jones");
    const l0 = ok("a LIST {0+}\r\n {1+}\r\n*");
    assert.ok(l0.type === "list" && l0.reference === "" && l0.patterns[0] === "*");
    const l3 = ok("a LIST ~/Mail/ foo/*/ba]r%");
    assert.ok(l3.type === "list" && l3.patterns[0] === "foo/*/ba]r%");
  });

  test("LIST-EXTENDED (RFC 5258 §5 examples), SPECIAL-USE, LIST-STATUS", () => {
    const a = ok('A02 LIST (SUBSCRIBED) "" "*"');
    assert.ok(a.type === "list" && a.selection[0] === "SUBSCRIBED" && a.extended);
    const b = ok('A03 LIST () "" "%" RETURN (CHILDREN)');
    assert.ok(b.type === "list" && b.returns.children && b.selection.length === 0);
    const c = ok('A04 LIST (REMOTE SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN SUBSCRIBED)');
    assert.ok(c.type === "list" && c.selection.length === 3 && c.returns.subscribed);
    const d = ok('A05 LIST "" ("INBOX" "Drafts" "Sent/%")');
    assert.ok(d.type === "list" && d.patterns.length === 3);
    const e = ok('t1 LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)');
    assert.ok(e.type === "list" && e.selection[0] === "SPECIAL-USE" && e.returns.specialUse);
    // RFC 5819 §3
    const f = ok('A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))');
    assert.ok(f.type === "list");
    assert.deepEqual(f.returns.status, ["MESSAGES", "UNSEEN"]);
    bad('A04 LIST (RECURSIVEMATCH) "" "%"');
    bad('A04 LIST (FOO) "" "%"');
    bad('A04 LIST "" "%" RETURN (FOO)');
    bad('A04 LIST "" "%" RETURN');
    bad('A04 LIST ""');
    bad('A04 LIST "" ()');
  });

  test("LSUB", () => {
    assert.deepEqual(ok('A002 LSUB "#news." "comp.mail.*"'), {
      type: "lsub",
      reference: "#news.",
      pattern: "comp.mail.*",
    });
    bad("A002 LSUB x");
  });

  test("STATUS (RFC 9051 §6.3.11) with the extension items", () => {
    assert.deepEqual(ok("A042 STATUS blurdybloop (UIDNEXT MESSAGES)"), {
      type: "status",
      mailbox: "blurdybloop",
      items: ["UIDNEXT", "MESSAGES"],
    });
    const all = ok(
      "a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT MAILBOXID DELETED-STORAGE)",
    );
    assert.ok(all.type === "status" && all.items.length === 11);
    bad("a STATUS INBOX ()");
    bad("a STATUS INBOX (FOO)");
    bad("a STATUS INBOX MESSAGES");
  });
});

describe("APPEND", () => {
  test("RFC 9051 §6.3.12 example with flags and date", () => {
    const msg =
      "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n";
    const a = ok(
      `A003 APPEND saved-messages (\\Seen) "07-Feb-1994 21:52:25 -0800" {${msg.length}+}\r\n${msg}`,
    );
    assert.ok(a.type === "append");
    assert.equal(a.mailbox, "saved-messages");
    assert.equal(a.messages.length, 1);
    assert.deepEqual(a.messages[0]?.flags, ["\\Seen"]);
    assert.equal(a.messages[0]?.date, Date.UTC(1994, 1, 8, 5, 52, 25));
    assert.equal(a.messages[0]?.data.toString(), msg);
  });

  test("MULTIAPPEND (RFC 3502 §6)", () => {
    const a = ok(
      'A003 APPEND saved-messages (\\Seen) {3+}\r\nabc (\\Seen $x) "7-Feb-1994 22:43:04 -0800" {2+}\r\nde {1+}\r\nf',
    );
    assert.ok(a.type === "append");
    assert.deepEqual(
      a.messages.map((m) => [m.flags, m.date !== null, m.data.toString()]),
      [
        [["\\Seen"], false, "abc"],
        [["\\Seen", "$x"], true, "de"],
        [[], false, "f"],
      ],
    );
  });

  test("literal8 (RFC 3516 §4.4) and UTF8 (RFC 6855 §4)", () => {
    const b = ok(Buffer.from("a APPEND x ~{3+}\r\na\0b\r\n", "latin1"));
    assert.ok(b.type === "append" && b.messages[0]?.binary && b.messages[0].data.length === 3);
    const u = ok("a APPEND x () UTF8 (~{2+}\r\nhi)");
    assert.ok(u.type === "append" && u.messages[0]?.utf8 && u.messages[0].data.toString() === "hi");
    bad("a APPEND x UTF8 ({2+}\r\nhi)");
    bad(Buffer.from("a APPEND x {3+}\r\na\0b\r\n", "latin1"));
  });

  test("REPLACE and UID REPLACE (RFC 8508 §6)", () => {
    const r = ok('a REPLACE 3 Drafts (\\Draft) "07-Feb-1994 21:52:25 -0800" {2+}\r\nhi');
    assert.ok(r.type === "replace" && !r.uid && r.mailbox === "Drafts");
    assert.deepEqual(r.target, seq(3, 3));
    assert.deepEqual([r.message.flags, r.message.data.toString()], [["\\Draft"], "hi"]);
    const u = ok(Buffer.from("a UID REPLACE * Drafts ~{3+}\r\na\0b\r\n", "latin1"));
    assert.ok(u.type === "replace" && u.uid && u.message.binary);
    bad("a REPLACE 1:2 Drafts {1+}\r\na");
    bad("a REPLACE 1,2 Drafts {1+}\r\na");
    bad("a REPLACE 1 Drafts");
    bad("a REPLACE Drafts {1+}\r\na");
    bad("a REPLACE 1 Drafts {1+}\r\na {1+}\r\nb");
  });

  test("invalid APPEND", () => {
    bad("a APPEND x");
    bad("a APPEND x (\\Seen)");
    bad('a APPEND x "bad date" {1+}\r\na');
    bad('a APPEND x "32-Feb-1994 21:52:25 -0800" {1+}\r\na');
    bad("a APPEND x {1+}\r\na junk");
    bad("a APPEND x (\\*) {1+}\r\na");
    bad("a APPEND x CATENATE (TEXT {1+}\r\na)");
  });
});

describe("STORE, COPY, MOVE", () => {
  test("STORE forms (RFC 9051 §6.4.6)", () => {
    assert.deepEqual(ok("A003 STORE 2:4 +FLAGS (\\Deleted)"), {
      type: "store",
      uid: false,
      set: seq(2, 4),
      mode: "add",
      silent: false,
      flags: ["\\Deleted"],
      unchangedSince: null,
    });
    const s = ok("a UID STORE 1 -FLAGS.SILENT \\Seen $Junk");
    assert.ok(s.type === "store" && s.uid && s.mode === "remove" && s.silent && s.flags.length === 2);
    const e = ok("a STORE 1 FLAGS ()");
    assert.ok(e.type === "store" && e.mode === "set" && e.flags.length === 0);
  });

  test("UNCHANGEDSINCE (RFC 7162 §3.1.3 example)", () => {
    const s = ok("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)");
    assert.ok(s.type === "store" && s.unchangedSince === 320162338 && s.silent);
    bad("d STORE 1 (UNCHANGEDSINCE) FLAGS (x)");
    bad("d STORE 1 (FOO 1) FLAGS (x)");
  });

  test("invalid STORE", () => {
    for (const s of [
      "a STORE 1 FLAGS",
      "a STORE 1 +FLAG (x)",
      "a STORE 1 FLAGS (\\*)",
      "a STORE FLAGS (x)",
      "a STORE 1 FLAGS (x",
      "a STORE 1 *FLAGS x",
    ])
      bad(s);
  });

  test("COPY and MOVE", () => {
    assert.deepEqual(ok("A003 COPY 2:4 MEETING"), {
      type: "copy",
      uid: false,
      set: seq(2, 4),
      mailbox: "MEETING",
    });
    assert.deepEqual(ok("a UID MOVE 42:69 foo"), {
      type: "move",
      uid: true,
      set: seq(42, 69),
      mailbox: "foo",
    });
    assert.deepEqual(ok("a MOVE $ Trash"), {
      type: "move",
      uid: false,
      set: { kind: "saved" },
      mailbox: "Trash",
    });
    bad("a COPY 2:4");
    bad("a MOVE x y");
  });
});

describe("QUOTA (RFC 9208)", () => {
  test("GETQUOTA, GETQUOTAROOT, SETQUOTA examples", () => {
    assert.deepEqual(ok('G0001 GETQUOTA "!partition/sda4"'), { type: "getquota", root: "!partition/sda4" });
    assert.deepEqual(ok("G0002 GETQUOTAROOT INBOX"), { type: "getquotaroot", mailbox: "INBOX" });
    assert.deepEqual(ok('S0000 SETQUOTA "" (STORAGE 512)'), {
      type: "setquota",
      root: "",
      limits: [{ resource: "STORAGE", limit: 512 }],
    });
    assert.deepEqual(ok('S SETQUOTA "" ()'), { type: "setquota", root: "", limits: [] });
    bad('S SETQUOTA "" (STORAGE)');
    bad("S GETQUOTA");
  });
});
