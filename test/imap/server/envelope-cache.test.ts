// The server's ENVELOPE text cache: the same text as the serializer writes, per mode, and
// bounded (the oldest entries go first).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Envelope } from "../../../src/mail/types.ts";
import { EnvelopeCache } from "../../../src/protocols/imap/server/envelope-cache.ts";
import { envelopeText, fetchEnvelope, formatValue } from "../../../src/protocols/imap/wire/index.ts";

const env = (subject: string): Envelope => ({
  date: "Mon, 1 Jan 2024 10:00:00 +0000",
  subject,
  from: [{ name: "Bob", adl: null, mailbox: "bob", host: "example.test" }],
  sender: [],
  replyTo: [],
  to: [],
  cc: [],
  bcc: [],
  inReplyTo: null,
  messageId: "<m@example.test>",
});

test("envelope text is what the serializer writes, in both modes", () => {
  for (const subject of ["plain", 'with "quotes" \\ and caf\u00e9', "x".repeat(2000), "line\r\nbreak"]) {
    for (const utf8 of [false, true]) {
      const e = env(subject);
      assert.equal(envelopeText(e, { utf8 }), formatValue(fetchEnvelope(e)[1], { utf8 }));
    }
  }
});

test("the cache keeps a text per mode and drops the oldest over its bound", () => {
  const one = envelopeText(env("s0"), { utf8: false }).length;
  const c = new EnvelopeCache(one * 3);
  for (let i = 0; i < 5; i++) c.put(`e${i}`, false, env(`s${i}`));
  assert.equal(c.get("e0", false), undefined);
  assert.equal(c.get("e4", false), envelopeText(env("s4"), { utf8: false }));
  assert.equal(c.get("e4", true), undefined);
  assert.equal(
    c.put("e4", true, env("caf\u00e9")),
    '("Mon, 1 Jan 2024 10:00:00 +0000" "caf\u00e9" ((\"Bob\" NIL \"bob\" \"example.test\")) NIL NIL NIL NIL NIL NIL "<m@example.test>")',
  );
});
