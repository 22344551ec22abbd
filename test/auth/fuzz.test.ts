// Property: whatever the client sends, every mechanism answers a well-formed Step, never throws,
// and never hits an internal error (which the frame would turn into "temporary").
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { makeCredential } from "../../src/auth/password.ts";
import type { ChannelBindingProvider, Step, TokenVerifier } from "../../src/auth/sasl/types.ts";
import { MemorySource, makeAuth } from "./helpers.ts";

const cb: ChannelBindingProvider = {
  tlsExporter: () => Buffer.alloc(32, 7),
  tlsUnique: () => Buffer.alloc(12, 9),
};
const tokens: TokenVerifier = {
  verify: async (t) => (t === "ok" ? { accountId: "a", username: "u@x", mechanism: "" } : null),
};

const TOKENS = [
  "n",
  "y",
  "p=tls-exporter",
  "p=tls-unique",
  ",",
  "a=",
  "n=",
  "r=",
  "c=",
  "p=",
  "s=",
  "i=",
  "m=",
  "=2C",
  "=3D",
  "=",
  "\x01",
  "\0",
  "auth=Bearer ok",
  "auth=Bearer x",
  "user=",
  "host=",
  "port=",
  "biws",
  "user",
  "u@x",
  "abc",
  " ",
  "0123456789abcdef0123456789abcdef",
  "é",
  "\uFFFD",
];
const grammarish = fc
  .array(fc.constantFrom(...TOKENS), { maxLength: 24 })
  .map((a) => Buffer.from(a.join(""), "utf8"));
const clientData = fc.oneof(
  grammarish,
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);

function wellFormed(s: Step): boolean {
  if (s.type === "challenge") return Buffer.isBuffer(s.data);
  if (s.type === "success") return typeof s.result.accountId === "string";
  // "temporary" here would mean an exception inside a mechanism (a bug), caught by the frame
  if (s.reason === "temporary") return false;
  return (
    ["bad-credentials", "malformed", "temporary", "encrypt-needed", "not-supported"].includes(s.reason) &&
    typeof s.message === "string"
  );
}

void test("random client data to every mechanism never throws", async () => {
  const src = new MemorySource();
  src.add("u@x", [await makeCredential("pw", { allowCramMd5: true, scramIterations: 4096 })]);
  // a limiter that never trips, so every run reaches the parsers
  const { auth } = makeAuth(src, {
    allowCramMd5: true,
    tokenVerifier: tokens,
    rateLimiter: { retryAfter: async () => 0, recordFailure: async () => {} },
  });
  const names = auth.sasl.supported();
  assert.equal(names.length, 9);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...names),
      fc.boolean(),
      fc.option(clientData, { nil: null }),
      fc.array(clientData, { maxLength: 4 }),
      async (name, tls, ir, steps) => {
        const mech = auth.createMechanism(name, {
          tls,
          plaintextAllowed: true,
          channelBinding: cb,
          ip: "127.0.0.1",
        });
        let s = await mech.start(ir);
        assert.ok(wellFormed(s));
        for (const d of steps) {
          s = await mech.step(d);
          assert.ok(wellFormed(s));
        }
      },
    ),
    { numRuns: 400 },
  );
});

void test("random SCRAM client-final messages after a valid client-first never succeed or crash", async () => {
  const src = new MemorySource();
  src.add("u@x", [await makeCredential("pw", { scramIterations: 4096 })]);
  const { auth } = makeAuth(src, {
    rateLimiter: { retryAfter: async () => 0, recordFailure: async () => {} },
  });
  const b64 = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString("base64"));
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"),
      fc.oneof(
        fc.constant("biws"),
        fc.constant("cD10bHMtZXhwb3J0ZXIsLA=="),
        b64,
        fc.string({ maxLength: 10 }),
      ),
      fc.oneof(fc.constant(""), fc.string({ maxLength: 6 })),
      fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
      fc.oneof(b64, fc.string({ maxLength: 50 })),
      async (name, c, nonceTail, ext, p) => {
        const plus = name.endsWith("-PLUS");
        const mech = auth.createMechanism(name, { tls: true, channelBinding: cb });
        const gs2 = plus ? "p=tls-exporter,," : "n,,";
        const first = await mech.start(Buffer.from(`${gs2}n=u@x,r=clientnonce`));
        assert.equal(first.type, "challenge");
        const nonce = first.type === "challenge" ? (/^r=([^,]+)/.exec(first.data.toString())?.[1] ?? "") : "";
        const msg = `c=${c},r=${nonce}${nonceTail}${ext === undefined ? "" : `,x=${ext}`},p=${p}`;
        const s = await mech.step(Buffer.from(msg));
        assert.ok(wellFormed(s) && s.type === "failure", JSON.stringify(s));
      },
    ),
    { numRuns: 300 },
  );
});
