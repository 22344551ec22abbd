// Our SCRAM server against GNU SASL's client (Debian package gsasl, GnuTLS underneath), over a
// minimal IMAP AUTHENTICATE exchange (RFC 9051 §6.2.2) on 127.0.0.1 with STARTTLS: plain
// SCRAM-SHA-256, SCRAM-SHA-1, and SCRAM-SHA-256-PLUS with tls-exporter (TLS 1.3) and tls-unique
// (TLS 1.2); also PLAIN, LOGIN and CRAM-MD5. Skipped when gsasl is not installed (.ci/run installs it).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { createInterface } from "node:readline";
import { generate } from "selfsigned";
import type { Authenticator } from "../../src/auth/authenticator.ts";
import { makeCredential } from "../../src/auth/password.ts";
import { tlsChannelBinding } from "../../src/auth/sasl/channel-binding.ts";
import type { SaslConnection } from "../../src/auth/sasl/types.ts";
import type { AuthResult } from "../../src/auth/types.ts";
import { MemorySource, makeAuth } from "./helpers.ts";


interface Server {
  port: number;
  results: (AuthResult | string)[];
  /** Channel-binding types the mechanisms read, in order. */
  bindings: string[];
  close(): Promise<void>;
}

/** Just enough IMAP for `gsasl --imap`: CAPABILITY, STARTTLS, AUTHENTICATE, LOGOUT. */
async function miniImap(auth: Authenticator, pems: { private: string; cert: string }): Promise<Server> {
  const results: (AuthResult | string)[] = [];
  const bindings: string[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((raw) => {
    sockets.add(raw);
    void session(raw);
  });
  async function session(raw: net.Socket): Promise<void> {
    let sock: net.Socket | tls.TLSSocket = raw;
    let conn: SaslConnection = { tls: false, ip: "127.0.0.1" };
    const write = (s: string): void => void sock.write(s + "\r\n");
    write("* OK test server ready");
    let lines = createInterface({ input: sock, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const next = async (): Promise<string | null> => {
      const r = await lines.next();
      return r.done ? null : r.value;
    };
    try {
      for (let line = await next(); line !== null; line = await next()) {
        const [tag = "*", cmd = "", ...args] = line.split(" ");
        switch (cmd.toUpperCase()) {
          case "CAPABILITY": {
            const caps = auth.mechanisms(conn).map((m) => `AUTH=${m}`);
            write(
              `* CAPABILITY IMAP4rev1 ${conn.tls ? "" : "STARTTLS "}${caps.join(" ")}`.replace("  ", " "),
            );
            write(`${tag} OK done`);
            break;
          }
          case "STARTTLS": {
            write(`${tag} OK begin TLS`);
            lines.return?.(undefined).catch(() => {});
            raw.removeAllListeners("data");
            const t = new tls.TLSSocket(raw, { isServer: true, key: pems.private, cert: pems.cert });
            await once(t, "secure");
            sock = t;
            const cb = tlsChannelBinding(t, "server");
            const channelBinding = {
              tlsExporter: () => (bindings.push("tls-exporter"), cb.tlsExporter()),
              tlsUnique: () => (bindings.push("tls-unique"), cb.tlsUnique()),
            };
            conn = { tls: true, ip: "127.0.0.1", channelBinding };
            lines = createInterface({ input: t, crlfDelay: Infinity })[Symbol.asyncIterator]();
            break;
          }
          case "AUTHENTICATE": {
            const mech = auth.createMechanism(args[0] ?? "", conn);
            // RFC 4959: "=" is an empty initial response
            const ir =
              args[1] === undefined
                ? null
                : args[1] === "="
                  ? Buffer.alloc(0)
                  : Buffer.from(args[1], "base64");
            let step = await mech.start(ir);
            while (step.type === "challenge") {
              write(`+ ${step.data.toString("base64")}`);
              const resp = await next();
              if (resp === null || resp === "*") {
                step = { type: "failure", reason: "malformed", message: "cancelled" };
                break;
              }
              step = await mech.step(Buffer.from(resp, "base64"));
            }
            if (step.type === "success") {
              if (step.data) {
                // RFC 9051 §6.2.2: additional data with success may go in a last "+" continuation
                write(`+ ${step.data.toString("base64")}`);
                await next();
              }
              results.push(step.result);
              write(`${tag} OK authenticated`);
            } else {
              results.push(`${step.reason}: ${step.message}`);
              write(`${tag} NO ${step.message}`);
            }
            break;
          }
          case "LOGOUT":
            write("* BYE");
            write(`${tag} OK bye`);
            sock.end();
            return;
          default:
            write(`${tag} BAD unknown command`);
        }
      }
    } catch {
      sock.destroy();
    }
  }
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  return {
    port: (srv.address() as AddressInfo).port,
    results,
    bindings,
    close: async () => {
      for (const s of sockets) s.destroy();
      srv.close();
      await once(srv, "close");
    },
  };
}

function gsasl(port: number, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      "gsasl",
      [
        "--imap",
        `--connect=127.0.0.1:${port}`,
        "--x509-ca-file=",
        "--hostname=localhost",
        "-a",
        "alice@example.org",
        ...args,
      ],
      { timeout: 10_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout + stderr }),
    );
    child.stdin?.end();
  });
}

void describe(
  "SASL mechanisms with GNU SASL's client",
  () => {
    let server: Server;
    before(async () => {
      const pems = await generate([{ name: "commonName", value: "localhost" }], {
        keySize: 2048,
        algorithm: "sha256",
      });
      const src = new MemorySource();
      src.add("alice@example.org", [
        await makeCredential("gsasl pass", { scramIterations: 4096, allowCramMd5: true }),
      ]);
      server = await miniImap(makeAuth(src, { allowCramMd5: true }).auth, pems);
    });
    after(async () => {
      await server.close();
    });

    for (const [name, mech, binding, extra] of [
      ["SCRAM-SHA-256 over STARTTLS, no channel binding", "SCRAM-SHA-256", undefined, ["--no-cb"]],
      ["SCRAM-SHA-1", "SCRAM-SHA-1", undefined, ["--no-cb"]],
      ["PLAIN", "PLAIN", undefined, []],
      ["LOGIN", "LOGIN", undefined, []],
      ["CRAM-MD5", "CRAM-MD5", undefined, []],
      ["SCRAM-SHA-256-PLUS with tls-exporter (TLS 1.3)", "SCRAM-SHA-256-PLUS", "tls-exporter", []],
      [
        "SCRAM-SHA-256-PLUS with tls-unique (TLS 1.2)",
        "SCRAM-SHA-256-PLUS",
        "tls-unique",
        ["--priority=NORMAL:-VERS-TLS1.3"],
      ],
    ] as const) {
      void test(name, async () => {
        const before = server.results.length;
        const bindingsBefore = server.bindings.length;
        const r = await gsasl(server.port, ["-m", mech, "-p", "gsasl pass", ...extra]);
        const got = server.results.slice(before);
        assert.equal(got.length, 1, r.out);
        assert.equal(
          typeof got[0] === "object" && got[0].mechanism,
          mech,
          `${JSON.stringify(got)}\n${r.out}`,
        );
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(server.bindings.slice(bindingsBefore), binding ? [binding] : []);
      });
    }

    void test("a wrong password is refused", async () => {
      const before = server.results.length;
      const r = await gsasl(server.port, ["-m", "SCRAM-SHA-256-PLUS", "-p", "not it"]);
      assert.notEqual(r.code, 0);
      assert.match(JSON.stringify(server.results.slice(before)[0]), /^"bad-credentials/);
    });
  },
);
