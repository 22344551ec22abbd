// Our server for the IMAP workloads of ../shared/bench, in a process of its own so that the
// harness's /proc sampling (--pid: RSS, PSS and CPU over a pid and its descendants) sees only
// the server. Started by bench/imap.ts; prints one JSON line {"port","pid"} once listening,
// stops (and writes the CPU profile, if asked) on SIGTERM or when stdin closes.
//
//   node bench/lib/imap-server.ts --shared DIR [--port 0] [--prefill user:mailbox:count,...]
//        [--profile FILE] [--blobs auto|fs|db] [--time-limit 1800]
//
// Users bench1..bench20@bench.test, password "bench". --prefill fills mailboxes directly in
// the store with the shared generator's messages (seed 1, default mix, byte-identical to what
// the harness's populate step sends), so the fetch/search mailboxes need no IMAP populate.
import "../../src/core/threadpool.ts";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { makeCredential } from "../../src/auth/password.ts";
import { ConfigManager } from "../../src/config/reload.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startServer } from "../../src/core/server.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import { imapProtocol } from "../../src/protocols/imap/index.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { openStore } from "../../src/store/open.ts";
import { RelayChangeBus } from "../../src/store/bus/relay.ts";
import type { WorkerStoreOptions } from "../../src/server/workers.ts";
import { args, timeLimit } from "./stats.ts";

const o = args({ shared: "", port: 0, prefill: "", profile: "", blobs: "auto", timeLimit: 1800, workers: 0 });
timeLimit(o.timeLimit);
const gen = (await import(pathToFileURL(join(o.shared, "lib/msggen.mjs")).href)) as {
  buildMessage: (
    i: number,
    opts: { seed?: number; mix?: string; to?: string },
  ) => { raw: Buffer; date: Date };
};

const dir = await mkdtemp(join(tmpdir(), "mailroom-bench-imap-"));
const logger = silentLogger();
const storeOptions: WorkerStoreOptions = {
  backend: "sqlite",
  sqlitePath: join(dir, "mailroom.sqlite"),
  // the default of the config ('auto': blobs up to 256 KiB inside the database)
  blobs: o.blobs === "fs" || o.blobs === "db" ? o.blobs : "auto",
  blobDir: join(dir, "blobs"),
  search: true,
};
// --workers N: IMAP sessions in N processes (server.workers), sharing this one's change bus
const store = await openStore({
  ...storeOptions,
  clock: systemClock,
  logger,
  ...(Number(o.workers) > 0 ? { bus: new RelayChangeBus() } : {}),
});
await store.createDomain("bench.test");
const cred = await makeCredential("bench");
const ids = new Map<string, string>();
for (let i = 1; i <= 20; i++) {
  const a = await store.createAccount({ name: `bench${i}@bench.test` });
  await store.setPassword(a.id, cred);
  ids.set(`bench${i}`, a.id);
}
for (const spec of o.prefill.split(",").filter(Boolean)) {
  const [user = "", name = "", n = "0"] = spec.split(":");
  const accountId = ids.get(user);
  if (!accountId) throw new Error(`--prefill: unknown user ${user}`);
  const box = await store.createMailbox(accountId, { name });
  const to = `${user}@bench.test`;
  const t0 = performance.now();
  for (let start = 0; start < Number(n); start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(Number(n), start + 100); i++) {
      const m = gen.buildMessage(i, { seed: 1, to });
      batch.push({
        raw: m.raw,
        parsed: parseMessage(m.raw),
        mailboxIds: [box.id],
        keywords: [],
        receivedAt: m.date.getTime(),
      });
    }
    await store.appendEmails(accountId, batch);
  }
  // A text search waits for the search index to take in everything appended so far: the
  // prefill's indexing must not run inside the measured workloads (the index holds its work
  // while the event loop is busy and would catch up during the first one).
  await store.search(accountId, { op: "text", text: "prefill settled" });
  process.stderr.write(
    `prefilled ${to}/${name} with ${n} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

const config = ConfigManager.fromObject({
  server: { dataDir: dir, hostname: "localhost", workers: Number(o.workers) },
  listeners: {
    // compress: false as the reference: Dovecot there has no imap_zlib, so it offers no
    // COMPRESS and imapflow compresses only against us (more CPU on both ends, and the
    // client's deflate output, written in pieces under Nagle, waits for delayed ACKs).
    imap: {
      bind: "127.0.0.1",
      port: o.port,
      allowPlaintextAuth: true,
      maxConnections: 5000,
      maxConnectionsPerIp: 5000,
      compress: false,
    },
    // imap-idle-conns delivers its message over LMTP, as to the reference
    lmtp: { bind: "127.0.0.1", port: 0 },
  },
  // as the reference config: 1,000 IDLE connections of one user must fit
  limits: { maxConnectionsPerUser: 5000 },
  logging: { level: "warn" },
});
const server = await startServer({
  config,
  store,
  logger,
  resolver: new StaticResolver(),
  http: false,
  reloadOnSighup: false,
  protocols: { imap: imapProtocol, lmtp: smtpProtocol("lmtp") },
  workers: { store: storeOptions },
});
const inspector = o.profile ? new Session() : null;
if (inspector) {
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.start");
}
process.stdout.write(
  JSON.stringify({
    port: server.ports()["imap"]?.port ?? 0,
    lmtp: server.ports()["lmtp"]?.port ?? 0,
    pid: process.pid,
  }) + "\n",
);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  if (inspector) {
    const { profile } = await inspector.post("Profiler.stop");
    await writeFile(o.profile, JSON.stringify(profile));
    inspector.disconnect();
  }
  await server.stop({ graceMs: 1000 });
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
