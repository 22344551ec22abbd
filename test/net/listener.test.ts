import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { connect as tlsConnect, TLSSocket } from "node:tls";
import { ListenerManager, type ConnectionInfo, type ProtocolHandler } from "../../src/net/listener.ts";
import { upgradeToTls } from "../../src/net/tls-upgrade.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { TlsProvider } from "../../src/tls/provider.ts";
import { closed, connectPlain, connectTls, LineReader, listener, startManager, testTls } from "./helpers.ts";

/**
 * A toy line protocol: greets, echoes "250 <line>", "SLOW" is a command that takes `slowMs`,
 * "STARTTLS" upgrades, "INFO" prints the connection info. On shutdown it finishes the
 * command in flight and then says "421 shutting down".
 */
function toy(tls: TlsProvider, slowMs = 300): ProtocolHandler & { infos: ConnectionInfo[]; seen: string[] } {
  const infos: ConnectionInfo[] = [];
  const seen: string[] = [];
  return {
    infos,
    seen,
    tooManyConnections: "421 4.7.0 Too many connections, try later",
    handle(raw: Socket, info: ConnectionInfo) {
      infos.push(info);
      let socket: Socket = raw;
      let buf = "";
      let busy = false;
      let stopping = false;
      const bye = (): void => {
        socket.end("421 shutting down\r\n");
      };
      info.onShutdown(() => {
        stopping = true;
        if (!busy) bye();
      });
      const onData = (d: Buffer): void => {
        buf += d.toString("latin1");
        let i: number;
        while ((i = buf.indexOf("\r\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          seen.push(line);
          if (line === "STARTTLS") {
            // RFC 3207 §4.2: stop reading, drop what was pipelined after the command.
            socket.off("data", onData);
            buf = "";
            upgradeToTls(socket, { tls }, { reply: "220 go ahead\r\n" }).then(
              (t) => {
                socket = t;
                t.on("data", onData);
                t.write("220 secure\r\n");
              },
              () => undefined,
            );
            return;
          }
          if (line === "SLOW") {
            busy = true;
            setTimeout(() => {
              busy = false;
              socket.write("250 slow done\r\n");
              if (stopping) bye();
            }, slowMs);
          } else if (line === "INFO") {
            socket.write(`250 ${JSON.stringify({ ...info, tls: socket instanceof TLSSocket })}\r\n`);
          } else if (line === "QUIT") {
            socket.end("221 bye\r\n");
          } else {
            socket.write(`250 ${line}\r\n`);
          }
        }
      };
      socket.on("data", onData);
      socket.write(`220 ${info.service} ${info.tls ? "tls" : "plain"}\r\n`);
    },
  };
}

void describe("listener manager", () => {
  void test("plain listener hands the connection to the handler with its info", async () => {
    const tls = await testTls();
    const p = toy(tls);
    const { manager, port, metrics } = await startManager({ smtp: listener("smtp", "starttls") }, { smtp: p }, tls);
    try {
      assert.equal(manager.ports()["smtp"]?.host, "127.0.0.1");
      assert.ok(port("smtp") > 0);
      const c = await connectPlain(port("smtp"));
      const r = new LineReader(c);
      assert.equal(await r.line(), "220 smtp plain");
      c.write("HELLO\r\n");
      assert.equal(await r.line(), "250 HELLO");
      const info = p.infos[0]!;
      assert.equal(info.service, "smtp");
      assert.equal(info.listenerName, "smtp");
      assert.equal(info.remoteAddress, "127.0.0.1");
      assert.equal(info.localPort, port("smtp"));
      assert.equal(info.remotePort, c.localPort);
      assert.equal(info.tls, false);
      assert.equal(info.tlsMode, "starttls");
      assert.match(await metrics.text(), /mailroom_connections_active\{service="smtp"\} 1/);
      c.write("QUIT\r\n");
      assert.equal(await r.line(), "221 bye");
      await closed(c);
    } finally {
      await manager.close({ graceMs: 500 });
    }
  });

  void test("services without a protocol and disabled listeners are not started", async () => {
    const tls = await testTls();
    const { manager } = await startManager(
      { imap: listener("imap", "starttls"), smtp: listener("smtp", "none", { enabled: false }), pop3: listener("pop3", "none") },
      { pop3: toy(tls) },
      tls,
    );
    assert.deepEqual(Object.keys(manager.ports()), ["pop3"]);
    await manager.close({ graceMs: 100 });
  });

  void test("implicit TLS listener: handshake first, then the handler gets a TLS socket", async () => {
    const tls = await testTls();
    const p = toy(tls);
    const { manager, port } = await startManager({ imaps: listener("imaps", "implicit") }, { imaps: p }, tls);
    try {
      const c = await connectTls(port("imaps"));
      assert.ok(["TLSv1.2", "TLSv1.3"].includes(c.getProtocol() ?? ""));
      const r = new LineReader(c);
      assert.equal(await r.line(), "220 imaps tls");
      c.write("INFO\r\n");
      const info = JSON.parse((await r.line())!.slice(4)) as { tls: boolean; tlsMode: string };
      assert.equal(info.tls, true);
      assert.equal(info.tlsMode, "implicit");
      c.end();
      await closed(c);
    } finally {
      await manager.close({ graceMs: 500 });
    }
  });

  void test("TLS below the configured minimum is refused (RFC 8996)", async () => {
    const { TlsProvider } = await import("../../src/tls/provider.ts");
    const { generateSelfSigned } = await import("../../src/tls/self-signed.ts");
    const tls = TlsProvider.fromPem(await generateSelfSigned("localhost"), { minVersion: "TLSv1.3" });
    const { manager, port, metrics } = await startManager({ imaps: listener("imaps", "implicit") }, { imaps: toy(tls) }, tls);
    try {
      await assert.rejects(connectTls(port("imaps"), "localhost", { maxVersion: "TLSv1.2" }));
      await new Promise((r) => setTimeout(r, 50));
      assert.match(await metrics.text(), /mailroom_tls_handshake_failures_total\{service="imaps"\} 1/);
    } finally {
      await manager.close({ graceMs: 100 });
    }
  });

  void test("STARTTLS upgrade; plaintext pipelined after the command is not executed", async () => {
    const tls = await testTls();
    const p = toy(tls);
    const { manager, port } = await startManager({ submission: listener("submission", "starttls") }, { submission: p }, tls);
    try {
      const c = await connectPlain(port("submission"));
      const r = new LineReader(c);
      assert.equal(await r.line(), "220 submission plain");
      // Command injection attempt (RFC 3207 §4.2, CVE-2011-0411).
      c.write("STARTTLS\r\nINJECTED\r\n");
      assert.equal(await r.line(), "220 go ahead");
      c.removeAllListeners("data");
      const t = tlsConnect({ socket: c, servername: "localhost", rejectUnauthorized: false });
      await once(t, "secureConnect");
      const tr = new LineReader(t);
      assert.equal(await tr.line(), "220 secure");
      t.write("INFO\r\n");
      const info = JSON.parse((await tr.line())!.slice(4)) as { tls: boolean };
      assert.equal(info.tls, true);
      assert.deepEqual(p.seen, ["STARTTLS", "INFO"], "the injected line never reached the protocol");
      t.end();
      await closed(t);
    } finally {
      await manager.close({ graceMs: 500 });
    }
  });

  void test("a failed STARTTLS handshake rejects and closes", async () => {
    const tls = await testTls();
    const { manager, port } = await startManager(
      { imap: listener("imap", "starttls") },
      {
        imap: (socket) => {
          socket.write("* OK\r\n");
          socket.once("data", () => {
            upgradeToTls(socket, { tls }, { reply: "OK begin\r\n", timeoutMs: 300 }).then(
              () => assert.fail("should not succeed"),
              (e: unknown) => {
                assert.match(String(e), /TLS handshake failed/);
              },
            );
          });
        },
      },
      tls,
    );
    try {
      const c = await connectPlain(port("imap"));
      const r = new LineReader(c);
      await r.line();
      c.write("STARTTLS\r\n");
      assert.equal(await r.line(), "OK begin");
      c.write("this is not a TLS client hello\r\n");
      assert.equal(await r.line(), null);
    } finally {
      await manager.close({ graceMs: 100 });
    }
  });

  void test("per-IP limit: the extra connection gets the protocol's line and is closed", async () => {
    const tls = await testTls();
    const { manager, port, metrics } = await startManager(
      { smtp: listener("smtp", "none", { maxConnectionsPerIp: 2 }) },
      { smtp: toy(tls) },
      tls,
    );
    try {
      const a = await connectPlain(port("smtp"));
      const ra = new LineReader(a);
      assert.equal(await ra.line(), "220 smtp plain");
      const b = await connectPlain(port("smtp"));
      const rb = new LineReader(b);
      assert.equal(await rb.line(), "220 smtp plain");
      const c = await connectPlain(port("smtp"));
      const rc = new LineReader(c);
      assert.equal(await rc.line(), "421 4.7.0 Too many connections, try later");
      assert.equal(await rc.line(), null, "closed after the line");
      assert.match(await metrics.text(), /mailroom_connections_refused_total\{service="smtp",reason="ip_limit"\} 1/);
      // A slot frees up when a connection closes.
      a.end("QUIT\r\n");
      await closed(a);
      await new Promise((r) => setTimeout(r, 50));
      const d = await connectPlain(port("smtp"));
      const rd = new LineReader(d);
      assert.equal(await rd.line(), "220 smtp plain");
      b.destroy();
      d.destroy();
    } finally {
      await manager.close({ graceMs: 200 });
    }
  });

  void test("listener limit over implicit TLS: the line is sent inside TLS", async () => {
    const tls = await testTls();
    const { manager, port } = await startManager(
      { pop3s: listener("pop3s", "implicit", { maxConnections: 1 }) },
      { pop3s: { handle: toy(tls).handle, tooManyConnections: (i) => `-ERR [SYS/TEMP] too many connections to ${i.service}` } },
      tls,
    );
    try {
      const a = await connectTls(port("pop3s"));
      const ra = new LineReader(a);
      assert.equal(await ra.line(), "220 pop3s tls");
      const b = await connectTls(port("pop3s"));
      const rb = new LineReader(b);
      assert.equal(await rb.line(), "-ERR [SYS/TEMP] too many connections to pop3s");
      assert.equal(await rb.line(), null);
      a.destroy();
    } finally {
      await manager.close({ graceMs: 200 });
    }
  });

  void test("graceful close waits for the command in flight, then the protocol says goodbye", async () => {
    const tls = await testTls();
    const { manager, port, metrics } = await startManager({ smtp: listener("smtp", "none") }, { smtp: toy(tls, 300) }, tls);
    const busy = await connectPlain(port("smtp"));
    const rb = new LineReader(busy);
    const idle = await connectPlain(port("smtp"));
    const ri = new LineReader(idle);
    assert.equal(await rb.line(), "220 smtp plain");
    assert.equal(await ri.line(), "220 smtp plain");
    busy.write("SLOW\r\n");
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const closing = manager.close({ graceMs: 3000 });
    // The idle one is told at once; the busy one after its command.
    assert.equal(await ri.line(), "421 shutting down");
    assert.equal(await rb.line(), "250 slow done");
    assert.equal(await rb.line(), "421 shutting down");
    await closing;
    const took = Date.now() - started;
    assert.ok(took >= 200, `waited for the command (${took} ms)`);
    assert.ok(took < 2500, `did not wait for the whole grace time (${took} ms)`);
    assert.equal(manager.connectionCount(), 0);
    assert.match(await metrics.text(), /mailroom_connections_active\{service="smtp"\} 0/);
    // No longer accepting.
    await assert.rejects(connectPlain(port("smtp")));
  });

  void test("after the grace time, connections that did not finish are cut", async () => {
    const tls = await testTls();
    // A handler with no shutdown hook that never closes by itself.
    const { manager, port } = await startManager({ lmtp: listener("lmtp", "none") }, { lmtp: (s) => s.write("220 hi\r\n") }, tls);
    const c = await connectPlain(port("lmtp"));
    const r = new LineReader(c);
    assert.equal(await r.line(), "220 hi");
    const started = Date.now();
    await manager.close({ graceMs: 200 });
    assert.ok(Date.now() - started >= 190);
    assert.equal(await r.line(), null);
  });

  void test("a port in use is a clear error and nothing stays bound", async () => {
    const tls = await testTls();
    const first = await startManager({ smtp: listener("smtp", "none") }, { smtp: toy(tls) }, tls);
    const taken = first.port("smtp");
    const second = new ListenerManager({
      listeners: { other: listener("imap", "none", { port: 0 }), smtp: listener("smtp", "none", { port: taken }) },
      protocols: { smtp: toy(tls), imap: toy(tls) },
      tls,
      logger: silentLogger(),
    });
    try {
      await assert.rejects(second.listen(), /listener smtp \(smtp\) cannot bind 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      assert.deepEqual(second.ports(), {}, "the other listener was closed again");
    } finally {
      await second.close({ graceMs: 0 });
      await first.manager.close({ graceMs: 100 });
    }
  });

  void test("portOffset is added to non-zero ports", async () => {
    const tls = await testTls();
    // Find a free port, then ask for it as port - offset.
    const probe = await startManager({ smtp: listener("smtp", "none") }, { smtp: toy(tls) }, tls);
    const free = probe.port("smtp");
    await probe.manager.close({ graceMs: 0 });
    const m = new ListenerManager({
      listeners: { smtp: listener("smtp", "none", { port: free - 1000 }) },
      portOffset: 1000,
      protocols: { smtp: toy(tls) },
      tls,
      logger: silentLogger(),
    });
    const ports = await m.listen();
    assert.equal(ports["smtp"]?.port, free);
    await m.close({ graceMs: 0 });
  });
});
