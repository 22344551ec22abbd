// LMTP on a unix socket (issue: "lmtp (24 and a unix socket)", RFC 2033 §5: LMTP is for local
// delivery), beside LMTP on TCP: nodemailer over an already connected unix socket, Python's
// smtplib.LMTP with a path, and a raw client (one reply per recipient; the Received field
// has no IP address); the socket file goes away with the server. Refusing a live socket and
// replacing a stale one: test/net/unix-socket.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { RawClient, message, show, startSmtp, type TestServer } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";

void describe("LMTP on a unix socket", () => {
  let t: TestServer;
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailroom-lmtp-sock-"));
    path = join(dir, "run", "lmtp.sock");
    t = await startSmtp({ lmtpSocket: path });
  });
  after(async () => {
    await t.stop();
    assert.equal(existsSync(path), false, "the socket file is removed at stop");
    await rm(dir, { recursive: true, force: true });
  });

  void test("raw client: LHLO, one reply per recipient, Received without an address", async () => {
    assert.deepEqual(t.server.ports()["lmtp-socket"], { service: "lmtp", host: path, port: 0, path });
    assert.ok(t.port("lmtp") > 0, "LMTP on TCP runs beside it");
    const c = await RawClient.connectPath(path);
    assert.match(show(await c.reply()), /^220 mx\.example\.org LMTP/);
    c.write("LHLO mta.example\r\n");
    assert.match(show(await c.reply()), /^250 mx\.example\.org Hello mta\.example \| PIPELINING/);
    c.write(
      "MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
    );
    assert.deepEqual(
      (await c.replies(5)).map((r) => r.slice(0, 9)),
      ["250 2.1.0", "250 2.1.5", "550 5.1.1", "250 2.1.5", "354 End d"],
    );
    c.write(`${message("over the socket")}.\r\n`);
    assert.deepEqual(
      (await c.replies(2)).map((r) => r.slice(0, 9)),
      ["250 2.0.0", "250 2.0.0"],
    );
    assert.match(await c.cmd("QUIT"), /^221/);
    await c.close();
    const got = (await t.inbox(t.accounts.alice))
      .map((m) => m.toString())
      .find((m) => m.includes("over the socket"));
    assert.match(
      got ?? "",
      /^Return-Path: <s@sender\.example>\r\nDelivered-To: alice@example\.org\r\nReceived: from mta\.example\r\n\tby mx\.example\.org \(Mailroom\) with LMTP id /,
    );
  });

  void test("nodemailer's LMTP client over the socket", async () => {
    const transport = nodemailer.createTransport({
      lmtp: true,
      name: "client.example",
      // nodemailer takes an already connected socket from getSocket (it has no `path` option).
      getSocket(_opts, cb) {
        const s = connect({ path });
        s.once("connect", () => cb(null, { connection: s }));
        s.once("error", (e) => cb(e));
      },
    });
    const info = await transport.sendMail({
      envelope: { from: "s@sender.example", to: ["alice@example.org", "bob@example.org"] },
      raw: message("nodemailer over the socket"),
    });
    transport.close();
    assert.deepEqual(info.accepted, ["alice@example.org", "bob@example.org"]);
    for (const a of [t.accounts.alice, t.accounts.bob])
      assert.ok((await t.inbox(a)).some((m) => m.toString().includes("Subject: nodemailer over the socket")));
  });

  void test("Python smtplib.LMTP with a path", async () => {
    const script = [
      "import smtplib, sys",
      "c = smtplib.LMTP(sys.argv[1])",
      "refused = c.sendmail('s@sender.example', ['bob@example.org'], sys.argv[2].encode())",
      "print('refused', refused)",
      "print('quit', c.quit()[0])",
    ].join("\n");
    const { stdout } = await promisify(execFile)(PYTHON, [
      "-c",
      script,
      path,
      message("python over the socket"),
    ]);
    assert.match(stdout, /^refused \{\}\nquit 221\n$/);
    assert.ok(
      (await t.inbox(t.accounts.bob)).some((m) => m.toString().includes("Subject: python over the socket")),
    );
  });
});
