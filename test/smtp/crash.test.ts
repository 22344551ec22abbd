// Durability: `mailroom serve` in a child process takes a 5,000-message SMTP ingest over
// several pipelining connections and is killed with SIGKILL part way. After a restart every
// message that got its 250 is in the mailbox exactly once (and nothing is there twice).
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger } from "../../src/core/logger.ts";
import { openDataDir, openDataStore } from "../../src/cli/data-dir.ts";
import { runCli, startCli, tempDir } from "../helpers/cli.ts";
import { RawClient } from "./helpers.ts";

const TOTAL = 5000;
const CONNECTIONS = 8;
const KILL_AFTER = 2500;

const CONFIG = `[server]
hostname = "mx.example.org"
[listeners.smtp]
port = 0
[listeners.http]
enabled = false
[listeners.https]
enabled = false
[listeners.submission]
enabled = false
[listeners.submissions]
enabled = false
[listeners.lmtp]
enabled = false
[listeners.imap]
enabled = false
[listeners.imaps]
enabled = false
[listeners.pop3]
enabled = false
[listeners.pop3s]
enabled = false
[listeners.managesieve]
enabled = false
`;

async function serve(data: string): Promise<{ kill: (sig: NodeJS.Signals) => Promise<void>; port: number }> {
  const srv = await startCli(
    ["serve", "--data", data, "--host", "127.0.0.1"],
    /listening smtp 127\.0\.0\.1:\d+\n/,
  );
  const port = Number(/listening smtp 127\.0\.0\.1:(\d+)/.exec(srv.stdout())?.[1]);
  return {
    port,
    kill: async (sig) => {
      const exited = once(srv.child, "exit");
      srv.child.kill(sig);
      await exited;
    },
  };
}

void test(
  "SIGKILL during a 5,000-message ingest: every 250'd message is stored exactly once",
  { timeout: 120_000 },
  async () => {
    const t = await tempDir("mailroom-crash-");
    try {
      const data = join(t.dir, "data");
      await mkdir(data);
      await writeFile(join(data, "mailroom.toml"), CONFIG);
      for (const args of [
        ["domain", "add", "example.org"],
        ["account", "add", "bob@example.org", "--password", "bob-secret-1"],
      ]) {
        const r = await runCli([...args, "--data", data]);
        assert.equal(r.code, 0, r.stderr);
      }
      const srv = await serve(data);
      const acked = new Set<number>();
      let next = 0;
      let killed = false;
      const failures: string[] = [];
      const worker = async (): Promise<void> => {
        const c = await RawClient.connect(srv.port);
        try {
          if ((await c.reply())?.code !== 220) return;
          c.write("EHLO crash.example\r\n");
          await c.reply();
          for (;;) {
            const i = next++;
            if (i >= TOTAL || killed) return;
            const m = `Subject: crash ${i}\r\nMessage-ID: <c${i}@test>\r\n\r\nmessage ${i}\r\n`;
            c.write(
              `MAIL FROM:<s@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT ${m.length} LAST\r\n${m}`,
            );
            const rs = [await c.reply(), await c.reply(), await c.reply()];
            if (rs.some((r) => r === null)) return;
            if (rs[2]?.code === 250) acked.add(i);
            else failures.push(rs.map((r) => `${r?.code} ${r?.lines.join(" ")}`).join(" / "));
            if (acked.size >= KILL_AFTER && !killed) {
              killed = true;
              await srv.kill("SIGKILL");
              return;
            }
          }
        } catch (e) {
          // The connection died with the server.
          if (!killed) failures.push(String(e));
        } finally {
          await c.close();
        }
      };
      await Promise.all(Array.from({ length: CONNECTIONS }, () => worker()));
      if (!killed) await srv.kill("SIGKILL");
      assert.ok(
        killed,
        `the server was killed mid-ingest; acked ${acked.size}; ${failures.slice(0, 3).join("\n")}`,
      );
      assert.ok(acked.size >= KILL_AFTER);

      // Restart: the server opens the store again (recovery), then stops cleanly.
      const again = await serve(data);
      await again.kill("SIGINT");

      const dd = await openDataDir({ dir: data });
      const store = await openDataStore(dd.config.current(), silentLogger());
      try {
        const bob = await store.getAccountByName("bob@example.org");
        assert.ok(bob !== null);
        const inbox = (await store.listMailboxes(bob.id)).find((b) => b.role === "inbox");
        assert.ok(inbox !== undefined);
        const seen = new Map<number, number>();
        for (const row of await store.listMessages(bob.id, inbox.id)) {
          const raw = (await store.getRaw(bob.id, row.emailId))?.toString() ?? "";
          const n = Number(/Subject: crash (\d+)/.exec(raw)?.[1]);
          seen.set(n, (seen.get(n) ?? 0) + 1);
        }
        for (const i of acked) assert.equal(seen.get(i), 1, `message ${i} was acknowledged`);
        for (const [i, count] of seen) assert.equal(count, 1, `message ${i} stored ${count} times`);
        assert.ok(seen.size < TOTAL, "the kill happened before the end");
      } finally {
        await store.close();
      }
    } finally {
      await t.cleanup();
    }
  },
);
