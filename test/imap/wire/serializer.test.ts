import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Envelope, MimePart } from "../../../src/mail/types.ts";
import {
  appendUidCode,
  badCharsetCode,
  capabilityCode,
  capabilityResponse,
  code,
  continuation,
  copyUidCode,
  countResponse,
  enabledResponse,
  esearchResponse,
  fetchBinary,
  fetchBinarySize,
  fetchBodySection,
  fetchBodyStructure,
  fetchDate,
  fetchEnvelope,
  fetchFlags,
  fetchModseq,
  fetchNumber,
  fetchObjectId,
  fetchPreview,
  fetchResponse,
  flagsResponse,
  idResponse,
  listResponse,
  mailboxIdCode,
  modifiedCode,
  namespaceResponse,
  numberCode,
  permanentFlagsCode,
  quotaResponse,
  quotaRootResponse,
  searchResponse,
  statusResponse,
  tagged,
  untaggedStatus,
  vanishedResponse,
} from "../../../src/protocols/imap/wire/serializer.ts";
import { atom, chunksToBuffer, formatValue, literal, mailboxText, stringText } from "../../../src/protocols/imap/wire/values.ts";

const rev1 = { utf8: false };
const utf8 = { utf8: true };
const part = (...p: number[]) => ({ part: p, text: null, fields: [] });

describe("status responses and codes (RFC 9051 §7.1 examples)", () => {
  test("tagged, untagged, continuation", () => {
    assert.equal(tagged("A142", "OK", "SELECT completed", code("READ-WRITE")), "A142 OK [READ-WRITE] SELECT completed\r\n");
    assert.equal(untaggedStatus("OK", "UIDs valid", numberCode("UIDVALIDITY", 3857529045)), "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
    assert.equal(untaggedStatus("OK", "Predicted next UID", numberCode("UIDNEXT", 4392)), "* OK [UIDNEXT 4392] Predicted next UID\r\n");
    assert.equal(untaggedStatus("BYE", "IMAP4rev2 Server logging out"), "* BYE IMAP4rev2 Server logging out\r\n");
    assert.equal(tagged("a", "BAD", "line\r\nbreak"), "a BAD line break\r\n");
    assert.equal(tagged("a", "OK", ""), "a OK Completed\r\n");
    assert.equal(continuation(), "+ Ready\r\n");
    assert.equal(continuation(""), "+ \r\n");
    assert.equal(
      untaggedStatus("OK", "Limited", permanentFlagsCode(["\\Deleted", "\\Seen", "\\*"])),
      "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
    );
    assert.equal(tagged("a", "NO", "x", badCharsetCode(["UTF-8"])), "a NO [BADCHARSET (UTF-8)] x\r\n");
    assert.equal(tagged("a", "OK", "x", capabilityCode(["IMAP4rev2", "IDLE"])), "a OK [CAPABILITY IMAP4rev2 IDLE] x\r\n");
  });

  test("RFC 5530 codes", () => {
    assert.equal(tagged("a", "NO", "Mailbox already exists", code("ALREADYEXISTS")), "a NO [ALREADYEXISTS] Mailbox already exists\r\n");
    assert.equal(tagged("a", "NO", "No such mailbox", code("NONEXISTENT")), "a NO [NONEXISTENT] No such mailbox\r\n");
    assert.equal(tagged("a", "NO", "Over quota", code("OVERQUOTA")), "a NO [OVERQUOTA] Over quota\r\n");
  });

  test("UIDPLUS (RFC 4315 §3 examples)", () => {
    assert.equal(tagged("A003", "OK", "APPEND completed", appendUidCode(38505, [3955])), "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n");
    assert.equal(tagged("A004", "OK", "Done", copyUidCode(38505, [304, 319, 320], [3956, 3957, 3958])), "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
    assert.equal(appendUidCode(1, [5, 6, 7, 9]).args, "1 5:7,9");
  });

  test("CONDSTORE, OBJECTID", () => {
    // RFC 7162 §3.1.3 example
    assert.equal(tagged("d105", "OK", "Conditional STORE failed", modifiedCode([7, 9])), "d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n");
    assert.equal(untaggedStatus("OK", "Highest", numberCode("HIGHESTMODSEQ", 715194045007)), "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n");
    assert.equal(untaggedStatus("OK", "No permanent modsequences", code("NOMODSEQ")), "* OK [NOMODSEQ] No permanent modsequences\r\n");
    assert.equal(untaggedStatus("OK", "Previous mailbox is now closed", code("CLOSED")), "* OK [CLOSED] Previous mailbox is now closed\r\n");
    // RFC 8474 §4.1
    assert.equal(tagged("3", "OK", "Completed", mailboxIdCode("F2212ea87-6097-4256-9d51-71338625")), "3 OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Completed\r\n");
  });
});

describe("untagged data (RFC examples)", () => {
  test("CAPABILITY, ENABLED, FLAGS, EXISTS, EXPUNGE", () => {
    assert.equal(capabilityResponse(["IMAP4rev2", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"]), "* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n");
    assert.equal(enabledResponse(["CONDSTORE"]), "* ENABLED CONDSTORE\r\n");
    assert.equal(enabledResponse([]), "* ENABLED\r\n");
    assert.equal(flagsResponse(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]), "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
    assert.equal(countResponse(172, "EXISTS"), "* 172 EXISTS\r\n");
    assert.equal(countResponse(3, "EXPUNGE"), "* 3 EXPUNGE\r\n");
  });

  test("LIST (RFC 9051 §7.3.1, RFC 5258 §5, RFC 6154)", () => {
    assert.equal(listResponse({ attributes: [], delimiter: ".", name: "#news.comp.mail.misc" }, rev1), '* LIST () "." #news.comp.mail.misc\r\n');
    assert.equal(listResponse({ attributes: ["\\Noselect"], delimiter: "/", name: "" }, rev1), '* LIST (\\Noselect) "/" ""\r\n');
    assert.equal(listResponse({ attributes: ["\\Noselect"], delimiter: null, name: "x" }, rev1), "* LIST (\\Noselect) NIL x\r\n");
    assert.equal(
      listResponse({ attributes: [], delimiter: "/", name: "Foo", childInfo: ["SUBSCRIBED"] }, rev1),
      '* LIST () "/" Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n',
    );
    assert.equal(listResponse({ attributes: ["\\HasNoChildren", "\\Sent"], delimiter: "/", name: "Sent Mail" }, rev1), '* LIST (\\HasNoChildren \\Sent) "/" "Sent Mail"\r\n');
    assert.equal(listResponse({ attributes: [], delimiter: "/", name: "Foo" }, rev1, "LSUB"), '* LSUB () "/" Foo\r\n');
    assert.equal(listResponse({ attributes: [], delimiter: "/", name: "NewBox", oldName: "OldBox" }, rev1), '* LIST () "/" NewBox ("OLDNAME" (OldBox))\r\n');
  });

  test("mailbox names per mode", () => {
    // RFC 3501 §5.1.3 example
    assert.equal(mailboxText("~peter/mail/台北/日本語", rev1), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    assert.equal(mailboxText("~peter/mail/台北/日本語", utf8), '"~peter/mail/台北/日本語"');
    assert.equal(mailboxText("a&b", rev1), "a&-b");
    assert.equal(mailboxText("a&b", utf8), "a&b");
    assert.equal(mailboxText('we"ird\\', rev1), '"we\\"ird\\\\"');
    assert.equal(mailboxText("nil", rev1), '"nil"');
    assert.equal(mailboxText("a b", rev1), '"a b"');
  });

  test("STATUS (RFC 9051 §6.3.11, RFC 8438, RFC 8474)", () => {
    assert.equal(statusResponse("blurdybloop", [["MESSAGES", 231], ["UIDNEXT", 44292]], rev1), "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n");
    assert.equal(statusResponse("foo", [["SIZE", 12345], ["MAILBOXID", "F2212ea87"]], rev1), "* STATUS foo (SIZE 12345 MAILBOXID (F2212ea87))\r\n");
  });

  test("SEARCH, ESEARCH (RFC 4731 §3.1 examples), VANISHED", () => {
    assert.equal(searchResponse([2, 84, 882]), "* SEARCH 2 84 882\r\n");
    assert.equal(searchResponse([]), "* SEARCH\r\n");
    assert.equal(searchResponse([2, 5, 6], 917162500), "* SEARCH 2 5 6 (MODSEQ 917162500)\r\n");
    assert.equal(esearchResponse({ tag: "A282", uid: false, min: 2, count: 3 }), '* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n');
    assert.equal(esearchResponse({ tag: "A283", uid: false, all: [2, 10, 11] }), '* ESEARCH (TAG "A283") ALL 2,10:11\r\n');
    assert.equal(esearchResponse({ tag: "A284", uid: false, min: 4 }), '* ESEARCH (TAG "A284") MIN 4\r\n');
    assert.equal(esearchResponse({ tag: "A285", uid: true, min: 7, max: 3800 }), '* ESEARCH (TAG "A285") UID MIN 7 MAX 3800\r\n');
    assert.equal(esearchResponse({ tag: "A286", uid: false, count: 15 }), '* ESEARCH (TAG "A286") COUNT 15\r\n');
    assert.equal(esearchResponse({ tag: "A287", uid: false, all: [] }), '* ESEARCH (TAG "A287")\r\n');
    // RFC 7162 §3.2.10 example
    assert.equal(vanishedResponse([41, 43, 44, 45, 118], true), "* VANISHED (EARLIER) 41,43:45,118\r\n");
    assert.equal(vanishedResponse([405, 407, 408, 409, 410], false), "* VANISHED 405,407:410\r\n");
  });

  test("ID, NAMESPACE, QUOTA", () => {
    assert.equal(idResponse([["name", "Cyrus"], ["version", "1.5"], ["os", null]]), '* ID ("name" "Cyrus" "version" "1.5" "os" NIL)\r\n');
    assert.equal(idResponse(null), "* ID NIL\r\n");
    // RFC 2342 §5 example 5.1
    assert.equal(namespaceResponse([["", "/"]], null, null, rev1), '* NAMESPACE (("" "/")) NIL NIL\r\n');
    assert.equal(namespaceResponse([["", "/"]], [["~", "/"]], [["#shared/", "/"], ["#public/", "/"]], rev1), '* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/"))\r\n');
    // RFC 9208 §4.2/§4.3 examples
    assert.equal(quotaResponse("", [{ name: "STORAGE", usage: 10, limit: 512 }]), '* QUOTA "" (STORAGE 10 512)\r\n');
    assert.equal(quotaRootResponse("INBOX", [""], rev1), '* QUOTAROOT INBOX ""\r\n');
  });
});

const envelope: Envelope = {
  date: "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
  subject: "IMAP4rev2 WG mtg summary and minutes",
  from: [{ name: "Terry Gray", adl: null, mailbox: "gray", host: "cac.washington.edu" }],
  sender: [{ name: "Terry Gray", adl: null, mailbox: "gray", host: "cac.washington.edu" }],
  replyTo: [{ name: "Terry Gray", adl: null, mailbox: "gray", host: "cac.washington.edu" }],
  to: [{ name: null, adl: null, mailbox: "imap", host: "cac.washington.edu" }],
  cc: [
    { name: null, adl: null, mailbox: "minutes", host: "CNRI.Reston.VA.US" },
    { name: "John Klensin", adl: null, mailbox: "KLENSIN", host: "MIT.EDU" },
  ],
  bcc: [],
  inReplyTo: null,
  messageId: "<B27397-0100000@cac.washington.edu>",
};

const textPart: MimePart = {
  section: "",
  headerStart: 0,
  headerEnd: 100,
  bodyStart: 100,
  bodyEnd: 3128,
  contentType: { type: "text", subtype: "plain", params: { charset: "US-ASCII" } },
  encoding: "7bit",
  id: null,
  description: null,
  disposition: null,
  language: null,
  location: null,
  md5: null,
  lines: 92,
};

describe("FETCH", () => {
  test("RFC 9051 §6.4.5 FETCH ALL example, byte-exact (types printed as stored)", () => {
    const out = fetchResponse(
      12,
      [fetchFlags(["\\Seen"]), fetchDate("INTERNALDATE", Date.UTC(1996, 6, 17, 9, 44, 25), -420), fetchNumber("RFC822.SIZE", 4286), fetchEnvelope(envelope), fetchBodyStructure(textPart, false, rev1)],
      rev1,
    );
    assert.equal(
      chunksToBuffer(out).toString(),
      '* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ' +
        'ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>") BODY ("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 3028 92))\r\n',
    );
  });

  test("BODYSTRUCTURE extended", () => {
    const [name, v] = fetchBodyStructure(textPart, true, rev1);
    assert.equal(name, "BODYSTRUCTURE");
    assert.equal(formatValue(v, rev1), '("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 3028 92 NIL NIL NIL NIL)');
  });

  test("multipart BODY (RFC 9051 §7.5.2 example shape), parts back to back", () => {
    const part2: MimePart = {
      ...textPart,
      section: "2",
      contentType: { type: "text", subtype: "plain", params: { charset: "US-ASCII", name: "cc.diff" } },
      id: "<960723163407.20117h@cac.washington.edu>",
      description: "Compiled diff",
      encoding: "base64",
      bodyStart: 0,
      bodyEnd: 4554,
      lines: 73,
    };
    const part1: MimePart = { ...textPart, section: "1", bodyStart: 0, bodyEnd: 1152, lines: 23 };
    const root: MimePart = { ...textPart, contentType: { type: "multipart", subtype: "mixed", params: { boundary: "b" } }, parts: [part1, part2] };
    const [name, v] = fetchBodyStructure(root, false, rev1);
    assert.equal(name, "BODY");
    assert.equal(
      formatValue(v, rev1),
      '(("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 1152 23)("text" "plain" ("charset" "US-ASCII" "name" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiled diff" "base64" 4554 73) "mixed")',
    );
  });

  test("a large body section streams as the same Buffer", () => {
    const body = Buffer.alloc(1_000_000, 0x61);
    const out = fetchResponse(2, [fetchNumber("UID", 7), fetchBodySection({ part: [], text: null, fields: [] }, null, body)], rev1);
    assert.equal(out.length, 3);
    assert.equal(out[0], "* 2 FETCH (UID 7 BODY[] {1000000}\r\n");
    assert.equal(out[1], body); // the same object, not a copy
    assert.equal(out[2], ")\r\n");
  });

  test("sections, partial origin, BINARY, object ids, preview, modseq", () => {
    const h = Buffer.from("Date: x\r\n\r\n");
    assert.equal(
      chunksToBuffer(fetchResponse(2, [fetchBodySection({ part: [], text: "HEADER.FIELDS", fields: ["date", "From"] }, null, h)], rev1)).toString(),
      "* 2 FETCH (BODY[HEADER.FIELDS (DATE FROM)] {11}\r\nDate: x\r\n\r\n)\r\n",
    );
    assert.equal(
      chunksToBuffer(fetchResponse(1, [fetchBodySection({ part: [1, 2], text: "MIME", fields: [] }, { offset: 10, length: 5 }, Buffer.from("abcde"))], rev1)).toString(),
      "* 1 FETCH (BODY[1.2.MIME]<10> {5}\r\nabcde)\r\n",
    );
    assert.equal(
      chunksToBuffer(fetchResponse(1, [fetchBinary(part(1), null, Buffer.from([97, 0, 98])), fetchBinarySize(part(1), 3), fetchBinary(part(2), null, Buffer.from("ok")), fetchBinarySize({ part: [2], text: "MIME", fields: [] }, 9)], rev1)).toString("latin1"),
      "* 1 FETCH (BINARY[1] ~{3}\r\na\0b BINARY.SIZE[1] 3 BINARY[2] {2}\r\nok BINARY.SIZE[2.MIME] 9)\r\n",
    );
    assert.equal(
      chunksToBuffer(fetchResponse(1, [fetchModseq(624140003), fetchObjectId("EMAILID", "M6d99ac3275bb4e"), fetchObjectId("THREADID", null), fetchPreview("Hi"), fetchDate("SAVEDATE", null)], rev1)).toString(),
      '* 1 FETCH (MODSEQ (624140003) EMAILID (M6d99ac3275bb4e) THREADID NIL PREVIEW "Hi" SAVEDATE NIL)\r\n',
    );
    assert.equal(chunksToBuffer(fetchResponse(1, [fetchBodySection({ part: [9], text: null, fields: [] }, null, null)], rev1)).toString(), "* 1 FETCH (BODY[9] NIL)\r\n");
  });
});

describe("values", () => {
  test("quoted vs literal", () => {
    assert.equal(stringText("abc", rev1), '"abc"');
    assert.equal(stringText('a"b\\c', rev1), '"a\\"b\\\\c"');
    assert.equal(stringText("a\r\nb", rev1), "{4}\r\na\r\nb");
    assert.equal(stringText("é", rev1), "{2}\r\né");
    assert.equal(stringText("é", utf8), '"é"');
    assert.equal(stringText("x".repeat(2000), rev1).slice(0, 8), "{2000}\r\n");
    assert.equal(stringText("x".repeat(50), { utf8: false, maxQuoted: 10 }).slice(0, 6), "{50}\r\n");
  });

  test("lists, NIL, atoms, literals, nested", () => {
    assert.equal(formatValue([1, null, "x", atom("\\Seen"), [literal("ab"), literal(Buffer.from([0]), true)], 5n], rev1), '(1 NIL "x" \\Seen ({2}\r\nab ~{1}\r\n\0) 5)');
    assert.equal(formatValue([], rev1), "()");
  });
});
