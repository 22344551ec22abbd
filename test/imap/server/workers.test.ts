// IMAP sessions in session processes (server.workers = 2, src/server/workers.ts): the main
// process accepts and hands each connection to the least busy process, so two connections
// opened one after the other are served by different processes; /metrics adds up theirs. A change made in one reaches
// IDLE in the other at once, and so does a delivery made by the main process (asserted within
// 300 ms here, where other test files load both cores and the processes are cold; the bench
// measures the real delay); failed
// logins count over all processes; a killed process is replaced; the stop says BYE.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import { message, PASSWORD, startImap, type ImapFixture } from "./helpers.ts";

const LATE = 300;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("IMAP sessions in two session processes", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ workers: 2, limits: { authFailuresPerIp: 3 } });
  });
  after(async () => f.stop());

  test("two processes serve, and one's APPEND, STORE and EXPUNGE reach IDLE in the other", async () => {
    assert.equal(f.server.workerPids().length, 2);
    await f.server.ctx.store.createMailbox(f.account.id, { name: "Shared" });
    await f.deliver(message("first"), "Shared");
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd("SELECT Shared");
    await b.cmd("SELECT Shared");
    const tag = a.takeTag();
    a.write(`${tag} IDLE\r\n`);
    await a.waitFor(/^\+ idling/);

    const m = message("second");
    let t0 = Date.now();
    await b.cmd(`APPEND Shared {${Buffer.byteLength(m)}+}\r\n${m}`);
    assert.match(await a.waitFor(/EXISTS/, 1000), /\* 2 EXISTS\r\n/);
    assert.ok(Date.now() - t0 < LATE, `EXISTS after ${Date.now() - t0} ms`);

    t0 = Date.now();
    await b.cmd("STORE 1 +FLAGS (\\Flagged)");
    assert.match(await a.waitFor(/FETCH/, 1000), /\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)\r\n/);
    assert.ok(Date.now() - t0 < LATE, `FETCH after ${Date.now() - t0} ms`);

    t0 = Date.now();
    await b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    assert.match(await a.waitFor(/EXPUNGE/, 1000), /\* 1 EXPUNGE\r\n/);
    assert.ok(Date.now() - t0 < LATE, `EXPUNGE after ${Date.now() - t0} ms`);

    // A delivery made by the main process (SMTP/LMTP ingest) reaches both processes.
    t0 = Date.now();
    await f.deliver(message("third"), "Shared");
    assert.match(await a.waitFor(/EXISTS/, 1000), /\* 2 EXISTS\r\n/);
    assert.ok(Date.now() - t0 < LATE, `delivery EXISTS after ${Date.now() - t0} ms`);
    assert.match(await b.cmd("NOOP"), /\* 2 EXISTS\r\n/);

    a.write("DONE\r\n");
    assert.match(await a.tagged(tag), /OK IDLE terminated/);
    // The UIDs both processes saw are the store's: no UID given twice.
    const ua = await a.cmd("UID SEARCH ALL");
    const ub = await b.cmd("UID SEARCH ALL");
    assert.match(ua, /\* SEARCH 2 3\r\n/);
    assert.match(ub, /\* SEARCH 2 3\r\n/);
    a.close();
    b.close();

    // /metrics of the main process adds up the session processes' counters; connections are
    // counted once, where they were accepted.
    const text = await f.server.ctx.metrics.text();
    assert.match(text, /mailroom_messages_ingested_total\{source="imap-append"\} 1\n/);
    const conns = /mailroom_connections_total\{service="imap"\} (\d+)/.exec(text);
    assert.equal(conns?.[1], "2", text);
  });

  test("implicit TLS is handed over before the handshake", async () => {
    const c = new ImapFlow({
      host: "127.0.0.1",
      port: f.tlsPort,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: f.user, pass: PASSWORD },
      logger: false,
    });
    await c.connect();
    const st = await c.status("INBOX", { messages: true });
    assert.ok(st !== false && typeof st.messages === "number");
    await c.logout();
  });

  test("a session process that dies is replaced; the other keeps serving", async () => {
    const [first, second] = f.server.workerPids();
    assert.ok(first !== undefined && second !== undefined);
    process.kill(first, "SIGKILL");
    await until(() => !alive(first), 5000, "the killed process exits");
    // Meanwhile (the replacement starts after a second) new connections go to the other one.
    const c = await f.raw();
    assert.match(await c.cmd("NOOP"), /^A\d+ OK/m);
    c.close();
    await until(() => f.server.workerPids().length === 2, 10_000, "a new session process");
    const pids = f.server.workerPids();
    assert.ok(!pids.includes(first), "the dead process is gone");
    assert.ok(pids.includes(second), "the other one kept running");
  });

  test("failed logins count over every process (limits.authFailuresPerIp)", async () => {
    // Three failures on three connections (served by both processes), then even the right
    // password is answered NO [UNAVAILABLE] for this address.
    for (let i = 0; i < 3; i++) {
      const c = await f.raw({ login: false });
      assert.match(await c.cmd(`LOGIN "${f.user}" "wrong ${i}"`), /^A1 NO /m);
      c.close();
    }
    for (let i = 0; i < 2; i++) {
      const c = await f.raw({ login: false });
      assert.match(await c.cmd(`LOGIN "${f.user}" "${PASSWORD}"`), /^A1 NO \[UNAVAILABLE\]/m);
      c.close();
    }
  });
});

describe("stopping a server with session processes", () => {
  test("open sessions get * BYE and every session process exits", async () => {
    const f = await startImap({ workers: 2 });
    const pids = f.server.workerPids();
    const a = await f.raw();
    const b = await f.raw();
    await a.cmd("SELECT INBOX");
    const tag = a.takeTag();
    a.write(`${tag} IDLE\r\n`);
    await a.waitFor(/^\+ idling/);
    const stopped = f.server.stop({ graceMs: 2000 });
    assert.match(await a.waitFor(/BYE/, 5000), /\* BYE/);
    assert.match(await b.waitFor(/BYE/, 5000), /\* BYE/);
    await stopped;
    await f.stop();
    for (const p of pids) assert.equal(alive(p), false, `session process ${p} exited`);
  });
});
