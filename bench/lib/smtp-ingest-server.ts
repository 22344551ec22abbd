// Our server for bench/smtp-ingest.ts, in a process of its own so the shared harness can
// sample its CPU by pid (--pid) apart from the client's. The same protocol factories and
// store defaults as `mailroom serve` (SQLite, blobs "auto", the backend's search index),
// users bench1..bench20@bench.test with password "bench", and loopback listeners: smtp and
// lmtp (no TLS), imap (plaintext LOGIN allowed) on the given ports (0: free ports).
//
//   node bench/lib/smtp-ingest-server.ts [--smtp-port 0] [--lmtp-port 0] [--imap-port 0]
//     [--time-limit 1800] [--watch-stdin]
//
// Prints one JSON line {pid, smtp, lmtp, imap} once listening; stops on SIGTERM/SIGINT and
// removes its temporary data folder.
import "../../src/core/threadpool.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCredential } from "../../src/auth/password.ts";
import { ConfigManager } from "../../src/config/reload.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startServer } from "../../src/core/server.ts";
import { StaticResolver } from "../../src/dns/resolver.ts";
import { imapProtocol } from "../../src/protocols/imap/index.ts";
import { smtpProtocol } from "../../src/protocols/smtp/index.ts";
import { openStore } from "../../src/store/open.ts";
import { args } from "./stats.ts";

const o = args({ smtpPort: 0, lmtpPort: 0, imapPort: 0, timeLimit: 1800, watchStdin: false });
const dir = await mkdtemp(join(tmpdir(), "mailroom-bench-smtp-"));
const logger = silentLogger();
const store = await openStore({
  backend: "sqlite",
  sqlitePath: join(dir, "mailroom.sqlite"),
  blobs: "auto",
  blobDir: join(dir, "blobs"),
  clock: systemClock,
  logger,
});
await store.createDomain("bench.test");
const cred = await makeCredential("bench");
for (let i = 1; i <= 20; i++) {
  const a = await store.createAccount({ name: `bench${i}@bench.test` });
  await store.setPassword(a.id, cred);
}
const listener = { bind: "127.0.0.1", tls: "none", maxConnectionsPerIp: 200 } as const;
const config = ConfigManager.fromObject({
  server: { dataDir: dir, hostname: "localhost" },
  listeners: {
    smtp: { ...listener, port: o.smtpPort },
    lmtp: { ...listener, port: o.lmtpPort },
    imap: { ...listener, port: o.imapPort, allowPlaintextAuth: true },
  },
  logging: { level: "warn" },
});
const server = await startServer({
  config,
  store,
  logger,
  resolver: new StaticResolver(),
  http: false,
  reloadOnSighup: false,
  protocols: { smtp: smtpProtocol("smtp"), lmtp: smtpProtocol("lmtp"), imap: imapProtocol },
});
const ports = server.ports();
console.log(
  JSON.stringify({
    pid: process.pid,
    smtp: ports["smtp"]?.port,
    lmtp: ports["lmtp"]?.port,
    imap: ports["imap"]?.port,
  }),
);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop({ graceMs: 1000 }); // closes the store too
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // A normal exit, so that --cpu-prof writes its profile.
  process.exit(0);
};
const onSignal = (): void => {
  stop().catch((e: unknown) => {
    process.stderr.write(`stop failed: ${String(e)}\n`);
    process.exit(1);
  });
};
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
// Bounded: never outlive a crashed parent by more than the limit.
setTimeout(onSignal, o.timeLimit * 1000).unref();
if (o.watchStdin) {
  // --watch-stdin: the parent holds our stdin open; its end (the parent gone) stops us.
  process.stdin.resume();
  process.stdin.on("end", onSignal);
}
