// Interoperability with Debian's fetchmail: pop3s (implicit TLS, certificate not checked: the
// test server's is self-signed) and pop3 with STLS, keeping the mail on the server and not.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { message, PASSWORD, startPop3, type Pop3Fixture } from "./helpers.ts";

const run = promisify(execFile);
const FETCHMAIL = "/usr/bin/fetchmail";

async function fetchmail(
  f: Pop3Fixture,
  name: string,
  opts: { port: number; ssl: boolean; keep: boolean },
): Promise<{ code: number; out: string; mbox: string }> {
  const rc = join(f.dir, `${name}.rc`);
  const mbox = join(f.dir, `${name}.mbox`);
  await writeFile(mbox, "");
  await writeFile(
    rc,
    [
      "set no syslog",
      `poll 127.0.0.1 service ${opts.port} protocol pop3 auth password`,
      `  user "${f.user}" there with password "${PASSWORD}" is "root" here`,
      opts.ssl ? "  ssl" : "  sslproto tls1.2+",
      "  no sslcertck",
      opts.keep ? "  keep" : "  no keep",
      "  fetchall",
      `  mda "/bin/sh -c 'cat >> ${mbox}'"`,
      "",
    ].join("\n"),
  );
  await chmod(rc, 0o600);
  let code = 0;
  let out = "";
  try {
    const r = await run(FETCHMAIL, ["-f", rc, "-i", join(f.dir, `${name}.ids`), "--nodetach", "-v"], {
      timeout: 30_000,
      env: { ...process.env, HOME: f.dir, FETCHMAILHOME: f.dir },
    });
    out = r.stdout + r.stderr;
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    code = typeof x.code === "number" ? x.code : -1;
    out = (x.stdout ?? "") + (x.stderr ?? "");
  }
  return { code, out, mbox: await readFile(mbox, "utf8") };
}

void describe(
  "fetchmail against the POP3 server",
  () => {
    let f: Pop3Fixture;
    before(async () => {
      f = await startPop3({ allowPlaintext: false });
      await f.deliver(message("fm-one", ["first", ".dotted"]));
      await f.deliver(message("fm-two", ["second"]));
    });
    after(async () => {
      await f.stop();
    });

    const inboxCount = async (): Promise<number> => {
      const store = f.server.ctx.store;
      const inbox = (await store.listMailboxes(f.account.id)).find((b) => b.role === "inbox");
      return (await store.listMessages(f.account.id, inbox?.id ?? "")).length;
    };

    void test("pop3s, keep: both messages fetched, both still on the server", async () => {
      const r = await fetchmail(f, "keep", { port: f.pop3sPort, ssl: true, keep: true });
      assert.equal(r.code, 0, r.out);
      assert.match(r.mbox, /Subject: fm-one/);
      assert.match(r.mbox, /Subject: fm-two/);
      assert.match(r.mbox, /\r?\n\.dotted\r?\n/);
      assert.equal(await inboxCount(), 2);
    });

    void test("pop3 with STLS, no keep: fetched and deleted", async () => {
      const r = await fetchmail(f, "flush", { port: f.pop3Port, ssl: false, keep: false });
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /STLS/);
      assert.match(r.mbox, /Subject: fm-one/);
      assert.match(r.mbox, /Subject: fm-two/);
      assert.equal(await inboxCount(), 0);
      const again = await fetchmail(f, "empty", { port: f.pop3sPort, ssl: true, keep: true });
      assert.equal(again.code, 1, again.out); // 1: no mail
    });
  },
);
