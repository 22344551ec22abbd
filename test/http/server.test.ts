import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { ConfigManager } from "../../src/config/reload.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startServer, type RunningServer } from "../../src/core/server.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import type { MailStore } from "../../src/store/types.ts";

interface FakeStore {
  store: MailStore;
  healthy: boolean;
  closed: boolean;
}

function fakeStore(): FakeStore {
  const f: FakeStore = {
    healthy: true,
    closed: false,
    store: undefined as unknown as MailStore,
  };
  f.store = {
    listDomains: async () => {
      if (!f.healthy) throw new Error("database is locked");
      return [];
    },
    close: async () => {
      f.closed = true;
    },
  } as unknown as MailStore;
  return f;
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "mailroom-http-"));
}

function local(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { bind: "127.0.0.1", port: 0, ...extra };
}

async function start(f: FakeStore, more: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const config = ConfigManager.fromObject({
    server: { dataDir: await tempDir() },
    listeners: { http: local(), https: local() },
  });
  return startServer({ config, store: f.store, logger: silentLogger(), resolver: new StaticResolver(), ...more });
}

function httpsGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, rejectUnauthorized: false, servername: "localhost" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

void describe("HTTP listener and server lifecycle", () => {
  void test("/healthz is 200 when the store answers, 503 otherwise; /metrics is Prometheus text", async () => {
    const f = fakeStore();
    const s = await start(f);
    try {
      const { http } = s.ports();
      assert.ok(http !== undefined && http.port > 0);
      assert.equal(http.service, "http");
      const base = `http://127.0.0.1:${http.port}`;
      const ok = await fetch(`${base}/healthz`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: "ok" });
      f.healthy = false;
      const bad = await fetch(`${base}/healthz`);
      assert.equal(bad.status, 503);
      assert.equal(((await bad.json()) as { status: string }).status, "unavailable");
      const m = await fetch(`${base}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.headers.get("content-type") ?? "", /text\/plain/);
      const text = await m.text();
      assert.match(text, /# TYPE mailroom_connections_total counter/);
      assert.match(text, /mailroom_connections_total\{service="http"\} [1-9]/);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
    } finally {
      await s.stop({ graceMs: 1000 });
    }
    assert.equal(f.closed, true, "stop() closes the store");
  });

  void test("https serves the same app over TLS (self-signed certificate)", async () => {
    const s = await start(fakeStore());
    try {
      const port = s.ports()["https"]!.port;
      const r = await httpsGet(port, "/healthz");
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { status: "ok" });
    } finally {
      await s.stop({ graceMs: 1000 });
    }
  });

  void test("sub-apps are mounted with httpRoutes", async () => {
    const s = await start(fakeStore(), {
      httpRoutes: (app, ctx) => {
        const sub = new Hono();
        sub.get("/session", (c) => c.json({ host: ctx.config.current().server.hostname }));
        app.route("/jmap", sub);
      },
    });
    try {
      const r = await fetch(`http://127.0.0.1:${s.ports()["http"]!.port}/jmap/session`);
      assert.deepEqual(await r.json(), { host: "localhost" });
    } finally {
      await s.stop({ graceMs: 1000 });
    }
  });

  void test("stop() lets a request in flight finish, then closes", async () => {
    const s = await start(fakeStore(), {
      httpRoutes: (app) => {
        app.get("/slow", async (c) => {
          await new Promise((r) => setTimeout(r, 300));
          return c.text("done");
        });
      },
    });
    const base = `http://127.0.0.1:${s.ports()["http"]!.port}`;
    const pending = fetch(`${base}/slow`).then(async (r) => ({ status: r.status, body: await r.text() }));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await s.stop({ graceMs: 3000 });
    assert.ok(Date.now() - t0 < 2500, "did not wait for the whole grace time");
    assert.deepEqual(await pending, { status: 200, body: "done" });
    await assert.rejects(fetch(`${base}/healthz`));
    await s.stop(); // idempotent
  });

  void test("protocol factories get the context; unregistered services are not started", async () => {
    const f = fakeStore();
    const dir = await tempDir();
    const config = ConfigManager.fromObject({
      server: { dataDir: dir, hostname: "mx.example.test" },
      listeners: { smtp: local(), imap: local() },
    });
    const resolver = new StaticResolver();
    let sawResolver = false;
    const s = await startServer({
      config,
      store: f.store,
      logger: silentLogger(),
      resolver,
      http: false,
      protocols: {
        smtp: (ctx) => {
          sawResolver = ctx.resolver === resolver && ctx.store === f.store;
          return { handle: (socket) => socket.end(`220 ${ctx.config.current().server.hostname}\r\n`) };
        },
      },
    });
    try {
      assert.ok(sawResolver);
      assert.deepEqual(Object.keys(s.ports()), ["smtp"]);
      const { connect } = await import("node:net");
      const c = connect(s.ports()["smtp"]!.port, "127.0.0.1");
      let got = "";
      c.setEncoding("utf8");
      c.on("data", (d: string) => (got += d));
      await new Promise((r) => c.on("close", r));
      assert.equal(got, "220 mx.example.test\r\n");
      assert.equal(s.ctx.tls.certificates()[0]?.source, "self-signed");
    } finally {
      await s.stop({ graceMs: 500 });
    }
  });

  void test("two servers side by side keep separate metrics", async () => {
    const a = await start(fakeStore());
    const b = await start(fakeStore());
    try {
      a.ctx.metrics.messagesIngested.inc({ source: "smtp" }, 3);
      const text = await (await fetch(`http://127.0.0.1:${b.ports()["http"]!.port}/metrics`)).text();
      assert.doesNotMatch(text, /mailroom_messages_ingested_total\{source="smtp"\}/);
      const textA = await (await fetch(`http://127.0.0.1:${a.ports()["http"]!.port}/metrics`)).text();
      assert.match(textA, /mailroom_messages_ingested_total\{source="smtp"\} 3/);
    } finally {
      await Promise.all([a.stop({ graceMs: 500 }), b.stop({ graceMs: 500 })]);
    }
  });

  void test("SIGHUP reloads the configuration file", async () => {
    const dir = await tempDir();
    const path = join(dir, "mailroom.toml");
    const body = (n: number): string =>
      `[server]\ndataDir = ${JSON.stringify(dir)}\n[listeners.http]\nbind = "127.0.0.1"\nport = 0\n[limits]\nmaxRecipients = ${n}\n`;
    await writeFile(path, body(150));
    const config = await ConfigManager.fromFile(path);
    const s = await startServer({ config, store: fakeStore().store, logger: silentLogger(), resolver: new StaticResolver() });
    try {
      const changed = new Promise((r) => config.once("change", r));
      await writeFile(path, body(250));
      process.kill(process.pid, "SIGHUP");
      await changed;
      assert.equal(s.ctx.config.current().limits.maxRecipients, 250);
    } finally {
      await s.stop({ graceMs: 500 });
    }
    // stop() removes the SIGHUP handler.
    assert.equal(process.listeners("SIGHUP").length, 0);
  });
});

void test("clientIp: the socket peer, or the last X-Forwarded-For entry when the proxy is trusted", async () => {
  const { clientIp } = await import("../../src/http/client-ip.ts");
  const s = await start(fakeStore(), {
    httpRoutes: (app) => {
      app.get("/ip", (c) => c.json({ direct: clientIp(c, false), proxied: clientIp(c, true) }));
    },
  });
  try {
    const base = `http://127.0.0.1:${s.ports()["http"]!.port}`;
    const r = await fetch(`${base}/ip`, { headers: { "X-Forwarded-For": "203.0.113.9, 198.51.100.7" } });
    assert.deepEqual(await r.json(), { direct: "127.0.0.1", proxied: "198.51.100.7" });
    const plain = await fetch(`${base}/ip`);
    assert.deepEqual(await plain.json(), { direct: "127.0.0.1", proxied: "127.0.0.1" });
    const m = await (await fetch(`${base}/metrics`)).text();
    assert.match(m, /mailroom_commands_total\{service="http",command="GET",status="200"\} 2/);
  } finally {
    await s.stop({ graceMs: 500 });
  }
});
