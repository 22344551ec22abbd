// Property tests of the header parsers of mail authentication: Authentication-Results
// (RFC 8601), tag-lists and DKIM-Signature (RFC 6376 §3.2, §3.5), DMARC records (RFC 7489
// §6.4). On any input they return a value or null, never throw, and keep their limits; what
// we compose parses back; the verifier (mailauth under our wrapper) never throws on random
// DKIM-Signature fields.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { StaticResolver } from "../../src/dns/resolver.ts";
import {
  arComment,
  arValue,
  formatAuthResults,
  MAX_RESULTS,
  parseAuthResults,
  removeOurAuthResults,
} from "../../src/mailauth/auth-results.ts";
import { verifyDkim } from "../../src/mailauth/dkim.ts";
import { MAX_URIS, parseDmarcRecord } from "../../src/mailauth/dmarc-record.ts";
import { MAX_TAGS, parseDkimSignature, parseTagList } from "../../src/mailauth/tag-list.ts";

const RUNS = { numRuns: 400 };
/** Text biased to the characters these grammars care about. */
const headerish = fc.string({
  unit: fc.constantFrom(...'abcdefgh=;.:@()\\" \t\r\n-_+/0123456789vpDMARC1é\u0000'),
  maxLength: 300,
});
const anyText = fc.oneof(
  headerish,
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 200 }),
);

test("Authentication-Results: never throws; results within the limit; ids lower case", () => {
  fc.assert(
    fc.property(anyText, (s) => {
      const r = parseAuthResults(s);
      if (r === null) return;
      assert.ok(r.results.length <= MAX_RESULTS);
      assert.equal(r.authservId, r.authservId.toLowerCase());
      for (const e of r.results) assert.ok(e.method.length > 0 && e.result.length > 0);
    }),
    RUNS,
  );
});

test("Authentication-Results: deep comments and huge values are refused, not recursed into", () => {
  assert.equal(parseAuthResults(`a.example; spf=pass ${"(".repeat(5000)}`), null);
  assert.equal(parseAuthResults(`a.example; ${"spf=pass;".repeat(5000)}`), null);
  assert.equal(parseAuthResults("x".repeat(100_000)), null);
});

test("Authentication-Results we compose parse back to the same results", () => {
  const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
  const entry = fc.record({
    method: word,
    result: word,
    comment: fc.string({ maxLength: 40 }),
    prop: word,
    value: fc.string({ maxLength: 30 }),
  });
  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/),
      fc.array(entry, { maxLength: 8 }),
      (id, entries) => {
        const infos = entries.map(
          (e) => `${e.method}=${e.result} ${arComment(e.comment)} smtp.${e.prop}=${arValue(e.value)}`,
        );
        const field = formatAuthResults(id, infos);
        const parsed = parseAuthResults(field.slice("Authentication-Results:".length));
        assert.ok(parsed, field);
        assert.equal(parsed.authservId, id);
        assert.deepEqual(
          parsed.results.map((r) => [
            r.method,
            r.result,
            r.props[`smtp.${entries[parsed.results.indexOf(r)]?.prop}`],
          ]),
          entries.map((e) => [e.method, e.result, e.value.replace(/[\r\n]/g, " ")]),
        );
      },
    ),
    RUNS,
  );
});

test("removing our Authentication-Results never throws and keeps the body", () => {
  fc.assert(
    fc.property(anyText, fc.string({ maxLength: 50 }), (h, body) => {
      const msg = Buffer.from(
        `Authentication-Results: ${h.replace(/\r\n\r\n/g, "")}\r\nSubject: x\r\n\r\n${body}`,
      );
      const out = removeOurAuthResults(msg, "mx.example");
      assert.ok(out.toString("latin1").endsWith(`\r\n\r\n${Buffer.from(body).toString("latin1")}`));
    }),
    RUNS,
  );
});

test("tag-lists and DKIM-Signature: never throw; limits hold; a duplicate tag voids the list", () => {
  fc.assert(
    fc.property(anyText, (s) => {
      const t = parseTagList(s);
      if (t !== null) assert.ok(t.size <= MAX_TAGS);
      const d = parseDkimSignature(s);
      if (d !== null) {
        assert.equal(d.v, "1");
        assert.ok(d.h.length > 0 && d.d !== "" && d.s !== "");
      }
    }),
    RUNS,
  );
  assert.equal(parseTagList("a=1; b=2; a=3"), null);
  assert.equal(parseTagList(`${"a=1;".repeat(70)}`), null);
  assert.deepEqual(
    parseDkimSignature("v=1; a=rsa-sha256; d=Example.org; s=sel;\r\n h=from:to; bh=abc=; b=de f=")?.b,
    "def=",
  );
});

test("DMARC records: never throw; pct within 0-100; URI lists bounded; §6.3 defaults", () => {
  const tags = fc.array(
    fc.tuple(
      fc.constantFrom("p", "sp", "np", "pct", "adkim", "aspf", "fo", "rua", "ruf", "ri", "x"),
      headerish,
    ),
    { maxLength: 8 },
  );
  fc.assert(
    fc.property(
      fc.oneof(
        anyText,
        tags.map((ts) => `v=DMARC1; ${ts.map(([k, v]) => `${k}=${v}`).join("; ")}`),
      ),
      (s) => {
        const r = parseDmarcRecord(s);
        if (r === null) return;
        assert.ok(r.pct >= 0 && r.pct <= 100);
        assert.ok(r.rua.length <= MAX_URIS && r.ruf.length <= MAX_URIS);
        assert.ok(["none", "quarantine", "reject"].includes(r.p));
      },
    ),
    RUNS,
  );
  assert.deepEqual(parseDmarcRecord("v=DMARC1; p=reject"), {
    p: "reject",
    sp: "reject",
    pct: 100,
    adkim: "r",
    aspf: "r",
    fo: "0",
    rua: [],
    ruf: [],
    ri: 86400,
  });
  assert.equal(parseDmarcRecord("v=spf1 -all"), null);
  assert.equal(parseDmarcRecord("p=reject; v=DMARC1"), null);
});

test("DKIM verification of random DKIM-Signature fields never throws", async () => {
  const resolver = new StaticResolver({ "s._domainkey.example.org": { TXT: ["v=DKIM1; k=rsa; p=MIGfMA0"] } });
  await fc.assert(
    fc.asyncProperty(headerish, async (sig) => {
      const msg = Buffer.from(
        `DKIM-Signature: ${sig.replace(/\r\n(?![ \t])/g, "\r\n ")}\r\nFrom: a@example.org\r\n\r\nbody\r\n`,
      );
      const v = await verifyDkim(msg, { resolver, now: Date.now() });
      for (const s of v.signatures) assert.notEqual(s.result, "pass");
    }),
    { numRuns: 150 },
  );
});
