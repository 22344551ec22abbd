// Greeting, CAPABILITY, LOGIN, AUTHENTICATE (SASL-IR and continuation), LOGINDISABLED before
// TLS, STARTTLS with discarded pipelined input, states, LOGOUT and the graceful stop.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
import { once } from "node:events";
import { PASSWORD, RawImap, startImap, type ImapFixture } from "./helpers.ts";

function plain(user: string, pass: string): string {
  return Buffer.from(`\0${user}\0${pass}`).toString("base64");
}

describe("IMAP authentication and states", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
  });
  after(async () => f.stop());

  test("greeting carries capabilities; LOGIN gives the new ones", async () => {
    const c = await RawImap.connect(f.port);
    const g = await c.greeting();
    assert.match(g, /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS .*AUTH=PLAIN.*SASL-IR.*\] /);
    const r = await c.cmd(`LOGIN ${f.user} "${PASSWORD}"`);
    assert.match(r, /^A1 OK \[CAPABILITY IMAP4rev1 IMAP4rev2 .*IDLE/);
    assert.doesNotMatch(r, /AUTH=/);
    c.close();
  });

  test("bad password is NO [AUTHENTICATIONFAILED]; commands need the right state", async () => {
    const c = await f.raw({ login: false });
    assert.match(await c.cmd("SELECT INBOX"), /^A1 BAD \[CLIENTBUG\]/);
    assert.match(await c.cmd(`LOGIN ${f.user} wrong`), /^A2 NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd("FETCH 1 FLAGS"), /^A3 BAD/);
    assert.match(await c.cmd("FOO"), /^A4 BAD/);
    c.close();
  });

  test("AUTHENTICATE PLAIN with an initial response and with a continuation", async () => {
    const c = await f.raw({ login: false });
    assert.match(await c.cmd(`AUTHENTICATE PLAIN ${plain(f.user, PASSWORD)}`), /^A1 OK \[CAPABILITY /);
    c.close();
    const d = await f.raw({ login: false });
    const tag = d.takeTag();
    d.write(`${tag} AUTHENTICATE PLAIN\r\n`);
    assert.match(await d.waitFor(/^\+/), /^\+ \r\n$/);
    d.write(plain(f.user, PASSWORD) + "\r\n");
    assert.match(await d.tagged(tag), /^A1 OK/);
    const e = await f.raw({ login: false });
    const t2 = e.takeTag();
    e.write(`${t2} AUTHENTICATE PLAIN\r\n`);
    await e.waitFor(/^\+/);
    e.write("*\r\n");
    assert.match(await e.tagged(t2), /^A1 BAD/);
    assert.match(await e.cmd("NOOP"), /^A2 OK/);
    d.close();
    e.close();
  });

  test("LOGOUT sends BYE then the tagged OK and closes", async () => {
    const c = await f.raw();
    const r = await c.cmd("LOGOUT");
    assert.match(r, /^\* BYE .*\r\nA2 OK LOGOUT/);
    await once(c.socket, "close");
  });

  test("UNAUTHENTICATE returns to the not authenticated state", async () => {
    const c = await f.raw();
    await c.cmd("ENABLE UTF8=ACCEPT");
    await c.cmd("SELECT INBOX");
    assert.match(await c.cmd("UNAUTHENTICATE"), /^A4 OK/);
    assert.match(await c.cmd("SELECT INBOX"), /^A5 BAD/);
    assert.match(await c.cmd("CAPABILITY"), /AUTH=PLAIN/);
    assert.match(await c.cmd(`LOGIN ${f.user} "${PASSWORD}"`), /^A7 OK/);
    assert.match(await c.cmd("ENABLE UTF8=ACCEPT"), /\* ENABLED UTF8=ACCEPT\r\n/);
    c.close();
  });

  test("a garbage first line gets * BYE", async () => {
    const c = await RawImap.connect(f.port);
    await c.greeting();
    c.write("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n");
    assert.match(await c.waitFor(/BYE/), /^\* BYE/);
  });

  test("implicit TLS on imaps", async () => {
    const s = tlsConnect({ port: f.tlsPort, host: "127.0.0.1", rejectUnauthorized: false });
    await once(s, "secureConnect");
    const c = new RawImap(s);
    assert.match(await c.greeting(), /^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    assert.doesNotMatch(await c.cmd("CAPABILITY"), /STARTTLS|LOGINDISABLED/);
    assert.match(await c.cmd(`LOGIN ${f.user} "${PASSWORD}"`), /^A2 OK/);
    c.close();
  });
});

describe("IMAP without plaintext before TLS", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ allowPlaintext: false });
  });
  after(async () => f.stop());

  test("LOGINDISABLED, LOGIN refused; STARTTLS discards pipelined input, then LOGIN works", async () => {
    const c = await RawImap.connect(f.port);
    const g = await c.greeting();
    assert.match(g, /LOGINDISABLED/);
    assert.doesNotMatch(g, /AUTH=PLAIN/);
    assert.match(await c.cmd(`LOGIN ${f.user} "${PASSWORD}"`), /^A1 NO \[PRIVACYREQUIRED\]/);
    const tag = c.takeTag();
    // the injected NOOP after STARTTLS must never run (RFC 9051 §6.2.1)
    c.write(`${tag} STARTTLS\r\nX1 NOOP\r\n`);
    assert.match(await c.tagged(tag), /^A2 OK/);
    c.socket.removeAllListeners("data");
    const s = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
    await once(s, "secureConnect");
    const t = new RawImap(s);
    const caps = await t.cmd("CAPABILITY");
    assert.doesNotMatch(caps, /X1|STARTTLS|LOGINDISABLED/);
    assert.match(caps, /AUTH=PLAIN/);
    assert.match(await t.cmd(`LOGIN ${f.user} "${PASSWORD}"`), /^A2 OK/);
    t.close();
  });

  test("graceful stop says BYE to an idle connection", async () => {
    const c = await RawImap.connect(f.port);
    await c.greeting();
    const stopped = f.server.stop({ graceMs: 2000 });
    assert.match(await c.waitFor(/BYE/), /^\* BYE Server shutting down/);
    await stopped;
  });
});

describe("IMAP limits.maxConnectionsPerUser", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ limits: { maxConnectionsPerUser: 2 } });
  });
  after(async () => f.stop());

  const login = `LOGIN "alice@example.test" "${PASSWORD}"`;
  const plain = Buffer.from(`\0alice@example.test\0${PASSWORD}`).toString("base64");

  test("a login past the limit gets NO [LIMIT] and stays unauthenticated; a slot comes back at LOGOUT and UNAUTHENTICATE", async () => {
    const a = await f.raw();
    const b = await f.raw();
    const c = await f.raw({ login: false });
    assert.match(await c.cmd(login), /^A\d+ NO \[LIMIT\] Too many sessions for this account \(at most 2\)/m);
    assert.match(await c.cmd(`AUTHENTICATE PLAIN ${plain}`), /^A\d+ NO \[LIMIT\]/m);
    // still before authentication: SELECT is not allowed, the connection stands
    assert.match(await c.cmd("SELECT INBOX"), /^A\d+ BAD/m);
    // UNAUTHENTICATE (RFC 8437) gives the slot back
    assert.match(await b.cmd("UNAUTHENTICATE"), /^A\d+ OK/m);
    assert.match(await c.cmd(login), /^A\d+ OK/m);
    assert.match(await b.cmd(login), /^A\d+ NO \[LIMIT\]/m);
    // so does the end of a session
    assert.match(await a.cmd("LOGOUT"), /^A\d+ OK/m);
    let r = "";
    for (let i = 0; i < 50; i++) {
      r = await b.cmd(login);
      if (/^A\d+ OK/m.test(r)) break;
      await new Promise((ok) => setTimeout(ok, 20));
    }
    assert.match(r, /^A\d+ OK/m);
    assert.match(await b.cmd("SELECT INBOX"), /^A\d+ OK/m);
    assert.match(await b.cmd("LOGOUT"), /^A\d+ OK/m);
    assert.match(await c.cmd("LOGOUT"), /^A\d+ OK/m);
  });

  test("imapflow: the login over the limit fails; a client gets in once one leaves", async () => {
    // a slot comes back when the server has seen the connection close: try for a second
    const flow = async (): Promise<Awaited<ReturnType<ImapFixture["flow"]>>> => {
      for (let i = 0; ; i++) {
        try {
          return await f.flow();
        } catch (e) {
          if (i >= 50) throw e;
          await new Promise((ok) => setTimeout(ok, 20));
        }
      }
    };
    const x = await flow();
    const y = await flow();
    await assert.rejects(f.flow());
    await x.logout();
    const z = await flow();
    await y.logout();
    await z.logout();
  });
});
