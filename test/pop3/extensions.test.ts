// POP3 beyond the basics: large messages streamed in slices, CAPA after login, UTF8, SASL
// SCRAM-SHA-256 (additional data with success as a last challenge, RFC 5034 §4), and the
// maildrop lease: renewed while the session lives, expiring after a crash, shared by two
// servers on one store (as two processes or nodes would be).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ConfigManager } from "../../src/config/reload.ts";
import { startServer } from "../../src/core/server.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { pop3Protocol } from "../../src/protocols/pop3/server/protocol.ts";
import { maildropLeaseName } from "../../src/protocols/pop3/server/lock.ts";
import { unstuff } from "../../src/protocols/pop3/wire/message.ts";
import { openStore } from "../../src/store/open.ts";
import { join } from "node:path";
import { testTls } from "../net/helpers.ts";
import { message, PASSWORD, RawPop3, startPop3, type Pop3Fixture } from "./helpers.ts";

/** A 3 MB message with many lines starting with a dot (the sliced write path). */
function bigMessage(): Buffer {
  const lines = ["From: big@example.test", "To: alice@example.test", "Subject: big", ""];
  for (let i = 0; i < 40_000; i++)
    lines.push(i % 7 === 0 ? `.dot line ${i} ${"x".repeat(60)}` : `line ${i} ${"y".repeat(66)}`);
  return Buffer.from(`${lines.join("\r\n")}\r\n`);
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

void describe("POP3 extensions", () => {
  let f: Pop3Fixture;
  let big: Buffer;
  before(async () => {
    f = await startPop3({ pop3: { lockTtlMs: 300 } });
    big = bigMessage();
    await f.deliver(message("small"));
    await f.deliver(big);
  });
  after(async () => {
    await f.stop();
  });

  void test("a 3 MB message is sent whole, stuffed, and TOP of it is bounded", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    await c.login(f.user);
    const r = await c.multi("RETR 2");
    assert.equal(r.status, `+OK ${big.length} octets`);
    const body = r.body.subarray(0, r.body.length - 3);
    assert.ok(unstuff(body).equals(big));
    const t = await c.multi("TOP 2 3");
    assert.equal(
      t.body.toString(),
      `From: big@example.test\r\nTo: alice@example.test\r\nSubject: big\r\n\r\n..dot line 0 ${"x".repeat(60)}\r\nline 1 ${"y".repeat(66)}\r\nline 2 ${"y".repeat(66)}\r\n.\r\n`,
    );
    await c.cmd("QUIT");
  });

  void test("CAPA after login drops USER, SASL and STLS; UTF8 only before login", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.equal(await c.cmd("UTF8"), "+OK UTF8 enabled");
    assert.match(await c.login(f.user), /^\+OK/);
    const caps = (await c.multi("CAPA")).body.toString().split("\r\n");
    assert.ok(caps.includes("TOP") && caps.includes("UIDL") && caps.includes("PIPELINING"));
    assert.ok(!caps.includes("USER") && !caps.includes("STLS") && !caps.some((x) => x.startsWith("SASL")));
    assert.match(await c.cmd("UTF8"), /^-ERR /);
    await c.cmd("QUIT");
  });

  void test("AUTH SCRAM-SHA-256: server signature sent as a last challenge, then +OK", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    const nonce = randomBytes(12).toString("base64");
    const bare = `n=${f.user},r=${nonce}`;
    const first = await c.cmd(`AUTH SCRAM-SHA-256 ${Buffer.from(`n,,${bare}`).toString("base64")}`);
    assert.match(first, /^\+ /);
    const serverFirst = Buffer.from(first.slice(2), "base64").toString();
    const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
    const salted = pbkdf2Sync(
      PASSWORD,
      Buffer.from(attrs["s"] ?? "", "base64"),
      Number(attrs["i"]),
      32,
      "sha256",
    );
    const clientKey = hmac(salted, "Client Key");
    const storedKey = createHash("sha256").update(clientKey).digest();
    const withoutProof = `c=biws,r=${attrs["r"]}`;
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
    const last = await c.cmd(Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64"));
    assert.match(last, /^\+ /);
    const serverFinal = Buffer.from(last.slice(2), "base64").toString();
    const expected = hmac(hmac(salted, "Server Key"), authMessage).toString("base64");
    assert.equal(serverFinal, `v=${expected}`);
    assert.match(await c.cmd(""), /^\+OK maildrop has 2 messages/);
    await c.cmd("QUIT");
  });

  void test("the lease is renewed while the session lives, and a crashed holder's expires", async () => {
    const a = await RawPop3.connect(f.pop3Port);
    await a.line();
    assert.match(await a.login(f.user), /^\+OK/);
    await new Promise((r) => setTimeout(r, 700)); // > 2 lease lifetimes of 300 ms
    const b = await RawPop3.connect(f.pop3Port);
    await b.line();
    assert.match(await b.login(f.user), /^-ERR \[IN-USE\]/);
    await a.cmd("QUIT");
    await b.cmd("QUIT");

    // Another process took the lease and died: it blocks until its lifetime ends.
    assert.ok(await f.server.ctx.store.leases.acquire(maildropLeaseName(f.account.id), "crashed-node", 300));
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.login(f.user), /^-ERR \[IN-USE\]/);
    await new Promise((r) => setTimeout(r, 350));
    assert.match(await c.login(f.user), /^\+OK maildrop/);
    await c.cmd("QUIT");
  });
});

void describe("POP3 session that loses its lease", () => {
  void test("QUIT removes nothing when the lease was taken over", async () => {
    const f = await startPop3({ pop3: { lockTtlMs: 150 } });
    try {
      await f.deliver(message("keep-me"));
      const c = await RawPop3.connect(f.pop3Port);
      await c.line();
      assert.match(await c.login(f.user), /^\+OK/);
      assert.match(await c.cmd("DELE 1"), /^\+OK/);
      // The next renewal finds the lease gone, as when another node took it over.
      const leases = f.server.ctx.store.leases;
      const renew = leases.renew.bind(leases);
      leases.renew = async () => false;
      await new Promise((r) => setTimeout(r, 200));
      leases.renew = renew;
      assert.match(await c.cmd("QUIT"), /^-ERR \[SYS\/TEMP\] maildrop lock lost/);
      const inbox = (await f.server.ctx.store.listMailboxes(f.account.id)).find((b) => b.role === "inbox");
      assert.equal((await f.server.ctx.store.listMessages(f.account.id, inbox?.id ?? "")).length, 1);
    } finally {
      await f.stop();
    }
  });
});

void describe("POP3 lock across two servers on one store", () => {
  void test("a session on one server makes the other answer [IN-USE]", async () => {
    const f = await startPop3();
    // A second server with its own store connection on the same database file and blobs.
    const store2 = await openStore({
      backend: "sqlite",
      sqlitePath: join(f.dir, "mail.db"),
      blobs: "fs",
      clock: systemClock,
      logger: silentLogger(),
    });
    const s2 = await startServer({
      config: ConfigManager.fromObject({
        server: { dataDir: join(f.dir, "second"), hostname: "localhost" },
        listeners: { pop3: { bind: "127.0.0.1", port: 0, allowPlaintextAuth: true } },
        limits: { authFailureDelayMs: 0 },
      }),
      store: store2,
      logger: silentLogger(),
      resolver: new StaticResolver(),
      tls: await testTls(),
      http: false,
      reloadOnSighup: false,
      outbound: false,
      protocols: { pop3: pop3Protocol },
    });
    try {
      await f.deliver(message("shared"));
      const a = await RawPop3.connect(f.pop3Port);
      await a.line();
      assert.match(await a.login(f.user), /^\+OK maildrop has 1 messages/);
      await a.cmd("DELE 1");
      const b = await RawPop3.connect(s2.ports()["pop3"]?.port ?? 0);
      await b.line();
      assert.match(await b.login(f.user), /^-ERR \[IN-USE\]/);
      assert.match(await a.cmd("QUIT"), /1 messages deleted/);
      assert.match(await b.login(f.user), /^\+OK maildrop has 0 messages/);
      await b.cmd("QUIT");
    } finally {
      await s2.stop({ graceMs: 200 });
      await f.stop();
    }
  });
});
