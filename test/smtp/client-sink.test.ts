// The outbound SMTP client against Postfix's smtp-sink on loopback: the bytes the sink dumps
// (-D) equal the message (dot-stuffing undone, DSN parameters as sent), its 4xx/5xx modes
// (-r/-f) and disconnect modes (-Q 421, -q silent close, -A abort after DATA), a peer without
// PIPELINING, ESMTP, 8BITMIME, DSN or SMTPUTF8.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import {
  SmtpClient,
  SmtpClientError,
  type ClientOptions,
  type SendOutcome,
} from "../../src/protocols/smtp/client/index.ts";
import { TEST_TIMEOUTS, listenLoopback, rejection } from "./client-helpers.ts";

const SINK = "/usr/sbin/smtp-sink";

interface Sink {
  port: number;
  dump: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const { server, port } = await listenLoopback();
  await new Promise((r) => server.close(r));
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const dirs: string[] = [];

/** Starts smtp-sink with `flags` on a free loopback port, dumping transactions to a file. */
async function startSink(flags: string[]): Promise<Sink> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-sink-"));
  dirs.push(dir);
  const dump = join(dir, "dump");
  const port = await freePort();
  const child: ChildProcess = spawn(
    SINK,
    ["-u", userInfo().username, "-D", dump, ...flags, `127.0.0.1:${port}`, "50"],
    { stdio: "ignore" },
  );
  const exited = new Promise((r) => child.once("exit", r));
  for (let i = 0; i < 100 && !(await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 20));
  return {
    port,
    dump,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid);
      await exited;
    },
  };
}

/** The dumped transactions: sink headers (X-Mail-Args...) and the message as LF lines. */
async function readDump(path: string): Promise<{ mailArgs: string; rcptArgs: string[]; body: string }[]> {
  // The sink writes the dump when "." is received; give it a moment on a busy machine.
  for (let i = 0; i < 50 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 20));
  const text = await readFile(path, "utf8");
  return text
    .split(/^(?=X-Client-Addr: )/m)
    .filter((t) => t !== "")
    .map((t) => {
      const lines = t.split("\n");
      const rcvd = lines.findIndex((l) => l.startsWith("Received: "));
      const head = lines.slice(0, rcvd);
      return {
        mailArgs: head.find((l) => l.startsWith("X-Mail-Args: "))?.slice(13) ?? "",
        rcptArgs: head.filter((l) => l.startsWith("X-Rcpt-Args: ")).map((l) => l.slice(13)),
        body: lines.slice(rcvd + 3).join("\n"),
      };
    });
}

function opts(port: number): ClientOptions {
  return {
    host: "127.0.0.1",
    port,
    helo: "client.example",
    tls: { mode: "opportunistic", servername: "smtp-sink", verifyCertificate: false },
    timeouts: TEST_TIMEOUTS,
  };
}

const codes = (o: SendOutcome): [number, boolean, boolean][] =>
  o.recipients.map((r) => [r.reply.code, r.delivered, r.permanent]);

const MSG = "From: a@example.net\r\nSubject: sink\r\n\r\n.leading dot\r\n..two\r\nbody line\r\n.\r\nend\r\n";

void describe("SMTP client against Postfix smtp-sink", () => {
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  void test("the dumped bytes equal the messages; DSN and BODY parameters as sent; reuse", async () => {
    const sink = await startSink([]);
    try {
      const c = await SmtpClient.connect(opts(sink.port));
      assert.equal(c.capabilities.capabilities.pipelining, true);
      const r1 = await c.send(
        "a@example.net",
        [
          {
            address: "x@example.com",
            notify: ["SUCCESS", "DELAY"],
            orcpt: { addrType: "rfc822", address: "x+y=z@example.com" },
          },
          { address: "y@example.com", notify: "NEVER" },
        ],
        { ret: "HDRS", envid: "QQ 1+1" },
        Buffer.from(MSG),
      );
      assert.deepEqual(codes(r1), [
        [250, true, false],
        [250, true, false],
      ]);
      const eight = Buffer.from("Subject: 8bit\r\n\r\nGrüße\nbare LF above\r\n", "utf8");
      const r2 = await c.send("", [{ address: "z@example.com" }], {}, eight);
      assert.deepEqual(codes(r2), [[250, true, false]]);
      await c.quit();
      const dumped = await readDump(sink.dump);
      assert.equal(dumped.length, 2);
      assert.equal(dumped[0]?.mailArgs, "<a@example.net> RET=HDRS ENVID=QQ+201+2B1");
      assert.deepEqual(dumped[0]?.rcptArgs, [
        "<x@example.com> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;x+2By+3Dz@example.com",
        "<y@example.com> NOTIFY=NEVER",
      ]);
      // The sink writes LF line ends and an empty line after each message.
      assert.equal(dumped[0]?.body, MSG.replace(/\r\n/g, "\n") + "\n");
      assert.equal(dumped[1]?.mailArgs, "<> BODY=8BITMIME");
      assert.equal(dumped[1]?.body, eight.toString("utf8").replace(/\r\n/g, "\n") + "\n");
    } finally {
      await sink.stop();
    }
  });

  void test("no PIPELINING (-r RCPT): commands one by one; 4xx at RCPT is temporary", async () => {
    const sink = await startSink(["-r", "RCPT"]);
    try {
      const c = await SmtpClient.connect(opts(sink.port));
      assert.equal(c.capabilities.capabilities.pipelining, undefined);
      const r = await c.send(
        "a@example.net",
        [{ address: "x@example.com" }, { address: "y@example.com" }],
        {},
        Buffer.from(MSG),
      );
      assert.deepEqual(codes(r), [
        [450, false, false],
        [450, false, false],
      ]);
      assert.equal(r.recipients[0]?.reply.enhanced, "4.3.0");
      assert.equal(c.usable, true);
      await c.quit();
      assert.equal(existsSync(sink.dump), false);
    } finally {
      await sink.stop();
    }
  });

  void test("5xx on MAIL rejects the transaction; the session stays usable", async () => {
    const sink = await startSink(["-f", "MAIL"]);
    try {
      const c = await SmtpClient.connect(opts(sink.port));
      const e = await rejection(
        c.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG)),
      );
      assert.equal(e.phase, "mail");
      assert.equal(e.reply?.code, 500);
      assert.equal(e.permanent, true);
      assert.equal(c.usable, true);
      await rejection(c.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG)));
      await c.quit();
    } finally {
      await sink.stop();
    }
  });

  void test("4xx on DATA and 5xx after the data are per-recipient outcomes", async () => {
    const data = await startSink(["-r", "DATA"]);
    const dot = await startSink(["-f", "."]);
    try {
      const c1 = await SmtpClient.connect(opts(data.port));
      assert.deepEqual(
        codes(await c1.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG))),
        [[450, false, false]],
      );
      await c1.quit();
      const c2 = await SmtpClient.connect(opts(dot.port));
      assert.deepEqual(
        codes(await c2.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG))),
        [[500, false, true]],
      );
      // The next transaction on the same connection starts with RSET and goes through.
      assert.deepEqual(
        codes(await c2.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG))),
        [[500, false, true]],
      );
      await c2.quit();
    } finally {
      await data.stop();
      await dot.stop();
    }
  });

  void test("abort after DATA (-A 0): 550 for the recipients", async () => {
    const sink = await startSink(["-A", "0"]);
    try {
      const c = await SmtpClient.connect(opts(sink.port));
      const r = await c
        .send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG))
        .catch((e: unknown) => e);
      if (r instanceof SmtpClientError) assert.equal(r.permanent, false);
      else assert.deepEqual(codes(r as SendOutcome), [[550, false, true]]);
      c.close();
    } finally {
      await sink.stop();
    }
  });

  void test("421 (-Q RCPT) and silent disconnects (-q DATA, -q .) are temporary and end the session", async () => {
    for (const [flag, cmd] of [
      ["-Q", "RCPT"],
      ["-q", "DATA"],
      ["-q", "."],
      ["-Q", "EHLO"],
    ] as const) {
      const sink = await startSink([flag, cmd]);
      try {
        const e = await rejection(
          SmtpClient.connect(opts(sink.port)).then(async (c) => {
            try {
              return await c.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG));
            } finally {
              assert.equal(c.usable, false, `${flag} ${cmd}: unusable after the failure`);
            }
          }),
        );
        assert.equal(e.permanent, false, `${flag} ${cmd}`);
        if (flag === "-Q") assert.equal(e.reply?.code, 421, `${flag} ${cmd}`);
        else assert.equal(e.phase, "closed", `${flag} ${cmd}`);
      } finally {
        await sink.stop();
      }
    }
  });

  void test("time limits per phase (-W DATA:2) and a refused greeting (-f CONNECT)", async () => {
    const slow = await startSink(["-W", "DATA:2"]);
    const closed = await startSink(["-f", "CONNECT"]);
    try {
      const c = await SmtpClient.connect({
        ...opts(slow.port),
        timeouts: { ...TEST_TIMEOUTS, dataInitMs: 300 },
      });
      const started = Date.now();
      const e = await rejection(
        c.send("a@example.net", [{ address: "x@example.com" }], {}, Buffer.from(MSG)),
      );
      assert.equal(e.phase, "timeout");
      assert.equal(e.permanent, false);
      assert.ok(Date.now() - started < 1500);
      assert.equal(c.usable, false);
      const g = await rejection(SmtpClient.connect(opts(closed.port)));
      assert.equal(g.phase, "greeting");
      assert.equal(g.permanent, true);
    } finally {
      await slow.stop();
      await closed.stop();
    }
  });

  void test("a peer without ESMTP (-e): HELO fallback, no parameters", async () => {
    const sink = await startSink(["-e"]);
    try {
      const c = await SmtpClient.connect(opts(sink.port));
      assert.deepEqual(c.capabilities.capabilities, {});
      assert.deepEqual(
        codes(
          await c.send(
            "a@example.net",
            [{ address: "x@example.com", notify: ["FAILURE"] }],
            { ret: "FULL" },
            Buffer.from(MSG),
          ),
        ),
        [[250, true, false]],
      );
      await c.quit();
      const [d] = await readDump(sink.dump);
      assert.equal(d?.mailArgs, "<a@example.net>");
      assert.deepEqual(d?.rcptArgs, ["<x@example.com>"]);
    } finally {
      await sink.stop();
    }
  });

  void test("local refusals: no 8BITMIME (-8) gives 5.6.3, no SMTPUTF8 gives 5.6.7, no DSN (-N) drops the parameters", async () => {
    const sink = await startSink(["-8", "-N"]);
    try {
      const c = await SmtpClient.connect(opts(sink.port));
      const e8 = await rejection(
        c.send(
          "a@example.net",
          [{ address: "x@example.com" }],
          {},
          Buffer.from("Subject: x\r\n\r\nGrüße\r\n"),
        ),
      );
      assert.equal(e8.reply?.enhanced, "5.6.3");
      assert.equal(e8.permanent, true);
      // RFC 3030 §3: BINARYMIME needs CHUNKING, which smtp-sink never offers.
      const eb = await rejection(
        c.send("a@example.net", [{ address: "x@example.com" }], { body: "BINARYMIME" }, Buffer.from(MSG)),
      );
      assert.equal(eb.reply?.enhanced, "5.6.3");
      const eu = await rejection(
        c.send("a@example.net", [{ address: "ü@example.com" }], {}, Buffer.from(MSG)),
      );
      assert.equal(eu.reply?.enhanced, "5.6.7");
      assert.equal(eu.permanent, true);
      const r = await c.send(
        "a@example.net",
        [
          {
            address: "x@example.com",
            notify: ["FAILURE"],
            orcpt: { addrType: "rfc822", address: "x@example.com" },
          },
        ],
        { ret: "FULL", envid: "e1" },
        Buffer.from(MSG),
      );
      assert.deepEqual(codes(r), [[250, true, false]]);
      await c.quit();
      const [d] = await readDump(sink.dump);
      assert.equal(d?.mailArgs, "<a@example.net>");
      assert.deepEqual(d?.rcptArgs, ["<x@example.com>"]);
    } finally {
      await sink.stop();
    }
  });
});
