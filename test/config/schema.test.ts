import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ConfigError, dataPaths, loadConfig, parseConfig, parseConfigText } from "../../src/config/load.ts";
import { defaultConfig, SERVICE_DEFAULTS, SERVICES } from "../../src/config/schema.ts";
import { describeConfig } from "../../src/config/docs.ts";

const root = join(import.meta.dirname, "..", "..");

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected a ConfigError");
}

void describe("config schema", () => {
  void test("an empty file is a valid configuration with every default", () => {
    const c = parseConfigText("");
    assert.deepEqual(c, defaultConfig());
    assert.equal(c.server.hostname, "localhost");
    assert.equal(c.server.portOffset, 0);
    assert.equal(c.store.backend, "sqlite");
    assert.equal(c.tls.minVersion, "TLSv1.2");
    assert.equal(c.dns.resolver, "system");
    assert.equal(c.domains.subaddressSeparator, "+");
    assert.equal(c.limits.maxRecipients, 500);
    assert.equal(c.auth.allowCramMd5, false);
  });

  void test("every service has a default listener on its standard port", () => {
    const c = defaultConfig();
    const expected: Record<string, number> = {
      smtp: 25,
      submission: 587,
      submissions: 465,
      lmtp: 24,
      imap: 143,
      imaps: 993,
      pop3: 110,
      pop3s: 995,
      managesieve: 4190,
      http: 8080,
      https: 443,
    };
    assert.deepEqual(Object.keys(c.listeners).sort(), [...SERVICES].sort());
    for (const [name, port] of Object.entries(expected)) {
      assert.equal(c.listeners[name]?.port, port, name);
      assert.equal(c.listeners[name]?.service, name);
      assert.equal(c.listeners[name]?.enabled, true);
    }
    assert.equal(c.listeners["submissions"]?.tls, "implicit");
    assert.equal(c.listeners["imap"]?.tls, "starttls");
    assert.equal(c.listeners["http"]?.tls, "none");
    assert.equal(c.listeners["lmtp"]?.bind, "127.0.0.1", "LMTP is local only by default");
    assert.equal(c.listeners["smtp"]?.bind, "0.0.0.0");
  });

  void test("a listener table overrides fields of the default of that name; new names add listeners", () => {
    const c = parseConfigText(`
[listeners.smtp]
port = 2525
bind = "127.0.0.1"

[listeners.imaps]
enabled = false

[listeners.smtp-alt]
service = "smtp"
port = 10025
`);
    assert.equal(c.listeners["smtp"]?.port, 2525);
    assert.equal(c.listeners["smtp"]?.bind, "127.0.0.1");
    assert.equal(c.listeners["smtp"]?.tls, "starttls");
    assert.equal(c.listeners["imaps"]?.enabled, false);
    assert.deepEqual(c.listeners["smtp-alt"], {
      service: "smtp",
      enabled: true,
      bind: "0.0.0.0",
      port: 10025,
      path: "",
      socketMode: 0o660,
      tls: SERVICE_DEFAULTS.smtp.tls,
      maxConnections: 1000,
      maxConnectionsPerIp: 20,
      allowPlaintextAuth: false,
      vrfy: "off",
      compress: true,
    });
  });

  void test("a listener on a unix socket: path instead of bind and port, socketMode in octal", () => {
    const c = parseConfigText(`
[listeners.lmtp-socket]
service = "lmtp"
path = "/run/mailroom/lmtp.sock"
socketMode = "0600"
`);
    const l = c.listeners["lmtp-socket"];
    assert.equal(l?.path, "/run/mailroom/lmtp.sock");
    assert.equal(l?.socketMode, 0o600);
    assert.equal(l?.bind, "");
    assert.equal(l?.port, 0);
    assert.equal(c.listeners["lmtp"]?.port, 24, "the TCP lmtp listener stays");
    const both = configError(() => parseConfig({ listeners: { lmtp: { path: "/tmp/l.sock", port: 24 } } }));
    assert.equal(both.issues[0]?.path, "listeners.lmtp.path");
    // bind does not apply to a socket (mailroom serve --host sets it on every listener).
    const withBind = parseConfig({ listeners: { lmtp: { path: "/tmp/l.sock", bind: "127.0.0.1" } } });
    assert.equal(withBind.listeners["lmtp"]?.bind, "");
    const modeOnly = configError(() => parseConfig({ listeners: { lmtp: { socketMode: "0600" } } }));
    assert.equal(modeOnly.issues[0]?.path, "listeners.lmtp.socketMode");
    const badMode = configError(() =>
      parseConfig({ listeners: { lmtp: { path: "/tmp/l.sock", socketMode: "rw" } } }),
    );
    assert.equal(badMode.issues[0]?.path, "listeners.lmtp.socketMode");
  });

  void test("a new listener without a service is an error naming it", () => {
    const e = configError(() => parseConfigText("[listeners.other]\nport = 1\n", { source: "m.toml" }));
    assert.equal(e.issues[0]?.path, "listeners.other.service");
    assert.match(e.message, /m\.toml/);
    assert.match(e.message, /listener "other" needs a service/);
  });

  void test("validation errors give the field path and what was expected", () => {
    const e = configError(() =>
      parseConfig({
        server: { portOffset: "ten" },
        listeners: { smtp: { tls: "maybe", port: 70000 } },
        store: { backend: "mysql" },
        limits: { maxRecipients: 5 },
        tls: { certificates: [{ names: [], certFile: "a", keyFile: "b" }] },
      }),
    );
    const byPath = new Map(e.issues.map((i) => [i.path, i.message]));
    assert.match(byPath.get("server.portOffset") ?? "", /expected number, received string/);
    assert.match(byPath.get("listeners.smtp.tls") ?? "", /expected one of "none", "starttls", "implicit"/);
    assert.match(byPath.get("listeners.smtp.port") ?? "", /65535/);
    assert.match(byPath.get("store.backend") ?? "", /"sqlite", "postgres"/);
    assert.match(byPath.get("limits.maxRecipients") ?? "", />=100/);
    assert.ok(byPath.has("tls.certificates[0].names"), [...byPath.keys()].join(" "));
    // The message lists every problem, one per line.
    assert.equal(e.message.split("\n").length, 1 + e.issues.length);
  });

  void test("unknown fields are refused (typos)", () => {
    const e = configError(() => parseConfigText('[server]\nhostnme = "x"\n'));
    assert.equal(e.issues[0]?.path, "server");
    assert.match(e.issues[0]?.message ?? "", /unknown field "hostnme"/);
    const e2 = configError(() => parseConfigText("[smtp]\nport = 1\n"));
    assert.match(e2.message, /unknown field "smtp"/);
  });

  void test("TOML syntax errors carry the line", () => {
    const e = configError(() => parseConfigText("[server]\nhostname = \n", { source: "bad.toml" }));
    assert.match(e.message, /bad\.toml/);
    assert.match(e.message, /TOML syntax error at line 2/);
  });

  void test("dns.resolver: system or a list of ip:port; MAILROOM_DNS overrides", () => {
    assert.deepEqual(parseConfig({ dns: { resolver: ["127.0.0.1:5353", "[::1]:53"] } }).dns.resolver, [
      "127.0.0.1:5353",
      "[::1]:53",
    ]);
    configError(() => parseConfig({ dns: { resolver: ["not a server"] } }));
    configError(() => parseConfig({ dns: { resolver: "google" } }));
    const c = parseConfig({}, { env: { MAILROOM_DNS: "127.0.0.1:5300" } });
    assert.deepEqual(c.dns.resolver, ["127.0.0.1:5300"]);
    assert.equal(c.dns.timeoutMs, 5000);
    configError(() => parseConfig({}, { env: { MAILROOM_DNS: "nonsense:x" } }));
  });

  void test("loadConfig reads a file, and reports a missing one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-config-"));
    const path = join(dir, "m.toml");
    await writeFile(path, '[server]\nhostname = "mx.example.org"\n');
    assert.equal((await loadConfig(path, { env: {} })).server.hostname, "mx.example.org");
    assert.deepEqual(await loadConfig(undefined, { env: {} }), defaultConfig());
    assert.deepEqual((await loadConfig(path, { env: { MAILROOM_DNS: "127.0.0.1:53" } })).dns.resolver, [
      "127.0.0.1:53",
    ]);
    await assert.rejects(
      loadConfig(join(dir, "nope.toml")),
      (e: unknown) => e instanceof ConfigError && /file not found/.test(e.message),
    );
  });

  void test("dataPaths resolves empty store paths under dataDir", () => {
    const c = parseConfig({ server: { dataDir: "/var/lib/mailroom" } });
    const p = dataPaths(c);
    assert.equal(p.sqlite, "/var/lib/mailroom/mailroom.sqlite");
    assert.equal(p.blobDir, "/var/lib/mailroom/blobs");
    assert.equal(p.tlsDir, "/var/lib/mailroom/tls");
    assert.equal(dataPaths(parseConfig({ store: { path: "/x/db.sqlite" } })).sqlite, "/x/db.sqlite");
  });

  void test("every field has a description", () => {
    for (const s of describeConfig()) {
      assert.ok(s.description.length > 0, s.name);
      for (const f of s.fields) assert.ok(f.description.length > 10, `${f.path} has no description`);
    }
  });
});

void describe("generated docs", () => {
  void test("the annotated example parses to the defaults", async () => {
    const text = await readFile(join(root, "docs", "mailroom.example.toml"), "utf8");
    assert.deepEqual(parseConfigText(text), defaultConfig());
  });

  void test("docs/config.md and docs/mailroom.example.toml are up to date (gen-config-docs --check)", async () => {
    const run = promisify(execFile);
    const { stderr } = await run(process.execPath, [join(root, "scripts", "gen-config-docs.ts"), "--check"], {
      cwd: root,
    });
    assert.equal(stderr, "");
  });
});
