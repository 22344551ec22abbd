// SCRAM against the published exchanges: RFC 7677 §3 (SHA-256) and RFC 5802 §5 (SHA-1).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { deriveScramKeys } from "../../src/auth/password.ts";
import type { StoredCredential } from "../../src/auth/types.ts";
import { MemorySource, makeAuth, run } from "./helpers.ts";

async function vectorSource(): Promise<MemorySource> {
  const src = new MemorySource();
  const cred: StoredCredential = {
    kind: "password",
    argon2: "",
    scramSha256: await deriveScramKeys(
      "sha256",
      "pencil",
      Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"),
      4096,
    ),
    scramSha1: await deriveScramKeys("sha1", "pencil", Buffer.from("QSXCR+Q6sek8bf92", "base64"), 4096),
    createdAt: 0,
  };
  src.add("user", [cred]);
  return src;
}

void describe("SCRAM test vectors", () => {
  void test("RFC 7677 §3 SCRAM-SHA-256", async () => {
    const { auth } = makeAuth(await vectorSource(), { scramNonce: () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" });
    const mech = auth.createMechanism("scram-sha-256", { tls: false, ip: "192.0.2.1" });
    const s1 = await mech.start(Buffer.from("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    assert.equal(s1.type, "challenge");
    assert.equal(
      s1.type === "challenge" && s1.data.toString(),
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    );
    const s2 = await mech.step(
      Buffer.from(
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      ),
    );
    assert.equal(s2.type, "success");
    assert.ok(s2.type === "success");
    assert.equal(s2.data?.toString(), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    assert.deepEqual(s2.result, { accountId: "a-user", username: "user", mechanism: "SCRAM-SHA-256" });
    // the exchange is over
    assert.equal((await mech.step(Buffer.alloc(0))).type, "failure");
  });

  void test("RFC 5802 §5 SCRAM-SHA-1", async () => {
    const { auth } = makeAuth(await vectorSource(), { scramNonce: () => "3rfcNHYJY1ZVvWVs7j" });
    const { steps, last } = await run(
      auth.createMechanism("SCRAM-SHA-1", { tls: false }),
      "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
      ["c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="],
    );
    assert.equal(
      steps[0]!.type === "challenge" && steps[0]!.data.toString(),
      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    );
    assert.ok(last.type === "success", JSON.stringify(last));
    assert.equal(last.data?.toString(), "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  });

  void test("a wrong proof fails with bad-credentials and counts", async () => {
    const { auth, limiter } = makeAuth(await vectorSource(), {
      scramNonce: () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    });
    const { last } = await run(
      auth.createMechanism("SCRAM-SHA-256", { tls: false, ip: "192.0.2.9" }),
      "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
      [
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".replace(
          "dHzb",
          "dHza",
        ),
      ],
    );
    assert.equal(last.type, "failure");
    assert.equal(last.type === "failure" && last.reason, "bad-credentials");
    assert.deepEqual(limiter.trackedKeys, { ip: 1, account: 1 });
  });

  void test("unknown users get a stable fake salt and fail only at the end", async () => {
    const { auth } = makeAuth(await vectorSource());
    const first = async (): Promise<string> => {
      const s = await auth
        .createMechanism("SCRAM-SHA-256", { tls: false })
        .start(Buffer.from("n,,n=nobody,r=abc"));
      assert.equal(s.type, "challenge");
      return s.type === "challenge" ? s.data.toString() : "";
    };
    const a = await first();
    const b = await first();
    const salt = (m: string) => /,s=([^,]+),/.exec(m)?.[1];
    assert.equal(salt(a), salt(b));
    assert.match(a, /^r=abc[^,]+,s=[A-Za-z0-9+/=]{24},i=\d+$/);
  });

  void test("a mandatory extension (m=) is refused", async () => {
    const { auth } = makeAuth(await vectorSource());
    const s = await auth
      .createMechanism("SCRAM-SHA-256", { tls: false })
      .start(Buffer.from("n,,m=foo,n=user,r=abc"));
    assert.equal(s.type === "failure" && s.reason, "not-supported");
  });

  void test("username escapes =2C and =3D are decoded; other = escapes are malformed", async () => {
    const src = await vectorSource();
    const { auth } = makeAuth(src);
    await auth.createMechanism("SCRAM-SHA-256", { tls: false }).start(Buffer.from("n,,n=a=2Cb=3Dc,r=abc"));
    assert.equal(src.lookups.at(-1), "a,b=c");
    const bad = await auth
      .createMechanism("SCRAM-SHA-256", { tls: false })
      .start(Buffer.from("n,,n=a=2Xb,r=abc"));
    assert.equal(bad.type === "failure" && bad.reason, "malformed");
  });

  void test("gs2 flag y over TLS is a downgrade; p= with a non-PLUS mechanism is refused", async () => {
    const { auth } = makeAuth(await vectorSource());
    const y = await auth
      .createMechanism("SCRAM-SHA-256", { tls: true })
      .start(Buffer.from("y,,n=user,r=abc"));
    assert.equal(y.type, "failure");
    assert.match(y.type === "failure" ? y.message : "", /server-does-support-channel-binding/);
    const yPlain = await auth
      .createMechanism("SCRAM-SHA-256", { tls: false })
      .start(Buffer.from("y,,n=user,r=abc"));
    assert.equal(yPlain.type, "challenge");
    const p = await auth
      .createMechanism("SCRAM-SHA-256", { tls: true })
      .start(Buffer.from("p=tls-exporter,,n=user,r=abc"));
    assert.equal(p.type, "failure");
  });

  void test("without initial response the server sends an empty challenge first", async () => {
    const { auth } = makeAuth(await vectorSource(), { scramNonce: () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" });
    const { steps, last } = await run(auth.createMechanism("SCRAM-SHA-256", { tls: false }), null, [
      "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    ]);
    assert.equal(steps[0]!.type === "challenge" && steps[0]!.data.length, 0);
    assert.equal(last.type, "success");
  });
});
