// SASLprep (RFC 4013 §3 examples), user-name preparation and OpaqueString (RFC 8265 §4.2).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { opaqueString, PrepError, prepareUsername, saslprep } from "../../src/auth/saslprep.ts";

void describe("SASLprep, RFC 4013 §3", () => {
  void test("1. SOFT HYPHEN mapped to nothing", () => assert.equal(saslprep("I\u00ADX"), "IX"));
  void test("2. no transformation", () => assert.equal(saslprep("user"), "user"));
  void test("3. case preserved, will not match #2", () => assert.equal(saslprep("USER"), "USER"));
  void test("4. output is NFKC, input in ISO 8859-1", () => assert.equal(saslprep("\u00AA"), "a"));
  void test("5. output is NFKC, will match #1", () => assert.equal(saslprep("\u2168"), "IX"));
  void test("6. Error - prohibited character", () => assert.throws(() => saslprep("\u0007"), PrepError));
  void test("7. Error - bidirectional check", () => assert.throws(() => saslprep("\u0627\u0031"), PrepError));
  void test("non-ASCII space maps to SPACE; emoji (unassigned in Unicode 3.2) are accepted", () => {
    assert.equal(saslprep("a\u2003b"), "a b");
    assert.equal(saslprep("pass🔑"), "pass🔑");
  });
});

void describe("prepareUsername", () => {
  void test("lower-cases only the domain part", () => {
    assert.equal(prepareUsername("Bob@Example.ORG"), "Bob@example.org");
    assert.equal(prepareUsername("a@b@C.D"), "a@b@c.d");
    assert.equal(prepareUsername("plain"), "plain");
  });
  void test("rejects empty and prohibited names", () => {
    assert.throws(() => prepareUsername(""), PrepError);
    assert.throws(() => prepareUsername("\u00AD"), PrepError);
    assert.throws(() => prepareUsername("a\u0000b"), PrepError);
  });
});

void describe("OpaqueString, RFC 8265 §4.2", () => {
  void test("maps spaces, normalizes to NFC, keeps case and compatibility characters", () => {
    assert.equal(opaqueString("Correct\u00A0Horse"), "Correct Horse");
    assert.equal(opaqueString("e\u0301"), "\u00E9");
    assert.equal(opaqueString("\uFB01"), "\uFB01");
    assert.equal(opaqueString("πß påßwörd 🔑"), "πß påßwörd 🔑");
  });
  void test("rejects empty, controls, ignorables and unassigned code points", () => {
    for (const s of ["", "a\u0007", "a\u200Db", "\u{E0001}x", "\u0378", "\uD800"])
      assert.throws(() => opaqueString(s), PrepError, JSON.stringify(s));
  });
});
