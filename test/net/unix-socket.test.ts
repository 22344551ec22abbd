// Listeners on unix domain sockets: the socket file with its permissions, connection info
// without an IP address, no per-IP limit, a stale file removed at start, a live one or a
// non-socket refused, the file removed at stop.
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { lstat, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionInfo, ProtocolHandler } from "../../src/net/listener.ts";
import { closed, LineReader, listener, startManager } from "./helpers.ts";

function greeter(): ProtocolHandler & { infos: ConnectionInfo[] } {
  const infos: ConnectionInfo[] = [];
  return {
    infos,
    handle(socket: Socket, info: ConnectionInfo) {
      infos.push(info);
      socket.write(`220 ${info.service} ${info.remoteAddress}\r\n`);
      info.onShutdown(() => {
        socket.end("421 bye\r\n");
      });
      socket.on("error", () => undefined);
    },
  };
}

async function connectPath(path: string): Promise<Socket> {
  const s = connect({ path });
  await once(s, "connect");
  return s;
}

void describe("unix socket listeners", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailroom-unix-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void test("serves on the path with its permissions; no IP, no per-IP limit; removed at stop", async () => {
    const path = join(dir, "sub", "lmtp.sock");
    const proto = greeter();
    const { manager } = await startManager(
      { "lmtp-socket": listener("lmtp", "none", { path, socketMode: 0o600, maxConnectionsPerIp: 1 }) },
      { lmtp: proto },
    );
    try {
      const st = await lstat(path);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o600);
      assert.deepEqual(manager.ports()["lmtp-socket"], { service: "lmtp", host: path, port: 0, path });
      // Three clients at once although maxConnectionsPerIp is 1: every client is local.
      const socks = await Promise.all([connectPath(path), connectPath(path), connectPath(path)]);
      for (const s of socks) assert.equal(await new LineReader(s).line(), "220 lmtp unix");
      assert.equal(proto.infos[0]?.socketPath, path);
      assert.equal(proto.infos[0]?.localAddress, path);
      assert.equal(manager.connectionCount(), 3);
      for (const s of socks) s.destroy();
      await Promise.all(socks.map(closed));
    } finally {
      await manager.close({ graceMs: 100 });
    }
    assert.equal(existsSync(path), false, "the socket file is removed at stop");
  });

  void test("a stale socket file (its server is gone) is replaced", async () => {
    const path = join(dir, "stale.sock");
    // A process that exits without closing its server leaves the file behind.
    const r = spawnSync(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok((await lstat(path)).isSocket());
    const { manager } = await startManager({ l: listener("lmtp", "none", { path }) }, { lmtp: greeter() });
    try {
      const s = await connectPath(path);
      assert.equal(await new LineReader(s).line(), "220 lmtp unix");
      s.destroy();
      assert.equal((await lstat(path)).mode & 0o777, 0o660, "default socketMode");
    } finally {
      await manager.close({ graceMs: 100 });
    }
  });

  void test("a socket another server answers on, or a file that is not a socket, is refused and kept", async () => {
    const live = join(dir, "live.sock");
    const other = createServer((s) => {
      s.on("error", () => undefined); // our probe hangs up at once
      s.end("other\r\n");
    });
    await new Promise<void>((res) => other.listen(live, res));
    try {
      await assert.rejects(
        startManager({ l: listener("lmtp", "none", { path: live }) }, { lmtp: greeter() }),
        /listener l \(lmtp\) cannot listen on .*live\.sock: .*in use by another server/,
      );
      const s = await connectPath(live);
      assert.equal(await new LineReader(s).line(), "other", "the other server still has its socket");
    } finally {
      await new Promise<void>((res) => other.close(() => res()));
    }

    const plain = join(dir, "plain-file");
    await writeFile(plain, "keep me");
    await assert.rejects(
      startManager({ l: listener("lmtp", "none", { path: plain }) }, { lmtp: greeter() }),
      /exists and is not a socket/,
    );
    assert.ok((await lstat(plain)).isFile());
  });
});
