// `mailroom serve` on an empty folder: creates it, prints the admin credentials and a
// `listening` line per listener, answers /healthz, and stops cleanly on SIGINT.
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { SERVICES } from "../../src/config/schema.ts";
import { runCli, startCli, tempDir } from "../helpers/cli.ts";

/** A data folder whose web listeners take free ports, so tests never collide. */
async function dataDir(): Promise<{ data: string; cleanup: () => Promise<void> }> {
  const t = await tempDir();
  const data = join(t.dir, "data");
  await mkdir(data);
  await writeFile(
    join(data, "mailroom.toml"),
    `[server]\nhostname = "localhost"\n` + SERVICES.map((svc) => `[listeners.${svc}]\nport = 0\n`).join(""),
  );
  return { data, cleanup: t.cleanup };
}

void test("serve creates the data folder, prints credentials and listeners, and stops on SIGINT", async () => {
  const { data, cleanup } = await dataDir();
  try {
    const srv = await startCli(
      ["serve", "--data", data, "--host", "127.0.0.1", "--port-offset", "0"],
      /ready \(pid/,
    );
    const out = srv.stdout();
    assert.match(out, /admin account: admin@localhost/);
    const password = /admin password: (\S+)/.exec(out)?.[1];
    assert.ok(password && password.length >= 12, "an admin password is printed");
    for (const svc of [
      "smtp",
      "submission",
      "submissions",
      "lmtp",
      "imap",
      "imaps",
      "pop3",
      "pop3s",
      "http",
      "https",
    ]) {
      assert.match(out, new RegExp(`listening ${svc} 127\\.0\\.0\\.1:\\d+`), svc);
    }
    const http = /listening http 127\.0\.0\.1:(\d+)/.exec(out);
    assert.ok(http, out);
    const res = await fetch(`http://127.0.0.1:${http[1]}/healthz`);
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${http[1]}/metrics`)).text();
    assert.match(metrics, /# TYPE/);

    // The directory commands work while the server holds the store.
    const add = await runCli([
      "account",
      "add",
      "alice@localhost",
      "--password",
      "secret-pw-1",
      "--data",
      data,
    ]);
    assert.equal(add.code, 0, add.stderr);
    const list = await runCli(["account", "list", "--data", data]);
    assert.match(list.stdout, /alice@localhost/);
    assert.match(list.stdout, /admin@localhost/);

    srv.child.kill("SIGINT");
    const [code] = (await once(srv.child, "exit")) as [number | null];
    assert.equal(code, 0, srv.stderr());
    assert.match(srv.stdout(), /stopped/);

    // A second start reuses the folder: no new admin password, same certificate.
    const cert = await readFile(join(data, "tls", "selfsigned.crt"), "utf8");
    const again = await startCli(
      ["serve", "--data", data, "--host", "127.0.0.1", "--port-offset", "0"],
      /ready \(pid/,
    );
    assert.doesNotMatch(again.stdout(), /admin password/);
    assert.equal(await readFile(join(data, "tls", "selfsigned.crt"), "utf8"), cert);
    again.child.kill("SIGTERM");
    await once(again.child, "exit");
  } finally {
    await cleanup();
  }
});

void test("directory commands: domains, accounts, aliases, quotas, and clear errors", async () => {
  const { data, cleanup } = await dataDir();
  try {
    const first = await runCli(["domain", "add", "Example.ORG", "--data", data]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /admin@localhost with password/);
    assert.match((await runCli(["domain", "list", "--data", data])).stdout, /example\.org/);

    const noDomain = await runCli([
      "account",
      "add",
      "bob@nowhere.test",
      "--password",
      "pw-123456",
      "--data",
      data,
    ]);
    assert.equal(noDomain.code, 1);
    assert.match(noDomain.stderr, /not a local domain/);

    const bob = await runCli(["account", "add", "Bob@example.org", "--data", data, "--quota", "10M"]);
    assert.equal(bob.code, 0, bob.stderr);
    assert.match(bob.stdout, /account bob@example\.org added with password \S+ \(shown once\)/);
    const dup = await runCli(["account", "add", "bob@example.org", "--password", "x-123456", "--data", data]);
    assert.equal(dup.code, 1);

    assert.equal(
      (
        await runCli([
          "alias",
          "add",
          "team@example.org",
          "bob@example.org",
          "carol@elsewhere.test",
          "--data",
          data,
        ])
      ).code,
      0,
    );
    assert.match(
      (await runCli(["alias", "list", "--data", data])).stdout,
      /team@example\.org\s+bob@example\.org, carol@elsewhere\.test/,
    );
    assert.equal((await runCli(["alias", "remove", "team@example.org", "--data", data])).code, 0);

    const quota = await runCli(["account", "quota", "bob@example.org", "--messages", "100", "--data", data]);
    assert.match(quota.stdout, /storage 0 B of 10 MiB, messages 0 of 100/);
    assert.equal(
      (await runCli(["account", "passwd", "bob@example.org", "--password", "new-pw-123", "--data", data]))
        .code,
      0,
    );
    const app = await runCli([
      "account",
      "app-password",
      "bob@example.org",
      "--label",
      "phone",
      "--data",
      data,
    ]);
    assert.match(app.stdout, /[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}/);

    const bad = await runCli(["account", "quota", "bob@example.org", "--bytes", "lots", "--data", data]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a size/);

    assert.equal(
      (await runCli(["domain", "remove", "example.org", "--data", data])).code,
      1,
      "a domain with accounts stays",
    );
    assert.equal((await runCli(["account", "remove", "bob@example.org", "--data", data])).code, 0);
    assert.equal((await runCli(["domain", "remove", "example.org", "--data", data])).code, 0);

    const check = await runCli(["config", "check", "--data", data]);
    assert.equal(check.code, 0, check.stderr);
    await writeFile(join(data, "bad.toml"), `[limits]\nmaxMessageSize = "big"\n`);
    const badCfg = await runCli(["config", "check", "--file", join(data, "bad.toml")]);
    assert.equal(badCfg.code, 1);
    assert.match(badCfg.stderr, /limits\.maxMessageSize/);
    assert.match((await runCli(["config", "describe"])).stdout, /maxMessageSize/);
  } finally {
    await cleanup();
  }
});
