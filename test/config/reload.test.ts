import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ConfigManager, ReloadError, staticChanges } from "../../src/config/reload.ts";
import { createLogger } from "../../src/core/logger.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { DynamicConfig } from "../../src/config/schema.ts";

async function tempFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-reload-"));
  const path = join(dir, "mailroom.toml");
  await writeFile(path, text);
  return path;
}

function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: "info", destination: dest }), lines: () => chunks.join("").split("\n").filter(Boolean) };
}

void describe("ConfigManager", () => {
  void test("reload applies dynamic changes and emits change", async () => {
    const path = await tempFile("[limits]\nmaxRecipients = 200\n");
    const m = await ConfigManager.fromFile(path, { env: {} });
    assert.equal(m.current().limits.maxRecipients, 200);
    const seen: DynamicConfig[] = [];
    m.on("change", (d) => seen.push(d));
    await writeFile(path, '[limits]\nmaxRecipients = 300\n[auth]\nallowCramMd5 = true\n[domains]\nsubaddressSeparator = "-"\n');
    const next = await m.reload();
    assert.equal(next.limits.maxRecipients, 300);
    assert.equal(m.current().limits.maxRecipients, 300);
    assert.equal(m.dynamic().auth.allowCramMd5, true);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.domains.subaddressSeparator, "-");
  });

  void test("an invalid file is refused and the old settings stay", async () => {
    const path = await tempFile("[limits]\nmaxRecipients = 200\n");
    const { logger, lines } = captureLogger();
    const m = await ConfigManager.fromFile(path, { logger, env: {} });
    let changes = 0;
    m.on("change", () => changes++);
    await writeFile(path, '[limits]\nmaxRecipients = "many"\n');
    await assert.rejects(m.reload(), (e: unknown) => {
      assert.ok(e instanceof ReloadError);
      assert.match(e.message, /keeping the running settings/);
      assert.match(e.message, /limits\.maxRecipients/);
      return true;
    });
    await writeFile(path, "[limits\n");
    await assert.rejects(m.reload(), /TOML syntax error/);
    assert.equal(m.current().limits.maxRecipients, 200);
    assert.equal(changes, 0);
    assert.ok(lines().some((l) => l.includes("config reload refused")));
  });

  void test("a static change is refused with 'restart needed for X', dynamic ones in the same file not applied", async () => {
    const path = await tempFile('[server]\nhostname = "a.example"\n[limits]\nmaxRecipients = 200\n');
    const { logger, lines } = captureLogger();
    const m = await ConfigManager.fromFile(path, { logger, env: {} });
    await writeFile(path, '[server]\nhostname = "b.example"\n[listeners.smtp]\nport = 2525\n[limits]\nmaxRecipients = 300\n');
    await assert.rejects(m.reload(), (e: unknown) => {
      assert.ok(e instanceof ReloadError);
      assert.deepEqual(e.restartNeeded.sort(), ["listeners.smtp.port", "server.hostname"]);
      assert.match(e.message, /restart needed for/);
      return true;
    });
    assert.equal(m.current().server.hostname, "a.example");
    assert.equal(m.current().limits.maxRecipients, 200);
    assert.ok(lines().some((l) => l.includes("restart needed for server.hostname")));
  });

  void test("overrides (command-line options) win over the file at load and at every reload", async () => {
    const path = await tempFile('[server]\ndataDir = "/from/file"\n[limits]\nmaxRecipients = 200\n');
    const m = await ConfigManager.fromFile(path, { env: {}, overrides: { server: { dataDir: "/from/cli" } } });
    assert.equal(m.current().server.dataDir, "/from/cli");
    assert.equal(m.current().limits.maxRecipients, 200);
    await writeFile(path, '[server]\ndataDir = "/from/file"\n[limits]\nmaxRecipients = 300\n');
    await m.reload();
    assert.equal(m.current().server.dataDir, "/from/cli");
    assert.equal(m.current().limits.maxRecipients, 300);
  });

  void test("fromObject and applyObject (tests, embedding)", async () => {
    const m = ConfigManager.fromObject({ limits: { maxMessageSize: 2048 } });
    assert.equal((await m.reload()).limits.maxMessageSize, 2048, "no file: reload keeps the settings");
    assert.equal(m.current().limits.maxMessageSize, 2048);
    m.applyObject({ limits: { maxMessageSize: 4096 } });
    assert.equal(m.current().limits.maxMessageSize, 4096);
    assert.throws(() => m.applyObject({ store: { backend: "postgres" } }), ReloadError);
    assert.equal(m.current().store.backend, "sqlite");
  });

  void test("staticChanges lists the differing static paths only", () => {
    const a = parseConfig({});
    const b = parseConfig({ tls: { certificates: [{ names: ["x"], certFile: "c", keyFile: "k" }] }, limits: { maxRecipients: 101 } });
    assert.deepEqual(staticChanges(a, b), ["tls.certificates"]);
    assert.deepEqual(staticChanges(a, parseConfig({})), []);
  });
});
