// Serialize then parse back: every response the serializer writes reads back to the same
// values through the client-side reader and response parser.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CommandReader } from "../../../src/protocols/imap/wire/reader.ts";
import type { Response, ResponseValue } from "../../../src/protocols/imap/wire/response-parser.ts";
import { fetchItem, parseResponse } from "../../../src/protocols/imap/wire/response-parser.ts";
import type { Chunk, WireValue } from "../../../src/protocols/imap/wire/values.ts";
import { atom, chunksToBuffer, literal, writeValue } from "../../../src/protocols/imap/wire/values.ts";
import {
  appendUidCode,
  capabilityResponse,
  continuation,
  esearchResponse,
  fetchBinary,
  fetchBodySection,
  fetchDate,
  fetchEnvelope,
  fetchFlags,
  fetchModseq,
  fetchNumber,
  fetchResponse,
  listResponse,
  statusResponse,
  tagged,
  untaggedStatus,
  vanishedResponse,
} from "../../../src/protocols/imap/wire/serializer.ts";

function readBack(...parts: Array<string | Chunk[]>): Response[] {
  const bytes = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : chunksToBuffer(p))));
  const r = new CommandReader({ side: "client" });
  r.push(bytes);
  const out: Response[] = [];
  for (let e = r.next(); e !== null; e = r.next()) {
    assert.equal(e.type, "command", JSON.stringify(e));
    if (e.type !== "command") continue;
    const p = parseResponse(e.command);
    if (p instanceof Error) assert.fail(p.message);
    out.push(p);
  }
  return out;
}

describe("response parser", () => {
  test("status responses with codes, continuation", () => {
    assert.deepEqual(readBack(tagged("A003", "OK", "APPEND completed", appendUidCode(38505, [3955])), untaggedStatus("BYE", "bye"), continuation("Ready"), "* OK\r\n"), [
      { kind: "status", tag: "A003", status: "OK", code: { code: "APPENDUID", args: "38505 3955" }, text: "APPEND completed" },
      { kind: "status", tag: null, status: "BYE", code: null, text: "bye" },
      { kind: "continuation", text: "Ready" },
      { kind: "status", tag: null, status: "OK", code: null, text: "" },
    ]);
  });

  test("data responses", () => {
    const [cap, list, status, es, van] = readBack(
      capabilityResponse(["IMAP4rev2", "AUTH=PLAIN"]),
      listResponse({ attributes: ["\\HasNoChildren"], delimiter: "/", name: "Été" }, { utf8: false }),
      statusResponse("a b", [["MESSAGES", 3], ["MAILBOXID", "F1"]], { utf8: true }),
      esearchResponse({ tag: "x", uid: true, all: [1, 2, 3, 9], count: 4 }),
      vanishedResponse([1, 2, 5], true),
    );
    assert.deepEqual(cap, { kind: "data", number: null, name: "CAPABILITY", values: [{ atom: "IMAP4rev2" }, { atom: "AUTH=PLAIN" }] });
    assert.deepEqual(list, { kind: "data", number: null, name: "LIST", values: [[{ atom: "\\HasNoChildren" }], "/", { atom: "&AMk-t&AOk-" }] });
    assert.deepEqual(status, { kind: "data", number: null, name: "STATUS", values: ["a b", [{ atom: "MESSAGES" }, 3, { atom: "MAILBOXID" }, [{ atom: "F1" }]]] });
    assert.deepEqual(es, { kind: "data", number: null, name: "ESEARCH", values: [[{ atom: "TAG" }, "x"], { atom: "UID" }, { atom: "ALL" }, { atom: "1:3,9" }, { atom: "COUNT" }, 4] });
    assert.deepEqual(van, { kind: "data", number: null, name: "VANISHED", values: [[{ atom: "EARLIER" }], { atom: "1:2,5" }] });
  });

  test("FETCH with sections, literals, literal8 and an envelope", () => {
    const body = Buffer.from("Subject: hi\r\n\r\nbody\r\n");
    const [f] = readBack(
      fetchResponse(
        7,
        [
          fetchNumber("UID", 42),
          fetchFlags(["\\Seen", "$Forwarded"]),
          fetchDate("INTERNALDATE", Date.UTC(2024, 0, 2, 3, 4, 5)),
          fetchModseq(99),
          fetchBodySection({ part: [], text: "HEADER.FIELDS", fields: ["Subject"] }, { offset: 0, length: 10 }, body),
          fetchBinary({ part: [1], text: null, fields: [] }, null, Buffer.from([0, 1, 2])),
          fetchEnvelope({ date: null, subject: "s", from: [{ name: "A", adl: null, mailbox: "a", host: "x" }, { name: null, adl: null, mailbox: "b", host: "y" }], sender: [], replyTo: [], to: [], cc: [], bcc: [], inReplyTo: null, messageId: "<m>" }),
        ],
        { utf8: false },
      ),
    );
    assert.ok(f?.kind === "data" && f.number === 7 && f.name === "FETCH");
    assert.equal(fetchItem(f.values, "UID"), 42);
    assert.deepEqual(fetchItem(f.values, "FLAGS"), [{ atom: "\\Seen" }, { atom: "$Forwarded" }]);
    assert.equal(fetchItem(f.values, "INTERNALDATE"), "02-Jan-2024 03:04:05 +0000");
    assert.deepEqual(fetchItem(f.values, "MODSEQ"), [99]);
    assert.deepEqual(fetchItem(f.values, "BODY[HEADER.FIELDS (SUBJECT)]<0>"), body);
    assert.deepEqual(fetchItem(f.values, "BINARY[1]"), Buffer.from([0, 1, 2]));
    assert.deepEqual(fetchItem(f.values, "ENVELOPE"), [null, "s", [["A", null, "a", "x"], [null, null, "b", "y"]], null, null, null, null, null, null, "<m>"]);
  });

  test("property: any value written reads back", () => {
    const leaf: fc.Arbitrary<WireValue> = fc.oneof(
      fc.constant(null),
      fc.nat({ max: 2 ** 32 }),
      fc.string({ unit: "binary", maxLength: 20 }).filter((s) => !s.includes("\0") && s.isWellFormed()),
      fc.stringMatching(/^[A-Z][A-Z0-9.]{0,8}$/).map((s) => atom(s)),
      fc.uint8Array({ maxLength: 20 }).map((b) => literal(Buffer.from(b), true)),
    );
    const tree = fc.letrec<{ v: WireValue }>((tie) => ({ v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 4 })) })).v;
    const expected = (v: WireValue): ResponseValue => {
      if (Array.isArray(v)) return v.map(expected);
      if (v !== null && typeof v === "object") {
        if ("atom" in v) return v.atom.toUpperCase() === "NIL" ? null : { atom: v.atom };
        if ("literal" in v) return Buffer.isBuffer(v.literal) ? v.literal : Buffer.from(v.literal);
      }
      return v as ResponseValue;
    };
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 5 }), fc.boolean(), (values, utf8) => {
        const chunks: Chunk[] = ["* X"];
        for (const v of values) chunks.push(" ", ...writeValue(v, { utf8 }));
        chunks.push("\r\n");
        const [resp] = readBack(chunks);
        assert.ok(resp?.kind === "data");
        // literal strings come back as bytes; compare through the same lens
        const norm = (x: ResponseValue): unknown => (Buffer.isBuffer(x) ? x.toString("latin1") : Array.isArray(x) ? x.map(norm) : typeof x === "string" ? Buffer.from(x).toString("latin1") : x);
        assert.deepEqual(resp.values.map(norm), values.map(expected).map(norm));
      }),
      { numRuns: 300 },
    );
  });

  test("property: never throws on garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = new CommandReader({ side: "client", maxLiteralSize: 1000 });
        r.push(Buffer.from(bytes));
        for (let e = r.next(); e !== null; e = r.next()) if (e.type === "command") parseResponse(e.command);
      }),
      { numRuns: 300 },
    );
  });
});
