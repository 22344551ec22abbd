// Credential derivation: Argon2id PHC strings, SCRAM keys, JSON round trip, app passwords.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  createAppPassword,
  deriveScramKeys,
  generateAppPassword,
  makeCredential,
  needsRehash,
  verifyPassword,
} from "../../src/auth/password.ts";
import { PrepError } from "../../src/auth/saslprep.ts";

void describe("makeCredential", () => {
  void test("Argon2id with the OWASP parameters and SCRAM keys; JSON-serializable", async () => {
    const c = await makeCredential("s3cret", { label: "main", now: 1234 });
    assert.match(c.argon2, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(c.kind, "password");
    assert.equal(c.createdAt, 1234);
    assert.equal(c.cramMd5, undefined);
    assert.equal(c.scramSha256?.iterations, 10000);
    assert.equal(Buffer.from(c.scramSha256.storedKey, "base64").length, 32);
    assert.equal(Buffer.from(c.scramSha1!.serverKey, "base64").length, 20);
    const back = JSON.parse(JSON.stringify(c));
    assert.deepEqual(back, c);
    assert.equal(await verifyPassword(back, "s3cret"), true);
    assert.equal(await verifyPassword(back, "s3cret "), false);
    assert.equal(needsRehash(c), false);
  });

  void test("SCRAM keys match an independent derivation", async () => {
    const c = await makeCredential("pencil", { scramIterations: 4096 });
    const again = await deriveScramKeys("sha256", "pencil", Buffer.from(c.scramSha256!.salt, "base64"), 4096);
    assert.deepEqual(again, c.scramSha256);
  });

  void test("the password is SASLprep'd: equivalent forms verify", async () => {
    const c = await makeCredential("\u2168 lives");
    assert.equal(await verifyPassword(c, "IX lives"), true);
    assert.equal(await verifyPassword(c, "IX\u00A0lives"), true);
    await assert.rejects(makeCredential("bell\u0007"), PrepError);
    await assert.rejects(makeCredential(""), PrepError);
  });

  void test("CRAM-MD5 secret only on request; iterations never below 4096", async () => {
    const c = await makeCredential("pw", { allowCramMd5: true, scramIterations: 10 });
    assert.equal(Buffer.from(c.cramMd5!, "base64").toString(), "pw");
    assert.equal(c.scramSha256?.iterations, 4096);
  });

  void test("a damaged hash verifies as false", async () => {
    const c = await makeCredential("pw");
    assert.equal(await verifyPassword({ ...c, argon2: "$argon2id$garbage" }, "pw"), false);
    assert.equal(needsRehash({ ...c, argon2: "nope" }), true);
  });
});

void describe("app passwords", () => {
  void test("four groups of four from an unambiguous alphabet", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generateAppPassword();
      assert.match(p, /^[a-hjkmnp-z2-9]{4}(-[a-hjkmnp-z2-9]{4}){3}$/);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });

  void test("createAppPassword returns the clear text once and a labelled credential", async () => {
    const main = await makeCredential("main");
    const { password, credential } = await createAppPassword({ label: "laptop", scramSaltFrom: main });
    assert.equal(credential.kind, "app-password");
    assert.equal(credential.label, "laptop");
    assert.equal(credential.scramSha256?.salt, main.scramSha256?.salt);
    assert.ok(!JSON.stringify(credential).includes(password));
    assert.equal(await verifyPassword(credential, password), true);
  });
});
