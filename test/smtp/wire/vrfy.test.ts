import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseVrfyArgument } from "../../../src/protocols/smtp/wire/vrfy.ts";

void test("VRFY/EXPN arguments: names, mailboxes with or without brackets, SMTPUTF8 (RFC 6531 §3.7.4.2)", () => {
  assert.deepEqual(parseVrfyArgument("bob"), { kind: "name", name: "bob" });
  const bob = { kind: "mailbox", localPart: "bob", domain: "example.org" };
  assert.deepEqual(parseVrfyArgument("bob@example.org"), bob);
  assert.deepEqual(parseVrfyArgument("<bob@example.org>"), bob);
  assert.deepEqual(parseVrfyArgument("Bob Smith <bob@example.org>"), bob);
  assert.deepEqual(parseVrfyArgument("<bob@example.org> SMTPUTF8"), bob);
  assert.deepEqual(parseVrfyArgument("jürgen@bücher.example"), {
    kind: "mailbox",
    localPart: "jürgen",
    domain: "bücher.example",
  });
  for (const bad of ["<>", "<bob@example.org", "bob@", "@example.org", "bob@-bad-", "two words"])
    assert.equal(parseVrfyArgument(bad), null, bad);
});

void test("property: any argument is parsed or refused, never thrown", () => {
  fc.assert(fc.property(fc.string(), (s) => void parseVrfyArgument(s)));
});
