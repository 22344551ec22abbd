// Interoperability with Python's poplib (Debian's /usr/bin/python3): retrieve and keep,
// STLS and pop3s with an unverified context, TOP, UIDL, CAPA, AUTH-less USER/PASS, UTF8
// (RFC 6856: with it the UTF-8 header comes as stored, without it downgraded), delete.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { message, PASSWORD, startPop3, type Pop3Fixture } from "./helpers.ts";

const run = promisify(execFile);
const PY = "/usr/bin/python3";

const SCRIPT = String.raw`
import json, poplib, ssl, sys
mode, host, port, user, password = sys.argv[1], "127.0.0.1", int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode in ("pop3s", "delete"):
    p = poplib.POP3_SSL(host, port, context=ctx, timeout=10)
else:
    p = poplib.POP3(host, port, timeout=10)
out = {"welcome": p.getwelcome().decode()}
out["capa"] = {k: v for k, v in p.capa().items()}
if mode == "stls":
    p.stls(context=ctx)
    out["capa_tls"] = sorted(p.capa().keys())
if mode in ("stls", "pop3s"):
    out["utf8"] = p.utf8().decode()
p.user(user)
p.pass_(password)
count, size = p.stat()
out["stat"] = [count, size]
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["messages"] = []
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    out["messages"].append(b"\r\n".join(lines).decode("utf-8") + "\r\n")
if count:
    out["top0"] = b"\r\n".join(p.top(1, 0)[1]).decode()
if mode == "delete":
    for i in range(1, count + 1):
        p.dele(i)
out["quit"] = p.quit().decode()
print(json.dumps(out))
`;

interface PyOut {
  welcome: string;
  capa: Record<string, string[]>;
  capa_tls?: string[];
  stat: [number, number];
  list: string[];
  uidl: string[];
  messages: string[];
  top0?: string;
  utf8?: string;
  quit: string;
}

async function poplib(mode: string, port: number, user: string): Promise<PyOut> {
  const { stdout } = await run(PY, ["-c", SCRIPT, mode, String(port), user, PASSWORD], { timeout: 20_000 });
  return JSON.parse(stdout) as PyOut;
}


void describe("Python poplib against the POP3 server", () => {
  let f: Pop3Fixture;
  const sent: string[] = [];
  before(async () => {
    f = await startPop3({ allowPlaintext: false });
    sent.push(message("hello", ["first message", ".with a dot line", "end"]));
    sent.push(message("héllo ünïcode", ["Grüße"], ["Content-Type: text/plain; charset=utf-8"]));
    for (const m of sent) await f.deliver(m);
  });
  after(async () => {
    await f.stop();
  });

  void test("STLS, retrieve and keep: bytes, sizes, UIDL, TOP, CAPA", async () => {
    const out = await poplib("stls", f.pop3Port, f.user);
    assert.match(out.welcome, /^\+OK/);
    assert.equal(out.utf8, "+OK UTF8 enabled");
    assert.ok("STLS" in out.capa && !("USER" in out.capa));
    assert.ok(out.capa_tls?.includes("USER") && !out.capa_tls.includes("STLS"));
    assert.deepEqual(out.messages, sent);
    assert.equal(out.stat[0], 2);
    assert.equal(
      out.stat[1],
      sent.reduce((n, m) => n + Buffer.byteLength(m), 0),
    );
    assert.deepEqual(
      out.list,
      sent.map((m, i) => `${i + 1} ${Buffer.byteLength(m)}`),
    );
    assert.equal(out.uidl.length, 2);
    assert.equal(out.top0, `${sent[0]?.split("\r\n\r\n")[0]}\r\n`);
    // Kept: a second session sees the same messages and UIDLs.
    const again = await poplib("pop3s", f.pop3sPort, f.user);
    assert.deepEqual(again.uidl, out.uidl);
    assert.deepEqual(again.messages, sent);
  });

  void test("pop3s, retrieve and delete: the INBOX is empty afterwards", async () => {
    const out = await poplib("delete", f.pop3sPort, f.user);
    assert.equal(out.messages.length, 2);
    // No UTF8 command: the UTF-8 Subject comes as an RFC 2047 encoded-word (RFC 6857).
    assert.equal(out.messages[0], sent[0]);
    assert.equal(
      out.messages[1],
      sent[1]?.replace("Subject: héllo ünïcode", "Subject: =?UTF-8?B?aMOpbGxvIMO8bsOvY29kZQ==?="),
    );
    assert.match(out.quit, /^\+OK/);
    const store = f.server.ctx.store;
    const inbox = (await store.listMailboxes(f.account.id)).find((b) => b.role === "inbox");
    assert.equal((await store.listMessages(f.account.id, inbox?.id ?? "")).length, 0);
    const empty = await poplib("pop3s", f.pop3sPort, f.user);
    assert.deepEqual(empty.stat, [0, 0]);
  });

  void test("plaintext USER before STLS is refused", async () => {
    await assert.rejects(poplib("plain", f.pop3Port, f.user), /\[AUTH\]/);
  });
});
