// The outbound SMTP client against Mailroom's own SMTP server on loopback: PIPELINING with
// BDAT, DATA with dot-stuffing (through a proxy that hides CHUNKING), STARTTLS opportunistic
// and required (the server's self-signed certificate as CA), REQUIRETLS, SMTPUTF8, DSN
// parameters, AUTH on submission, several messages on one connection, a refused recipient,
// and the local refusals (SIZE 5.3.4, SMTPUTF8 5.6.7, REQUIRETLS 5.7.30).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect as netConnect, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import {
  SmtpClient,
  SmtpClientError,
  type ClientOptions,
  type ClientTlsPolicy,
} from "../../src/protocols/smtp/client/index.ts";
import { PASSWORDS, message, startSmtp, type TestServer } from "./helpers.ts";
import { TEST_TIMEOUTS, listenLoopback, rejection } from "./client-helpers.ts";

const NO_TLS: ClientTlsPolicy = { mode: "none", servername: "mx.example.org", verifyCertificate: false };

/** A TCP proxy that removes CHUNKING and BINARYMIME from the server's EHLO reply. */
async function noChunkingProxy(port: number): Promise<Server> {
  const { server } = await listenLoopback((down) => {
    const up = netConnect(port, "127.0.0.1");
    up.on("data", (d: Buffer) => {
      down.write(d.toString("latin1").replace(/250-(CHUNKING|BINARYMIME)\r\n/g, ""), "latin1");
    });
    down.pipe(up);
    up.on("close", () => down.destroy());
    down.on("close", () => up.destroy());
    up.on("error", () => undefined);
    down.on("error", () => undefined);
  });
  return server;
}

void describe("SMTP client against Mailroom's server", () => {
  let t: TestServer;
  let ca: string;
  const opts = (over: Partial<ClientOptions> = {}): ClientOptions => ({
    host: "127.0.0.1",
    port: t.port("smtp"),
    helo: "client.example",
    tls: NO_TLS,
    timeouts: TEST_TIMEOUTS,
    ...over,
  });
  before(async () => {
    t = await startSmtp({ limits: { maxMessageSize: 100_000 } });
    ca = await readFile(join(t.dir, "tls", "selfsigned.crt"), "utf8");
  });
  after(async () => {
    await t.stop();
  });

  void test("PIPELINING and BDAT, a refused recipient, three messages on one connection", async () => {
    const c = await SmtpClient.connect(opts());
    assert.equal(c.capabilities.capabilities.pipelining, true);
    assert.equal(c.capabilities.capabilities.chunking, true);
    assert.equal(c.tls.established, false);
    assert.equal(c.remoteAddress, "127.0.0.1");
    const before = (await t.inbox(t.accounts.bob)).length;
    const r1 = await c.send(
      "sender@remote.example",
      [{ address: "bob@example.org" }, { address: "nobody@example.org" }, { address: "alice@example.org" }],
      {},
      Buffer.from(message("client-one")),
    );
    assert.deepEqual(
      r1.recipients.map((r) => [r.address, r.reply.code, r.delivered, r.permanent]),
      [
        ["bob@example.org", 250, true, false],
        ["nobody@example.org", 550, false, true],
        ["alice@example.org", 250, true, false],
      ],
    );
    assert.equal(r1.recipients[1]?.reply.enhanced, "5.1.1");
    const r2 = await c.send(
      "sender@remote.example",
      [{ address: "bob@example.org" }],
      {},
      Buffer.from(message("client-two")),
    );
    assert.equal(r2.recipients[0]?.delivered, true);
    // No recipient accepted: no data goes out, and the connection stays usable.
    const r3 = await c.send(
      "sender@remote.example",
      [{ address: "ghost@example.org" }],
      {},
      Buffer.from(message("x")),
    );
    assert.equal(r3.recipients[0]?.delivered, false);
    assert.equal(c.usable, true);
    const r4 = await c.send(
      "sender@remote.example",
      [{ address: "bob@example.org" }],
      {},
      Buffer.from(message("client-three")),
    );
    assert.equal(r4.recipients[0]?.delivered, true);
    await c.quit();
    assert.equal(c.usable, false);
    const inbox = (await t.inbox(t.accounts.bob)).slice(before).map((m) => m.toString());
    assert.equal(inbox.length, 3);
    for (const [i, s] of ["client-one", "client-two", "client-three"].entries())
      assert.ok(inbox[i]?.includes(`Subject: ${s}`), `message ${s}`);
  });

  void test("DATA with a leading-dot line and bare LF line ends, when CHUNKING is not offered", async () => {
    const proxy = await noChunkingProxy(t.port("smtp"));
    try {
      const c = await SmtpClient.connect(opts({ port: (proxy.address() as AddressInfo).port }));
      assert.equal(c.capabilities.capabilities.chunking, undefined);
      const body = ".leading dot\n..two dots\n.\nlast line";
      const r = await c.send(
        "sender@remote.example",
        [{ address: "alice@example.org" }],
        {},
        Buffer.from(message("dots").replace(/\r\n/g, "\n") + body),
      );
      assert.equal(r.recipients[0]?.delivered, true);
      await c.quit();
      const got = (await t.inbox(t.accounts.alice))
        .map((m) => m.toString())
        .find((m) => m.includes("Subject: dots"));
      assert.ok(got !== undefined);
      assert.ok(
        got.endsWith("\r\nHello.\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n"),
        JSON.stringify(got.slice(-80)),
      );
    } finally {
      proxy.close();
    }
  });

  void test("STARTTLS opportunistic: encrypted, certificate not verified", async () => {
    const c = await SmtpClient.connect(opts({ tls: { ...NO_TLS, mode: "opportunistic" } }));
    assert.equal(c.tls.established, true);
    assert.equal(c.tls.authorized, false);
    assert.match(c.tls.version ?? "", /^TLSv1\.[23]$/);
    // RFC 3207 §4.2: the EHLO after TLS no longer offers STARTTLS, and offers REQUIRETLS.
    assert.equal(c.capabilities.capabilities.startTls, undefined);
    assert.equal(c.capabilities.capabilities.requireTls, true);
    const r = await c.send(
      "s@remote.example",
      [{ address: "bob@example.org" }],
      {},
      Buffer.from(message("tls-opp")),
    );
    assert.equal(r.recipients[0]?.delivered, true);
    await c.quit();
  });

  void test("STARTTLS required with the server's certificate as CA; REQUIRETLS passes", async () => {
    const tls: ClientTlsPolicy = {
      mode: "required",
      servername: "mx.example.org",
      verifyCertificate: true,
      ca,
    };
    let checked = 0;
    const c = await SmtpClient.connect(
      opts({
        tls: {
          ...tls,
          checkPeer: (chain) => {
            checked++;
            return chain.subject.CN === "mx.example.org" ? null : "wrong name";
          },
        },
      }),
    );
    assert.equal(checked, 1);
    assert.equal(c.tls.authorized, true);
    const r = await c.send(
      "s@remote.example",
      [{ address: "bob@example.org" }],
      { requireTls: true },
      Buffer.from(message("tls-required")),
    );
    assert.equal(r.recipients[0]?.delivered, true);
    await c.quit();
  });

  void test("STARTTLS required fails without the CA, on a wrong name, and when checkPeer refuses", async () => {
    const base: ClientTlsPolicy = { mode: "required", servername: "mx.example.org", verifyCertificate: true };
    for (const tls of [
      base,
      { ...base, ca, servername: "other.example.org" },
      { ...base, ca, checkPeer: () => "TLSA mismatch" },
    ]) {
      const e = await rejection(SmtpClient.connect(opts({ tls })));
      assert.ok(e instanceof SmtpClientError, String(e));
      assert.equal(e.tlsFailure, true);
      assert.equal(e.phase, "tls");
      assert.equal(e.permanent, false);
    }
  });

  void test("REQUIRETLS without verified TLS is refused with 5.7.30 before MAIL", async () => {
    const c = await SmtpClient.connect(opts({ tls: { ...NO_TLS, mode: "opportunistic" } }));
    const e = await rejection(
      c.send(
        "s@remote.example",
        [{ address: "bob@example.org" }],
        { requireTls: true },
        Buffer.from(message("rt")),
      ),
    );
    assert.ok(e instanceof SmtpClientError);
    assert.equal(e.reply?.enhanced, "5.7.30");
    assert.equal(e.permanent, true);
    assert.equal(c.usable, true);
    await c.quit();
  });

  void test("SMTPUTF8 sender and DSN parameters", async () => {
    const c = await SmtpClient.connect(opts());
    const r = await c.send(
      "élise@exämple.net",
      [
        {
          address: "bob@example.org",
          notify: ["SUCCESS", "FAILURE"],
          orcpt: { addrType: "utf-8", address: "bøb@example.org" },
        },
        {
          address: "alice@example.org",
          notify: "NEVER",
          orcpt: { addrType: "rfc822", address: "al+ice@example.org" },
        },
      ],
      { smtputf8: true, ret: "HDRS", envid: "env id=1+2" },
      Buffer.from(message("utf8", "Grüße\r\n")),
    );
    assert.deepEqual(
      r.recipients.map((x) => x.delivered),
      [true, true],
    );
    await c.quit();
    const got = (await t.inbox(t.accounts.bob))
      .map((m) => m.toString())
      .find((m) => m.includes("Subject: utf8"));
    assert.ok(got?.includes("élise@exämple.net"), got);
  });

  void test("SIZE over the peer's limit: 5.3.4 without sending; the session goes on", async () => {
    const c = await SmtpClient.connect(opts());
    assert.equal(c.capabilities.capabilities.size, 100_000);
    const big = Buffer.from(
      message("big", "x".repeat(70) + "\r\n".repeat(1) + ("y".repeat(998) + "\r\n").repeat(110)),
    );
    const e = await rejection(c.send("s@remote.example", [{ address: "bob@example.org" }], {}, big));
    assert.ok(e instanceof SmtpClientError);
    assert.equal(e.reply?.code, 552);
    assert.equal(e.reply?.enhanced, "5.3.4");
    assert.equal(e.permanent, true);
    const r = await c.send(
      "s@remote.example",
      [{ address: "bob@example.org" }],
      {},
      Buffer.from(message("small")),
    );
    assert.equal(r.recipients[0]?.delivered, true);
    await c.quit();
  });

  void test("BINARYMIME goes unchanged with BDAT", async () => {
    const c = await SmtpClient.connect(opts());
    const binary = Buffer.concat([
      Buffer.from(message("binary", "", "MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n")),
      Buffer.from([0, 1, 2, 0x0a, 0x0d, 0xff, 0x2e, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a, 0x80]),
    ]);
    const r = await c.send(
      "s@remote.example",
      [{ address: "bob@example.org" }, { address: "al@example.org" }, { address: "nobody@example.org" }],
      { body: "BINARYMIME" },
      binary,
    );
    assert.deepEqual(
      r.recipients.map((x) => [x.reply.code, x.reply.enhanced, x.delivered]),
      [
        [250, "2.0.0", true],
        [250, "2.0.0", true],
        [550, "5.1.1", false],
      ],
    );
    await c.quit();
    const got = (await t.inbox(t.accounts.bob)).find((m) => m.includes("Subject: binary"));
    assert.ok(got !== undefined);
    assert.ok(got.subarray(got.length - 13).equals(binary.subarray(binary.length - 13)));
  });

  void test("AUTH PLAIN after STARTTLS on submission", async () => {
    const c = await SmtpClient.connect(
      opts({
        port: t.port("submission"),
        tls: { ...NO_TLS, mode: "required", verifyCertificate: true, ca },
        auth: { user: "alice@example.org", password: PASSWORDS.alice },
      }),
    );
    const r = await c.send(
      "alice@example.org",
      [{ address: "bob@example.org" }],
      { auth: "alice@example.org" },
      Buffer.from(message("submitted")),
    );
    assert.equal(r.recipients[0]?.delivered, true);
    await c.quit();
    const bad = await rejection(
      SmtpClient.connect(
        opts({
          port: t.port("submission"),
          tls: { ...NO_TLS, mode: "opportunistic" },
          auth: { user: "alice@example.org", password: "wrong" },
        }),
      ),
    );
    assert.ok(bad instanceof SmtpClientError);
    assert.equal(bad.phase, "auth");
    assert.equal(bad.reply?.code, 535);
    assert.equal(bad.permanent, true);
    // Credentials never go in clear.
    const clear = await rejection(
      SmtpClient.connect(
        opts({ port: t.port("submission"), auth: { user: "alice@example.org", password: PASSWORDS.alice } }),
      ),
    );
    assert.ok(clear instanceof SmtpClientError);
    assert.equal(clear.phase, "auth");
  });
});
