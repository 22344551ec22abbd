// PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), OAUTHBEARER (RFC 7628), XOAUTH2, the offer
// rules, authzid handling, malformed input and Authenticator.verifyPlain.
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createAppPassword, makeCredential } from "../../src/auth/password.ts";
import type { TokenVerifier } from "../../src/auth/sasl/types.ts";
import type { AuthResult } from "../../src/auth/types.ts";
import { MemorySource, makeAuth, run, text } from "./helpers.ts";

const src = new MemorySource();
let appPassword = "";

before(async () => {
  const main = await makeCredential("hunter2", { allowCramMd5: true });
  const app = await createAppPassword({ label: "phone", scramSaltFrom: main });
  appPassword = app.password;
  src.add("bob@example.org", [main, app.credential]);
  src.add("admin@example.org", [await makeCredential("root-pw")]);
  src.add("carol@example.org", [await makeCredential("carolpw")], { disabled: true });
});

const TLS = { tls: true, ip: "198.51.100.7" };

void describe("PLAIN", () => {
  void test("with initial response", async () => {
    const { auth } = makeAuth(src);
    const { last } = await run(auth.createMechanism("plain", TLS), "\0bob@example.org\0hunter2");
    assert.deepEqual(last, {
      type: "success",
      result: { accountId: "a-bob@example.org", username: "bob@example.org", mechanism: "PLAIN" },
    });
  });

  void test("without initial response: empty challenge first", async () => {
    const { auth } = makeAuth(src);
    const { steps, last } = await run(auth.createMechanism("PLAIN", TLS), null, [
      "\0bob@example.org\0hunter2",
    ]);
    assert.equal(steps[0]!.type === "challenge" && steps[0]!.data.length, 0);
    assert.equal(last.type, "success");
  });

  void test("the domain part is case-insensitive; the app password works and is labelled", async () => {
    const { auth } = makeAuth(src);
    const { last } = await run(auth.createMechanism("PLAIN", TLS), `\0bob@EXAMPLE.org\0${appPassword}`);
    assert.equal(last.type === "success" && last.result.credentialLabel, "phone");
  });

  void test("wrong password, unknown user and disabled account are bad-credentials", async () => {
    const { auth } = makeAuth(src);
    for (const msg of [
      "\0bob@example.org\0nope",
      "\0nobody@example.org\0hunter2",
      "\0carol@example.org\0carolpw",
    ]) {
      const { last } = await run(auth.createMechanism("PLAIN", TLS), msg);
      assert.equal(last.type === "failure" && last.reason, "bad-credentials", msg);
    }
  });

  void test("authzid: empty or equal is fine; another user needs the hook", async () => {
    const { auth } = makeAuth(src);
    const same = await run(auth.createMechanism("PLAIN", TLS), "bob@example.org\0bob@example.org\0hunter2");
    assert.equal(same.last.type, "success");
    const other = await run(
      auth.createMechanism("PLAIN", TLS),
      "admin@example.org\0bob@example.org\0hunter2",
    );
    assert.equal(other.last.type === "failure" && other.last.reason, "bad-credentials");

    const impersonate = async (actor: AuthResult, authzid: string): Promise<AuthResult | null> =>
      actor.username === "admin@example.org"
        ? { accountId: `a-${authzid}`, username: authzid, mechanism: "" }
        : null;
    const withHook = makeAuth(src, { impersonate }).auth;
    const ok = await run(
      withHook.createMechanism("PLAIN", TLS),
      "bob@example.org\0admin@example.org\0root-pw",
    );
    assert.deepEqual(ok.last.type === "success" && ok.last.result, {
      accountId: "a-bob@example.org",
      username: "bob@example.org",
      mechanism: "PLAIN",
      actor: { accountId: "a-admin@example.org", username: "admin@example.org" },
    });
    const denied = await run(
      withHook.createMechanism("PLAIN", TLS),
      "admin@example.org\0bob@example.org\0hunter2",
    );
    assert.equal(denied.last.type, "failure");
  });

  void test("malformed messages never throw and never reach the store", async () => {
    const source = new MemorySource();
    const { auth } = makeAuth(source);
    const cases: Buffer[] = [
      Buffer.from("bob@example.org hunter2"), // no NULs
      Buffer.from("\0bob@example.org"), // one NUL
      Buffer.from("\0\0hunter2"), // empty authcid
      Buffer.from("\0bob@example.org\0"), // empty password
      Buffer.from("a\0b\0c\0d"), // three NULs
      Buffer.from([0x00, 0x62, 0x00, 0xff, 0xfe]), // not UTF-8
      Buffer.from("Ym9iAGh1bnRlcjI=!!"), // base64 text the protocol failed to decode: no NULs
      Buffer.from(`\0${"x".repeat(300)}\0pw`), // authcid over 255 octets
      Buffer.alloc(1 << 20, 0x61), // huge
      Buffer.alloc(0), // "=" (empty initial response)
    ];
    for (const c of cases) {
      const { last } = await run(auth.createMechanism("PLAIN", TLS), c);
      assert.equal(
        last.type === "failure" && last.reason,
        "malformed",
        `${c.subarray(0, 40).toString("hex")}`,
      );
    }
    assert.equal(source.lookups.length, 0);
  });

  void test("not offered without TLS unless allowed; refused with encrypt-needed", async () => {
    const { auth } = makeAuth(src);
    assert.ok(!auth.mechanisms({ tls: false }).includes("PLAIN"));
    assert.ok(auth.mechanisms({ tls: false, plaintextAllowed: true }).includes("PLAIN"));
    const s = await auth
      .createMechanism("PLAIN", { tls: false })
      .start(Buffer.from("\0bob@example.org\0hunter2"));
    assert.equal(s.type === "failure" && s.reason, "encrypt-needed");
    const ok = await run(
      auth.createMechanism("PLAIN", { tls: false, plaintextAllowed: true }),
      "\0bob@example.org\0hunter2",
    );
    assert.equal(ok.last.type, "success");
  });
});

void describe("LOGIN", () => {
  void test("Username: then Password:", async () => {
    const { auth } = makeAuth(src);
    const { steps, last } = await run(auth.createMechanism("login", TLS), null, [
      "bob@example.org",
      "hunter2",
    ]);
    assert.deepEqual(steps.slice(0, 2).map(text), ["Username:", "Password:"]);
    assert.equal(last.type === "success" && last.result.mechanism, "LOGIN");
  });

  void test("initial response is the user name", async () => {
    const { auth } = makeAuth(src);
    const { steps, last } = await run(auth.createMechanism("LOGIN", TLS), "bob@example.org", ["hunter2"]);
    assert.equal(text(steps[0]!), "Password:");
    assert.equal(last.type, "success");
  });

  void test("wrong password and malformed input", async () => {
    const { auth } = makeAuth(src);
    assert.equal(
      (await run(auth.createMechanism("LOGIN", TLS), "bob@example.org", ["x"])).last.type,
      "failure",
    );
    const bad = await run(auth.createMechanism("LOGIN", TLS), Buffer.from([0xc3, 0x28]));
    assert.equal(bad.last.type === "failure" && bad.last.reason, "malformed");
    const empty = await run(auth.createMechanism("LOGIN", TLS), null, ["bob@example.org", ""]);
    assert.equal(empty.last.type === "failure" && empty.last.reason, "malformed");
  });
});

void describe("CRAM-MD5", () => {
  void test("not offered unless enabled", () => {
    assert.ok(!makeAuth(src).auth.mechanisms({ tls: true }).includes("CRAM-MD5"));
    assert.ok(makeAuth(src, { allowCramMd5: true }).auth.mechanisms({ tls: false }).includes("CRAM-MD5"));
  });

  void test("RFC 2195 exchange", async () => {
    const { auth } = makeAuth(src, { allowCramMd5: true, hostname: "mail.example.org" });
    const mech = auth.createMechanism("CRAM-MD5", { tls: false });
    const ch = await mech.start(null);
    assert.ok(ch.type === "challenge");
    assert.match(ch.data.toString(), /^<\d+\.\d+@mail\.example\.org>$/);
    const digest = createHmac("md5", "hunter2").update(ch.data).digest("hex");
    const ok = await mech.step(Buffer.from(`bob@example.org ${digest}`));
    assert.equal(ok.type === "success" && ok.result.mechanism, "CRAM-MD5");

    const m2 = auth.createMechanism("CRAM-MD5", { tls: false });
    const ch2 = await m2.start(null);
    assert.ok(ch2.type === "challenge");
    const wrong = createHmac("md5", "hunter3").update(ch2.data).digest("hex");
    assert.equal((await m2.step(Buffer.from(`bob@example.org ${wrong}`))).type, "failure");
    // an account without a stored CRAM secret cannot use it
    const m3 = auth.createMechanism("CRAM-MD5", { tls: false });
    const ch3 = await m3.start(null);
    assert.ok(ch3.type === "challenge");
    const d3 = createHmac("md5", "root-pw").update(ch3.data).digest("hex");
    assert.equal((await m3.step(Buffer.from(`admin@example.org ${d3}`))).type, "failure");
    const m4 = auth.createMechanism("CRAM-MD5", { tls: false });
    await m4.start(null);
    const bad = await m4.step(Buffer.from("bob@example.org nothex"));
    assert.equal(bad.type === "failure" && bad.reason, "malformed");
  });
});

void describe("SCRAM with an app password", () => {
  void test("an app password sharing the main salt works over SCRAM-SHA-256", async () => {
    const { scramClientFinal } = await import("./helpers.ts");
    const { auth } = makeAuth(src);
    const mech = auth.createMechanism("SCRAM-SHA-256", TLS);
    const first = await mech.start(Buffer.from("n,,n=bob@example.org,r=abcdef"));
    assert.ok(first.type === "challenge");
    const c = scramClientFinal({
      hash: "sha256",
      password: appPassword,
      clientFirstBare: "n=bob@example.org,r=abcdef",
      gs2Header: "n,,",
      serverFirst: first.data.toString(),
    });
    const fin = await mech.step(Buffer.from(c.clientFinal));
    assert.equal(fin.type === "success" && fin.result.credentialLabel, "phone");
    assert.equal(fin.type === "success" && fin.data?.toString(), c.serverSignature);
  });
});

void describe("OAUTHBEARER and XOAUTH2", () => {
  const verifier: TokenVerifier = {
    async verify(token, ctx) {
      if (token === "boom") throw new Error("idp down");
      return token === "good-token"
        ? { accountId: "a-bob", username: ctx.user ?? "bob@example.org", mechanism: "x" }
        : null;
    },
  };

  void test("only offered with a TokenVerifier, and only over TLS", () => {
    assert.ok(!makeAuth(src).auth.mechanisms({ tls: true }).includes("OAUTHBEARER"));
    const { auth } = makeAuth(src, { tokenVerifier: verifier });
    assert.deepEqual(auth.mechanisms({ tls: true }).slice(-2), ["OAUTHBEARER", "XOAUTH2"]);
    assert.ok(!auth.mechanisms({ tls: false }).includes("XOAUTH2"));
  });

  void test("OAUTHBEARER success, and the RFC 7628 §3.2.2 error flow", async () => {
    const { auth } = makeAuth(src, { tokenVerifier: verifier });
    const msg = "n,a=bob@example.org,\x01host=mail.example.org\x01port=993\x01auth=Bearer good-token\x01\x01";
    const ok = await run(auth.createMechanism("OAUTHBEARER", TLS), msg);
    assert.equal(ok.last.type === "success" && ok.last.result.mechanism, "OAUTHBEARER");
    const bad = await run(auth.createMechanism("OAUTHBEARER", TLS), msg.replace("good-token", "bad-token"), [
      "\x01",
    ]);
    assert.equal(bad.steps[0]!.type, "challenge");
    assert.equal(JSON.parse(text(bad.steps[0]!)).status, "invalid_token");
    assert.equal(bad.last.type === "failure" && bad.last.reason, "bad-credentials");
    const down = await run(auth.createMechanism("OAUTHBEARER", TLS), msg.replace("good-token", "boom"));
    assert.equal(down.last.type === "failure" && down.last.reason, "temporary");
    for (const m of [
      "n,,auth=Bearer x\x01\x01",
      "p=tls-unique,,\x01auth=Bearer x\x01\x01",
      "n,,\x01auth=Basic x\x01\x01",
      "n,,\x01auth=Bearer x\x01",
    ]) {
      const r = await run(auth.createMechanism("OAUTHBEARER", TLS), m);
      assert.equal(r.last.type === "failure" && r.last.reason, "malformed", JSON.stringify(m));
    }
  });

  void test("XOAUTH2 success and error flow", async () => {
    const { auth } = makeAuth(src, { tokenVerifier: verifier });
    const ok = await run(
      auth.createMechanism("xoauth2", TLS),
      "user=bob@example.org\x01auth=Bearer good-token\x01\x01",
    );
    assert.equal(ok.last.type === "success" && ok.last.result.username, "bob@example.org");
    const bad = await run(
      auth.createMechanism("XOAUTH2", TLS),
      "user=bob@example.org\x01auth=Bearer nope\x01\x01",
      [""],
    );
    assert.equal(bad.steps[0]!.type, "challenge");
    assert.equal(bad.last.type === "failure" && bad.last.reason, "bad-credentials");
  });
});

void describe("mechanism selection", () => {
  void test("names are case-insensitive; unknown ones fail with not-supported", async () => {
    const { auth } = makeAuth(src);
    assert.equal(auth.createMechanism("scram-sha-256-plus", TLS).name, "SCRAM-SHA-256-PLUS");
    const s = await auth.createMechanism("GSSAPI", TLS).start(null);
    assert.equal(s.type === "failure" && s.reason, "not-supported");
  });

  void test("advertised order, TLS vs plaintext", () => {
    const { auth } = makeAuth(src);
    assert.deepEqual(auth.mechanisms({ tls: true }), [
      "SCRAM-SHA-256-PLUS",
      "SCRAM-SHA-256",
      "SCRAM-SHA-1-PLUS",
      "SCRAM-SHA-1",
      "PLAIN",
      "LOGIN",
    ]);
    assert.deepEqual(auth.mechanisms({ tls: false }), ["SCRAM-SHA-256", "SCRAM-SHA-1"]);
  });
});

void describe("verifyPlain", () => {
  void test("for LOGIN / USER-PASS commands", async () => {
    const { auth } = makeAuth(src);
    const ok = await auth.verifyPlain("bob@example.org", "hunter2", { ip: "203.0.113.5", mechanism: "USER" });
    assert.deepEqual(ok, {
      ok: true,
      result: { accountId: "a-bob@example.org", username: "bob@example.org", mechanism: "USER" },
    });
    const no = await auth.verifyPlain("bob@example.org", "x", { ip: "203.0.113.5" });
    assert.deepEqual(no, { ok: false, reason: "bad-credentials", message: "invalid credentials" });
  });

  void test("a failing store gives temporary", async () => {
    const { auth } = makeAuth({
      lookup: async () => {
        throw new Error("db down");
      },
    });
    const r = await auth.verifyPlain("bob@example.org", "hunter2");
    assert.equal(!r.ok && r.reason, "temporary");
  });
});

void describe("logging", () => {
  void test("failures and successes are logged with user and address, never the password", async () => {
    const { PassThrough } = await import("node:stream");
    const { createLogger } = await import("../../src/core/logger.ts");
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on("data", (c: Buffer) => chunks.push(c.toString()));
    const { auth } = makeAuth(src, { logger: createLogger({ level: "info", destination: out }) });
    await auth.verifyPlain("bob@example.org", "Wrong-Secret-42", { ip: "192.0.2.77" });
    await run(auth.createMechanism("PLAIN", TLS), "\0bob@example.org\0hunter2");
    await run(auth.createMechanism("LOGIN", TLS), "bob@example.org", ["Other-Wrong-43"]);
    await new Promise((r) => setImmediate(r));
    const log = chunks.join("");
    const lines = log
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.deepEqual(
      lines.map((l) => [l.ok, l.mechanism, l.user, l.ip]),
      [
        [false, "LOGIN", "bob@example.org", "192.0.2.77"],
        [true, "PLAIN", "bob@example.org", "198.51.100.7"],
        [false, "LOGIN", "bob@example.org", "198.51.100.7"],
      ],
    );
    for (const secret of ["Wrong-Secret-42", "hunter2", "Other-Wrong-43"])
      assert.ok(!log.includes(secret), secret);
  });
});
