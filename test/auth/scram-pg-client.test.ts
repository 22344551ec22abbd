// Our SCRAM-SHA-256 server driven by another implementation's client: node-postgres's
// (node_modules/pg/lib/crypto/sasl.js). It always sends the user name "*" (PostgreSQL takes the
// user from the startup packet), so the test source files the account under "*".
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { makeCredential } from "../../src/auth/password.ts";
import { MemorySource, makeAuth } from "./helpers.ts";

const require = createRequire(import.meta.url);
const pgSasl = require("pg/lib/crypto/sasl.js") as {
  startSession(
    mechanisms: string[],
    stream?: unknown,
  ): { mechanism: string; response: string; clientNonce: string };
  continueSession(session: object, password: string, serverData: string, stream?: unknown): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

async function exchange(stored: string, typed: string): Promise<{ ok: boolean; finalized: boolean }> {
  const src = new MemorySource();
  src.add("*", [await makeCredential(stored, { scramIterations: 4096 })]);
  const { auth } = makeAuth(src);
  const session = pgSasl.startSession(["SCRAM-SHA-256"]) as { mechanism: string; response: string };
  assert.equal(session.mechanism, "SCRAM-SHA-256");
  const mech = auth.createMechanism(session.mechanism, { tls: false, ip: "127.0.0.1" });
  const s1 = await mech.start(Buffer.from(session.response));
  assert.equal(s1.type, "challenge");
  if (s1.type !== "challenge") return { ok: false, finalized: false };
  await pgSasl.continueSession(session, typed, s1.data.toString());
  const s2 = await mech.step(Buffer.from(session.response));
  if (s2.type !== "success") return { ok: false, finalized: false };
  pgSasl.finalizeSession(session, s2.data!.toString()); // throws if our server signature is wrong
  return { ok: true, finalized: true };
}

void describe("SCRAM-SHA-256 with the pg client", () => {
  void test("right password: success and the client accepts our server signature", async () => {
    assert.deepEqual(await exchange("correct horse battery staple", "correct horse battery staple"), {
      ok: true,
      finalized: true,
    });
  });

  void test("SASLprep agrees on both sides (no-break space, ligature)", async () => {
    assert.deepEqual(await exchange("pa\u00A0\uFB01ne", "pa fine"), { ok: true, finalized: true });
  });

  void test("wrong password fails", async () => {
    assert.deepEqual(await exchange("correct horse battery staple", "incorrect"), {
      ok: false,
      finalized: false,
    });
  });
});
