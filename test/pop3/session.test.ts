// The POP3 server over real sockets with a byte-exact client: RFC 1939 commands, CAPA,
// dot-stuffing, TOP, pipelining, UIDL stability, the maildrop lock, UPDATE semantics and
// what IMAP would see (store changes), limits and errors.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChangeEvent } from "../../src/store/types.ts";
import { message, RawPop3, startPop3, type Pop3Fixture } from "./helpers.ts";

const DOTTY = [
  "From: Bob <bob@example.test>",
  "To: alice@example.test",
  "Subject: dots",
  "",
  ".starts with a dot",
  "..two dots",
  ".",
  "plain line",
  ". space",
  "",
].join("\r\n");

void describe("POP3 session (raw client)", () => {
  let f: Pop3Fixture;
  let uids: number[] = [];
  before(async () => {
    f = await startPop3();
    uids = [];
    uids.push(await f.deliver(message("first", ["line one", "line two", "line three"])));
    uids.push(await f.deliver(DOTTY));
    uids.push(await f.deliver(message("third")));
  });
  after(async () => {
    await f.stop();
  });

  void test("greeting and CAPA before login", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    assert.match((await c.line()) ?? "", /^\+OK /);
    const { status, body } = await c.multi("CAPA");
    assert.match(status, /^\+OK/);
    const caps = body.toString().split("\r\n").slice(0, -2);
    for (const cap of [
      "TOP",
      "UIDL",
      "USER",
      "RESP-CODES",
      "AUTH-RESP-CODE",
      "PIPELINING",
      "STLS",
      "UTF8 USER",
    ]) {
      assert.ok(caps.includes(cap), `${cap} in ${caps.join("|")}`);
    }
    assert.ok(caps.includes("EXPIRE NEVER") && caps.includes("LOGIN-DELAY 0"));
    assert.ok(caps.some((x) => x.startsWith("IMPLEMENTATION ")));
    const sasl = caps.find((x) => x.startsWith("SASL "));
    assert.ok(sasl?.includes("PLAIN") && sasl.includes("SCRAM-SHA-256"), sasl);
    assert.equal(await c.cmd("QUIT"), "+OK bye");
    await c.closed();
  });

  void test("STAT, LIST, UIDL, RETR byte-exact with dot-stuffing, TOP", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.login(f.user), /^\+OK maildrop has 3 messages/);
    const stat = await c.cmd("STAT");
    const m = /^\+OK (\d+) (\d+)$/.exec(stat);
    assert.ok(m, stat);
    assert.equal(m[1], "3");
    const list = await c.multi("LIST");
    const sizes = list.body.toString().split("\r\n").slice(0, 3);
    assert.equal(sizes[1], `2 ${Buffer.byteLength(DOTTY)}`);
    assert.equal(
      Number(m[2]),
      sizes.reduce((n, l) => n + Number(l.split(" ")[1]), 0),
    );
    assert.equal(await c.cmd("LIST 2"), `+OK 2 ${Buffer.byteLength(DOTTY)}`);
    assert.match(await c.cmd("LIST 9"), /^-ERR /);

    const retr = await c.multi("RETR 2");
    assert.equal(retr.status, `+OK ${Buffer.byteLength(DOTTY)} octets`);
    const expected = DOTTY.replace(/^\./gm, "..") + ".\r\n";
    assert.equal(retr.body.toString(), expected);

    // RFC 1939 §7: TOP n 0 is exactly the header and the blank line.
    const top0 = await c.multi("TOP 1 0");
    const first = message("x", ["line one"]); // same header shape; compare with the stored one
    assert.ok(first.length > 0);
    const header = top0.body.toString();
    assert.ok(header.endsWith("\r\n\r\n.\r\n"), JSON.stringify(header));
    assert.ok(header.startsWith("From: Bob"));
    assert.ok(!header.includes("line one"));
    const top2 = await c.multi("TOP 1 2");
    assert.ok(top2.body.toString().endsWith("\r\n\r\nline one\r\nline two\r\n.\r\n"));
    const topDots = await c.multi("TOP 2 1");
    assert.ok(topDots.body.toString().endsWith("\r\n\r\n..starts with a dot\r\n.\r\n"));

    const uidl = await c.multi("UIDL");
    const lines = uidl.body.toString().split("\r\n").slice(0, 3);
    const mb = (await f.server.ctx.store.listMailboxes(f.account.id)).find((b) => b.role === "inbox");
    assert.deepEqual(
      lines,
      uids.map((u, i) => `${i + 1} ${mb?.uidValidity}.${u}`),
    );
    assert.equal(await c.cmd("UIDL 3"), `+OK 3 ${mb?.uidValidity}.${uids[2]}`);
    assert.equal(await c.cmd("NOOP"), "+OK");
    assert.match(await c.cmd("QUIT"), /^\+OK bye, 0 messages deleted, 3 left/);
    await c.closed();
  });

  void test("pipelined commands are answered in order", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    c.write(`USER ${f.user}\r\nPASS s3cret pass\r\nSTAT\r\nUIDL 1\r\nRETR 3\r\nLIST 1\r\nQUIT\r\n`);
    assert.equal(await c.line(), "+OK send PASS");
    assert.match((await c.line()) ?? "", /^\+OK maildrop has 3/);
    assert.match((await c.line()) ?? "", /^\+OK 3 \d+$/);
    assert.match((await c.line()) ?? "", /^\+OK 1 \d+\.\d+$/);
    assert.match((await c.line()) ?? "", /^\+OK \d+ octets$/);
    assert.match((await c.body()).toString(), /Subject: third/);
    assert.match((await c.line()) ?? "", /^\+OK 1 \d+$/);
    assert.match((await c.line()) ?? "", /^\+OK bye/);
    await c.closed();
  });

  void test("UIDLs are equal across two sessions", async () => {
    const get = async (): Promise<string> => {
      const c = await RawPop3.connect(f.pop3Port);
      await c.line();
      await c.login(f.user);
      const r = (await c.multi("UIDL")).body.toString();
      await c.cmd("QUIT");
      return r;
    };
    const a = await get();
    const b = await get();
    assert.equal(a, b);
    assert.equal(a.split("\r\n").length, 5);
  });

  void test("a second session on the maildrop gets [IN-USE]; after QUIT it may log in", async () => {
    const one = await RawPop3.connect(f.pop3Port);
    await one.line();
    assert.match(await one.login(f.user), /^\+OK/);
    const two = await RawPop3.connect(f.pop3Port);
    await two.line();
    assert.match(await two.login(f.user), /^-ERR \[IN-USE\] /);
    // Still in AUTHORIZATION (RFC 1939 §7 PASS): STAT is refused.
    assert.match(await two.cmd("STAT"), /^-ERR /);
    await one.cmd("QUIT");
    await one.closed();
    assert.match(await two.login(f.user), /^\+OK maildrop/);
    await two.cmd("QUIT");
  });

  void test("a dropped connection deletes nothing and releases the lock", async () => {
    const events: ChangeEvent[] = [];
    const unsub = f.server.ctx.store.changes.subscribe(f.account.id, (e) => events.push(e));
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    await c.login(f.user);
    assert.equal(await c.cmd("DELE 1"), "+OK message 1 deleted");
    assert.match(await c.cmd("DELE 1"), /^-ERR message 1 already deleted/);
    assert.match(await c.cmd("RETR 1"), /^-ERR /);
    assert.match(await c.cmd("STAT"), /^\+OK 2 /);
    c.destroy();
    await c.closed();
    const d = await RawPop3.connect(f.pop3Port);
    await d.line();
    let r = "";
    for (let i = 0; i < 20; i++) {
      r = await d.login(f.user);
      if (!r.includes("IN-USE")) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    assert.match(r, /^\+OK maildrop has 3 messages/);
    await d.cmd("QUIT");
    unsub();
    assert.equal(events.length, 0);
  });

  void test("RSET unmarks; QUIT expunges atomically and publishes the change (IMAP sees EXPUNGE)", async () => {
    const store = f.server.ctx.store;
    const inbox = (await store.listMailboxes(f.account.id)).find((b) => b.role === "inbox");
    assert.ok(inbox);
    const extra = [await f.deliver(message("gone-1")), await f.deliver(message("gone-2"))];
    const before = await store.listMessages(f.account.id, inbox.id);
    const events: ChangeEvent[] = [];
    const unsub = store.changes.subscribe(f.account.id, (e) => events.push(e));
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.login(f.user), /has 5 messages/);
    await c.cmd("DELE 1");
    assert.match(await c.cmd("RSET"), /^\+OK maildrop has 5 messages/);
    assert.equal(await c.cmd("DELE 4"), "+OK message 4 deleted");
    assert.equal(await c.cmd("DELE 5"), "+OK message 5 deleted");
    assert.equal(events.length, 0, "nothing happens before QUIT");
    assert.match(await c.cmd("QUIT"), /^\+OK bye, 2 messages deleted, 3 left/);
    await c.closed();
    unsub();
    const afterRows = await store.listMessages(f.account.id, inbox.id);
    assert.equal(afterRows.length, before.length - 2);
    assert.ok(!afterRows.some((r) => extra.includes(r.uid)));
    assert.equal(events.length, 1, "one atomic change");
    assert.ok(events[0]?.mailboxIds.includes(inbox.id));
    const gone = await store.expungedSince(f.account.id, inbox.id, 0);
    assert.deepEqual(gone.filter((u) => extra.includes(u)).sort(), [...extra].sort());
  });

  void test("errors: unknown commands, wrong state, bad arguments, wrong password, long lines", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.cmd("FOO"), /^-ERR unknown command FOO/);
    assert.match(await c.cmd("STAT"), /^-ERR STAT is not valid in the AUTHORIZATION state/);
    assert.match(await c.cmd("PASS x"), /^-ERR send USER first/);
    assert.match(await c.cmd("APOP alice 0123456789abcdef0123456789abcdef"), /^-ERR \[AUTH\]/);
    await c.cmd("USER nobody@example.test");
    assert.match(await c.cmd("PASS wrong"), /^-ERR \[AUTH\] /);
    assert.match(await c.cmd(`X${"a".repeat(400)}`), /^-ERR command line too long/);
    assert.match(await c.login(f.user), /^\+OK maildrop/);
    assert.match(await c.cmd("RETR 0"), /^-ERR invalid message number/);
    assert.match(await c.cmd("RETR x"), /^-ERR invalid message number/);
    assert.match(await c.cmd("TOP 1"), /^-ERR TOP needs/);
    assert.match(await c.cmd("USER bob"), /^-ERR USER is not valid in the TRANSACTION state/);
    assert.match(await c.cmd("STLS"), /^-ERR /);
    await c.cmd("QUIT");
  });

  void test("too many failed logins close the connection", async () => {
    const victim = await f.addAccount("mallory@example.test");
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    assert.match(await c.login(victim.name, "bad1"), /^-ERR \[AUTH\]/);
    assert.match(await c.login(victim.name, "bad2"), /^-ERR \[AUTH\]/);
    assert.match(await c.login(victim.name, "bad3"), /^-ERR \[AUTH\]/);
    assert.match((await c.line()) ?? "", /^-ERR \[AUTH\] too many failed/);
    await c.closed();
  });

  void test("AUTH PLAIN with and without initial response, cancel, listing", async () => {
    const plain = Buffer.from(`\0${f.user}\0s3cret pass`).toString("base64");
    const a = await RawPop3.connect(f.pop3Port);
    await a.line();
    const list = await a.multi("AUTH");
    assert.match(list.body.toString(), /PLAIN\r\n/);
    assert.equal(await a.cmd("AUTH PLAIN"), "+ ");
    assert.equal(await a.cmd("*"), "-ERR authentication cancelled");
    assert.match(await a.cmd(`AUTH PLAIN ${plain}`), /^\+OK maildrop/);
    await a.cmd("QUIT");
    await a.closed();

    const b = await RawPop3.connect(f.pop3Port);
    await b.line();
    assert.equal(await b.cmd("AUTH plain"), "+ ");
    assert.match(await b.cmd(plain), /^\+OK maildrop/);
    await b.cmd("QUIT");
    await b.closed();

    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    const nope = Buffer.from("\0nobody@example.test\0nope").toString("base64");
    assert.match(await c.cmd(`AUTH PLAIN ${nope}`), /^-ERR \[AUTH\]/);
    assert.match(await c.cmd("AUTH NOSUCH"), /^-ERR /);
    assert.match(await c.cmd("AUTH PLAIN !!!"), /^-ERR /);
    await c.cmd("QUIT");
  });

  void test("implicit TLS on pop3s", async () => {
    const c = await RawPop3.connectTls(f.pop3sPort);
    assert.match((await c.line()) ?? "", /^\+OK/);
    const caps = (await c.multi("CAPA")).body.toString();
    assert.ok(!caps.includes("STLS"));
    assert.ok(caps.includes("SCRAM-SHA-256-PLUS") || caps.includes("SCRAM-SHA-256"));
    assert.match(await c.login(f.user), /^\+OK maildrop/);
    assert.match(await c.cmd("STAT"), /^\+OK 3 /);
    await c.cmd("QUIT");
  });
});

void describe("POP3 without plaintext before TLS", () => {
  let f: Pop3Fixture;
  before(async () => {
    f = await startPop3({ allowPlaintext: false });
    await f.deliver(message("secure"));
  });
  after(async () => {
    await f.stop();
  });

  void test("USER/PASS and PLAIN are refused with [AUTH] until STLS; pipelined input after STLS is dropped", async () => {
    const c = await RawPop3.connect(f.pop3Port);
    await c.line();
    const caps = (await c.multi("CAPA")).body.toString().split("\r\n");
    assert.ok(!caps.includes("USER"));
    assert.ok(!caps.some((x) => x.startsWith("SASL") && x.includes("PLAIN")));
    assert.ok(caps.includes("STLS"));
    assert.match(await c.cmd(`USER ${f.user}`), /^-ERR \[AUTH\] plaintext/);
    assert.match(await c.cmd("AUTH PLAIN"), /^-ERR \[AUTH\] plaintext/);
    // An attacker's injected command after STLS must not run (RFC 2595 §4, CVE-2011-0411).
    c.write("STLS\r\nUSER injected\r\n");
    assert.equal(await c.line(), "+OK Begin TLS negotiation");
    await c.startTls();
    assert.match(await c.cmd("PASS s3cret pass"), /^-ERR send USER first/);
    const after = (await c.multi("CAPA")).body.toString().split("\r\n");
    assert.ok(after.includes("USER") && !after.includes("STLS"));
    assert.match(await c.login(f.user), /^\+OK maildrop has 1 messages/);
    await c.cmd("QUIT");
  });
});

void describe("POP3 error limit", () => {
  void test("the connection closes after maxErrors bad commands", async () => {
    const f = await startPop3({ pop3: { maxErrors: 3 } });
    try {
      const c = await RawPop3.connect(f.pop3Port);
      await c.line();
      assert.match(await c.cmd("BAD1"), /^-ERR unknown command/);
      assert.match(await c.cmd("STAT"), /^-ERR /);
      assert.match(await c.cmd("RETR"), /^-ERR /);
      assert.match((await c.line()) ?? "", /^-ERR too many errors/);
      await c.closed();
    } finally {
      await f.stop();
    }
  });
});

void describe("POP3 timeouts and shutdown", () => {
  void test("idle autologout deletes nothing; shutdown says [SYS/TEMP]", async () => {
    const f = await startPop3({ pop3: { idleTimeoutMs: 300 } });
    try {
      await f.deliver(message("kept"));
      const c = await RawPop3.connect(f.pop3Port);
      await c.line();
      await c.login(f.user);
      await c.cmd("DELE 1");
      assert.match((await c.line(3000)) ?? "", /^-ERR autologout/);
      await c.closed();
      const inbox = (await f.server.ctx.store.listMailboxes(f.account.id)).find((b) => b.role === "inbox");
      assert.equal((await f.server.ctx.store.listMessages(f.account.id, inbox?.id ?? "")).length, 1);

      const d = await RawPop3.connect(f.pop3Port);
      await d.line();
      const stopping = f.server.stop({ graceMs: 2000 });
      assert.match((await d.line()) ?? "", /^-ERR \[SYS\/TEMP\] server shutting down/);
      await d.closed();
      await stopping;
    } finally {
      await f.stop();
    }
  });
});
