// Random server behaviour never crashes the outbound SMTP client: a scripted loopback server
// answers each chunk the client writes with a random reply, garbage, an over-long line or
// reply, silence, or a close; connect(), send() and quit() always resolve or reject with an
// SmtpClientError, within the per-phase time limits.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type AddressInfo, type Server, type Socket } from "node:net";
import fc from "fast-check";
import {
  SmtpClient,
  SmtpClientError,
  type ClientTlsPolicy,
  type SendOutcome,
} from "../../src/protocols/smtp/client/index.ts";
import { listenLoopback, rejection } from "./client-helpers.ts";

type Action = { kind: "write"; data: string } | { kind: "close" } | { kind: "destroy" } | { kind: "silence" };

const write = (data: string): Action => ({ kind: "write", data });

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(
        "220 fuzz ESMTP\r\n",
        "250 ok\r\n",
        "250 2.1.0 ok\r\n",
        "250-fuzz\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n250-SIZE 100\r\n250 DSN\r\n",
        "250-fuzz\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 BINARYMIME\r\n",
        "250-fuzz\r\n250 LIMITS RCPTMAX=1 MAILMAX=1\r\n",
        "354 go ahead\r\n",
        "220 2.0.0 ready for TLS\r\n",
        "220 ready\r\n250 injected\r\n",
        "421 4.3.2 bye\r\n",
        "450 4.2.0 later\r\n",
        "550 5.1.1 no\r\n",
        "500 what\r\n",
        "334 VXNlcm5hbWU6\r\n",
        "235 ok\r\n",
        "221 bye\r\n",
        "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n",
        "250-partial",
        "250-a\r\n451 mixed\r\n",
        "999 bad code\r\n",
      )
      .map(write),
  },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => write(Buffer.from(b).toString("latin1"))),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => write(`${s}\r\n`)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(write("2".repeat(5000)), write("250-x\r\n".repeat(300) + "250 x\r\n")),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Action>({ kind: "close" }, { kind: "destroy" }, { kind: "silence" }),
  },
);

function act(s: Socket, a: Action | undefined): void {
  if (a === undefined || a.kind === "destroy") s.destroy();
  else if (a.kind === "close") s.end();
  else if (a.kind === "write") s.write(a.data, "latin1");
}

void describe("SMTP client under random server behaviour", () => {
  let server: Server;
  let script: Action[] = [];
  before(async () => {
    ({ server } = await listenLoopback((s) => {
      const steps = [...script];
      s.on("error", () => undefined);
      act(s, steps.shift());
      s.on("data", () => act(s, steps.shift()));
    }));
  });
  after(() => {
    server.close();
  });

  const client = (mode: ClientTlsPolicy["mode"]): Promise<SmtpClient> =>
    SmtpClient.connect({
      host: "127.0.0.1",
      port: (server.address() as AddressInfo).port,
      helo: "fuzz.example",
      tls: { mode, servername: "fuzz", verifyCertificate: false },
      timeouts: { greetingMs: 2000, ehloMs: 2000, mailMs: 2000 },
    });

  void test("STARTTLS response injection: data after the 220 is refused, not read", async () => {
    script = [
      write("220 fuzz\r\n"),
      write("250-fuzz\r\n250 STARTTLS\r\n"),
      write("220 go ahead\r\n250-fake\r\n250 AUTH PLAIN\r\n"),
    ];
    const e = await rejection(client("opportunistic"));
    assert.ok(e instanceof SmtpClientError);
    assert.equal(e.phase, "tls");
    assert.equal(e.tlsFailure, true);
  });

  void test("STARTTLS refused: opportunistic goes on in clear, required fails", async () => {
    const steps = [
      write("220 fuzz\r\n"),
      write("250-fuzz\r\n250 STARTTLS\r\n"),
      write("454 4.7.0 no TLS now\r\n"),
    ];
    script = steps;
    const c = await client("opportunistic");
    assert.equal(c.tls.established, false);
    c.close();
    script = steps;
    const e = await rejection(client("required"));
    assert.ok(e instanceof SmtpClientError);
    assert.equal(e.phase, "starttls");
    assert.equal(e.tlsFailure, true);
    assert.equal(e.reply?.code, 454);
  });

  void test("RCPTMAX (RFC 9422): recipients past it are not sent and get 452 4.5.3", async () => {
    const seen: string[] = [];
    const { server: limited, port: limitedPort } = await listenLoopback((s) => {
      const steps = [
        "250-fuzz\r\n250-PIPELINING\r\n250 LIMITS RCPTMAX=2\r\n",
        "250 ok\r\n250 ok\r\n550 5.1.1 no\r\n",
        "354 go\r\n",
        "250 2.0.0 done\r\n",
        "221 bye\r\n",
      ];
      s.on("error", () => undefined);
      s.write("220 limited\r\n");
      s.on("data", (d: Buffer) => {
        seen.push(d.toString());
        s.write(steps.shift() ?? "");
      });
    });
    try {
      const c = await SmtpClient.connect({
        host: "127.0.0.1",
        port: limitedPort,
        helo: "fuzz.example",
        tls: { mode: "none", servername: "fuzz", verifyCertificate: false },
      });
      const r = await c.send(
        "a@fuzz.example",
        [{ address: "b@x.example" }, { address: "c@x.example" }, { address: "d@x.example" }],
        {},
        Buffer.from("x\r\n"),
      );
      assert.deepEqual(
        r.recipients.map((x) => [x.reply.code, x.reply.enhanced, x.delivered, x.permanent]),
        [
          [250, "2.0.0", true, false],
          [550, "5.1.1", false, true],
          [452, "4.5.3", false, false],
        ],
      );
      await c.quit();
      assert.equal(
        seen[1],
        "MAIL FROM:<a@fuzz.example>\r\nRCPT TO:<b@x.example>\r\nRCPT TO:<c@x.example>\r\n",
      );
    } finally {
      limited.close();
    }
  });

  void test("a 421 sent while idle ends the session before the next transaction", async () => {
    const { server: idle, port: idlePort } = await listenLoopback((s) => {
      s.on("error", () => undefined);
      s.write("220 idle\r\n");
      s.once("data", () => {
        s.write("250 idle\r\n");
        setTimeout(() => s.write("421 4.4.2 idle timeout\r\n"), 30);
      });
    });
    try {
      const c2 = await SmtpClient.connect({
        host: "127.0.0.1",
        port: idlePort,
        helo: "fuzz.example",
        tls: { mode: "none", servername: "fuzz", verifyCertificate: false },
      });
      await new Promise((r) => setTimeout(r, 100));
      const e = await rejection(
        c2.send("a@fuzz.example", [{ address: "b@x.example" }], {}, Buffer.from("x\r\n")),
      );
      assert.ok(e instanceof SmtpClientError);
      assert.equal(e.reply?.code, 421);
      assert.equal(e.permanent, false);
      assert.equal(c2.usable, false);
    } finally {
      idle.close();
    }
  });

  void test("connect, send and quit always settle, failures as SmtpClientError", async () => {
    const port = (server.address() as AddressInfo).port;
    const ms = 150;
    await fc.assert(
      fc.asyncProperty(
        // Half the scripts open with a valid greeting and EHLO, to reach the transaction.
        fc.boolean(),
        fc.array(action, { minLength: 1, maxLength: 14 }),
        fc.constantFrom<ClientTlsPolicy["mode"]>("none", "opportunistic", "required"),
        fc.boolean(),
        async (opening, actions, mode, utf8) => {
          script = opening
            ? [write("220 fuzz\r\n"), write("250-fuzz\r\n250 PIPELINING\r\n"), ...actions]
            : actions;
          const timeouts = {
            connectMs: 1000,
            greetingMs: ms,
            ehloMs: ms,
            mailMs: ms,
            rcptMs: ms,
            dataInitMs: ms,
            dataBlockMs: ms,
            dataTermMs: ms,
          };
          const expectClientError = (e: unknown): null => {
            assert.ok(e instanceof SmtpClientError, `not an SmtpClientError: ${String(e)}`);
            return null;
          };
          const c = await SmtpClient.connect({
            host: "127.0.0.1",
            port,
            helo: "fuzz.example",
            tls: { mode, servername: "fuzz", verifyCertificate: mode === "required" },
            timeouts,
          }).catch(expectClientError);
          if (c === null) return;
          const msg = Buffer.from("Subject: x\r\n\r\n.dot\r\nGrüße\r\n");
          for (let i = 0; i < 2; i++) {
            const r: SendOutcome | null = await c
              .send(
                utf8 ? "ä@fuzz.example" : "a@fuzz.example",
                [{ address: "b@x.example" }, { address: "c@x.example" }],
                {},
                msg,
              )
              .catch(expectClientError);
            if (r !== null) {
              assert.equal(r.recipients.length, 2);
              for (const o of r.recipients) assert.ok(o.reply.code >= 200 && o.reply.code < 600);
            }
          }
          await c.quit();
          assert.equal(c.usable, false);
        },
      ),
      { numRuns: 150 },
    );
  });
});
