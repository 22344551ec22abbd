// The reader and serializer over a real socket on 127.0.0.1: the synchronizing literal flow
// (RFC 9051 §7.5), a refused literal, a large FETCH literal written as chunks, garbage → BYE.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { CommandReader } from "../../../src/protocols/imap/wire/reader.ts";
import { parseCommand } from "../../../src/protocols/imap/wire/parser.ts";
import { continuation, fetchBodySection, fetchResponse, tagged, untaggedStatus } from "../../../src/protocols/imap/wire/serializer.ts";

const BIG = Buffer.alloc(300_000, 0x78);
let server: net.Server;
let port = 0;

// a tiny session: answers each command from its parsed arguments
function session(sock: net.Socket): void {
  const reader = new CommandReader({ maxLiteralSize: 1000, maxArgLiteralSize: 100 });
  sock.write(untaggedStatus("OK", "ready"));
  sock.on("data", (chunk: Buffer) => {
    reader.push(chunk);
    for (let e = reader.next(); e !== null; e = reader.next()) {
      if (e.type === "continue") sock.write(continuation());
      else if (e.type === "bye") {
        sock.end(untaggedStatus("BYE", e.text));
        return;
      } else if (e.type === "error") sock.write(e.tag === null ? untaggedStatus(e.status === "NO" ? "NO" : "BAD", e.text) : tagged(e.tag, e.status, e.text, e.code === null ? null : { code: e.code }));
      else if (e.type === "command") {
        const r = parseCommand(e.command);
        if (!r.ok) sock.write(r.tag === null ? untaggedStatus("BAD", r.error.message) : tagged(r.tag, "BAD", r.error.message));
        else if (r.command.args.type === "append") sock.write(tagged(r.command.tag, "OK", `got ${r.command.args.messages[0]?.data.length} octets`));
        else if (r.command.args.type === "fetch") {
          for (const c of fetchResponse(1, [fetchBodySection({ part: [], text: null, fields: [] }, null, BIG)], { utf8: false })) sock.write(c);
          sock.write(tagged(r.command.tag, "OK", "FETCH done"));
        } else sock.write(tagged(r.command.tag, "OK", r.command.name));
      }
    }
  });
  sock.on("error", () => {});
}

before(async () => {
  server = net.createServer(session);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as net.AddressInfo).port;
});

after(() => {
  server.close();
});

/** A client that reads until `until` matches the text received so far. */
async function client(): Promise<{ send: (s: string | Buffer) => void; read: (until: RegExp) => Promise<string>; close: () => void }> {
  const sock = net.connect(port, "127.0.0.1");
  await once(sock, "connect");
  let buf = "";
  const waiters: Array<() => void> = [];
  sock.on("data", (d: Buffer) => {
    buf += d.toString("latin1");
    for (const w of waiters.splice(0)) w();
  });
  const read = async (until: RegExp): Promise<string> => {
    const deadline = Date.now() + 3000;
    while (!until.test(buf)) {
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${until}; got ${JSON.stringify(buf.slice(-200))}`);
      await new Promise<void>((res) => {
        waiters.push(res);
        setTimeout(res, 50);
      });
    }
    const out = buf;
    buf = "";
    return out;
  };
  return { send: (s) => sock.write(s), read, close: () => sock.destroy() };
}

describe("over a socket", () => {
  test("synchronizing literal: + Ready, then the bytes, then the tagged reply", async () => {
    const c = await client();
    await c.read(/\* OK ready\r\n/);
    c.send("a1 APPEND INBOX {11}\r\n");
    assert.equal(await c.read(/\+ Ready\r\n/), "+ Ready\r\n");
    c.send("Hello World\r\n");
    assert.equal(await c.read(/a1 .*\r\n/), "a1 OK got 11 octets\r\n");
    c.close();
  });

  test("a literal over the APPENDLIMIT is refused before it is sent; the session goes on", async () => {
    const c = await client();
    await c.read(/ready/);
    c.send("a1 APPEND INBOX {5000}\r\n");
    assert.equal(await c.read(/a1 .*\r\n/), "a1 NO [TOOBIG] Literal larger than the limit of 1000 octets\r\n");
    c.send("a2 NOOP\r\n");
    assert.equal(await c.read(/a2 .*\r\n/), "a2 OK NOOP\r\n");
    c.close();
  });

  test("a large FETCH literal arrives whole", async () => {
    const c = await client();
    await c.read(/ready/);
    c.send("f1 FETCH 1 BODY[]\r\n");
    const got = await c.read(/f1 OK FETCH done\r\n/);
    assert.ok(got.startsWith("* 1 FETCH (BODY[] {300000}\r\nxxx"));
    assert.equal(got.length, "* 1 FETCH (BODY[] {300000}\r\n".length + 300_000 + ")\r\n".length + "f1 OK FETCH done\r\n".length);
    c.close();
  });

  test("a garbage first line gets * BYE and the connection closes", async () => {
    const c = await client();
    await c.read(/ready/);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(await c.read(/BYE.*\r\n/), "* BYE This is an IMAP server\r\n");
    c.close();
  });
});
