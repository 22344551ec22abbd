// POP3 RETR throughput, the `pop3-retr` workload of ../shared/bench against our server: a
// 1,000-message INBOX (the shared generator's messages, byte-identical to what the reference
// servers get), one session: USER/PASS, STAT, UIDL, RETR 1..M one at a time, QUIT (no DELE).
//
//   node bench/pop3-retr.ts [--messages 1000] [--runs 3] [--port 0] [--time-limit 300]
//
// The store is populated directly (bench1..bench20@bench.test, password "bench", as the shared
// harness expects; bench8's INBOX filled) since the shared script populates over IMAP. The
// client is the shared harness's raw POP3 client (lib/pop3.mjs), run in a child process so it
// does not share the server's event loop. Prints one JSON line per run and a summary with the
// median and its ratio to the Dovecot figure of ../shared/bench/BASELINE.md (1022 msgs/s);
// the target is 2x.
//
// With --reference-port P (and --reference-host H) the same client also runs against a
// reference server there (Dovecot from ../shared/bench/refconf, bench8's INBOX filled by
// `node ../shared/bench/populate.mjs --user bench8 --mailbox INBOX --messages 1000 --host H`),
// interleaved with ours, and the ratio is taken between the two medians of this run. With
// --reference-pid (the Dovecot master's pid) the reference's CPU seconds per run are read from
// /proc as well, to compare CPU per message, which the shared machine disturbs less.
//
// The store uses its default blob placement ("auto", as `mailroom serve` does): messages up
// to 256 KiB are rows of SQLite, read synchronously. Server CPU is reported for the whole run
// (server_cpu_s) and for the RETR loop alone (retr_cpu_s: the client marks its start and end
// and waits while the runner samples process.cpuUsage(), or the Dovecot pop3 process in /proc).
//
// With --floor the same client also runs against bench/lib/pop3-floor.ts, a server that
// answers from memory: the client's own round-trip floor, and so the best ratio any server
// could show here.
//
// Measured 2026-12-07 on a quiet machine (2 cores, load < 1; Dovecot 2.3 maildir from Debian
// on 127.0.0.42; 5 interleaved runs of 1,000 RETRs of 28 KB, --floor):
//   Mailroom   4,716 msgs/s (median; 4,915 in a run without the floor), RETR loop CPU 0.20 s
//   Dovecot    5,342 msgs/s, RETR loop CPU 0.05 s (its pop3 process) + login processes
//   floor      9,292 msgs/s (8,383-12,379)
//   ratio 0.88; the floor is 1.74x Dovecot: no server reaches the 2x target through this
//   client on this machine, the loopback round trip of the harness's client being most of
//   Dovecot's time per message already.
// Our time per RETR over the floor's is the store read of the message and our answer's
// writes (see --profile).
//
import "../src/core/threadpool.ts";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { makeCredential } from "../src/auth/password.ts";
import { ConfigManager } from "../src/config/reload.ts";
import { systemClock } from "../src/core/clock.ts";
import { silentLogger } from "../src/core/logger.ts";
import { startServer } from "../src/core/server.ts";
import { StaticResolver } from "../src/dns/resolver.ts";
import { parseMessage } from "../src/mail/parse.ts";
import { pop3Protocol } from "../src/protocols/pop3/server/protocol.ts";
import { openStore } from "../src/store/open.ts";
import { startFloorServer, type FloorServer } from "./lib/pop3-floor.ts";
import { args, median, timeLimit } from "./lib/stats.ts";

const o = args({
  messages: 1000,
  runs: 3,
  port: 0,
  timeLimit: 300,
  sharedBench: "",
  profile: "",
  referenceHost: "127.0.0.1",
  referencePort: 0,
  referencePid: 0,
  floor: false,
});
timeLimit(o.timeLimit);
const DOVECOT_BASELINE = 1022;
const shared = resolve(
  o.sharedBench || process.env["BENCH_SHARED"] || join(import.meta.dirname, "../../shared/bench"),
);
if (!existsSync(join(shared, "lib/pop3.mjs"))) throw new Error(`shared bench harness not found at ${shared}`);

interface Generated {
  raw: Buffer;
  date: Date;
}
const gen = (await import(pathToFileURL(join(shared, "lib/msggen.mjs")).href)) as {
  buildMessage: (i: number, opts: { seed?: number; mix?: string; to?: string }) => Generated;
};

const dir = await mkdtemp(join(tmpdir(), "mailroom-bench-pop3-"));
const logger = silentLogger();
const store = await openStore({
  backend: "sqlite",
  sqlitePath: join(dir, "mailroom.sqlite"),
  // The default placement, as `mailroom serve` uses it: messages up to 256 KiB inline in SQLite.
  blobs: "auto",
  clock: systemClock,
  logger,
});
const USER = "bench8@bench.test";
await store.createDomain("bench.test");
const cred = await makeCredential("bench");
let accountId = "";
for (let i = 1; i <= 20; i++) {
  const a = await store.createAccount({ name: `bench${i}@bench.test` });
  await store.setPassword(a.id, cred);
  if (a.name === USER) accountId = a.id;
}
const inbox = (await store.listMailboxes(accountId)).find((b) => b.role === "inbox");
if (!inbox) throw new Error("no INBOX");
const tPop = performance.now();
let octets = 0;
const generated: Buffer[] = [];
for (let start = 0; start < o.messages; start += 100) {
  const batch = [];
  for (let i = start; i < Math.min(o.messages, start + 100); i++) {
    const m = gen.buildMessage(i, { seed: 1, to: USER });
    octets += m.raw.length;
    generated.push(m.raw);
    batch.push({
      raw: m.raw,
      parsed: parseMessage(m.raw),
      mailboxIds: [inbox.id],
      keywords: [],
      receivedAt: m.date.getTime(),
    });
  }
  await store.appendEmails(accountId, batch);
}
process.stderr.write(
  `populated ${o.messages} messages (${(octets / 1048576).toFixed(1)} MB) in ${((performance.now() - tPop) / 1000).toFixed(1)} s\n`,
);

const config = ConfigManager.fromObject({
  server: { dataDir: dir, hostname: "localhost" },
  listeners: { pop3: { bind: "127.0.0.1", port: o.port, allowPlaintextAuth: true } },
  logging: { level: "warn" },
});
const server = await startServer({
  config,
  store,
  logger,
  resolver: new StaticResolver(),
  http: false,
  reloadOnSighup: false,
  protocols: { pop3: pop3Protocol },
});
const port = server.ports()["pop3"]?.port ?? 0;
// --floor: the same client against a server answering from memory (bench/lib/pop3-floor.ts).
const floor: FloorServer | null = o.floor ? await startFloorServer(generated) : null;

// The timed part of ../shared/bench/pop3-retr.mjs, with its client.
const CLIENT = `
import { Pop3 } from ${JSON.stringify(pathToFileURL(join(shared, "lib/pop3.mjs")).href)};
const [port, user, host] = [Number(process.argv[1]), process.argv[2], process.argv[3]];
const now = () => performance.now();
const p = new Pop3({ host, port });
const tLogin = now();
await p.connect();
await p.cmd("USER " + user);
await p.cmd("PASS bench");
const loginMs = now() - tLogin;
const stat = await p.cmd("STAT");
const n = Number(stat.line.split(" ")[1]);
const uidl = await p.cmd("UIDL", { multi: true });
// The runner samples the server's CPU time at each mark (it answers with a line on stdin).
let go = null;
process.stdin.on("data", () => go?.());
const mark = () => new Promise((r) => { go = r; process.stdout.write("MARK\\n"); });
const lat = [];
let bytes = 0;
await mark();
const t0 = now();
for (let i = 1; i <= n; i++) { const r = await p.cmd("RETR " + i, { multi: true }); lat.push(r.ms); bytes += r.bytes; }
const retrS = (now() - t0) / 1000;
await mark();
process.stdin.destroy();
const quit = await p.cmd("QUIT");
p.destroy();
lat.sort((a, b) => a - b);
console.log(JSON.stringify({ messages: n, login_ms: loginMs, stat_ms: stat.ms, uidl_ms: uidl.ms, quit_ms: quit.ms,
  retr_s: retrS, retr_msgs_per_s: n / retrS, retr_mb_per_s: bytes / 1048576 / retrS,
  retr_p50_ms: lat[Math.floor(lat.length / 2)], retr_p99_ms: lat[Math.floor(lat.length * 0.99)] }));
`;
/** Runs the client; `onMark` is called at each of its marks, before it goes on. */
const runClient = (host: string, p: number, onMark: () => void): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CLIENT, String(p), USER, host], {
      stdio: ["pipe", "pipe", "inherit"],
      timeout: o.timeLimit * 1000,
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      while (out.startsWith("MARK\n")) {
        out = out.slice(5);
        onMark();
        child.stdin.write("\n");
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`client exit ${code}`))));
  });
// --profile FILE: a CPU profile of the server during the timed runs only (not the populating).
const inspector = o.profile ? new Session() : null;
if (inspector) {
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.start");
}
const r2 = (x: number): number => Math.round(x * 100) / 100;
/**
 * CPU seconds of the reference's finished children (/proc/PID/stat cutime + cstime of the
 * Dovecot master, which reaps the pop3-login and pop3 processes of a session), or null.
 */
const procStat = (pid: string | number): { comm: string; f: string[] } | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    return { comm, f: stat.slice(stat.lastIndexOf(")") + 2).split(" ") };
  } catch {
    return null;
  }
};
/** CPU seconds of the reference's live pop3 processes (the session's, during the RETRs). */
const referenceSessionCpu = (): number => {
  let t = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const s = procStat(pid);
    if (s?.comm === "pop3" && s.f[1] === String(o.referencePid)) t += Number(s.f[11]) + Number(s.f[12]);
  }
  return t / 100;
};
const referenceCpu = (): number | null => {
  const s = o.referencePid > 0 ? procStat(o.referencePid) : null;
  return s === null ? null : (Number(s.f[13]) + Number(s.f[14])) / 100;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rates: number[] = [];
const refRates: number[] = [];
const floorRates: number[] = [];
const cpus: number[] = [];
const refCpus: number[] = [];
const retrCpus: number[] = [];
const refRetrCpus: number[] = [];
const once = async (label: string, host: string, p: number): Promise<number> => {
  const cpu0 = process.cpuUsage();
  const ref0 = label === "reference" ? referenceCpu() : null;
  // CPU of the server during the RETRs only (between the client's two marks).
  const marks: number[] = [];
  const stdout = await runClient(host, p, () => {
    if (label === "mailroom") {
      const c = process.cpuUsage();
      marks.push((c.user + c.system) / 1e6);
    } else if (o.referencePid > 0) marks.push(referenceSessionCpu());
  });
  const cpu = process.cpuUsage(cpu0);
  const retrCpu = marks.length === 2 ? (marks[1] ?? 0) - (marks[0] ?? 0) : null;
  if (retrCpu !== null) (label === "mailroom" ? retrCpus : refRetrCpus).push(retrCpu);
  const r = JSON.parse(stdout) as Record<string, number>;
  const rounded = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, r2(v)]));
  let ours = {};
  if (label === "mailroom") {
    cpus.push((cpu.user + cpu.system) / 1e6);
    ours = {
      server_cpu_s: r2((cpu.user + cpu.system) / 1e6),
      server_user_s: r2(cpu.user / 1e6),
      server_sys_s: r2(cpu.system / 1e6),
    };
  } else if (ref0 !== null) {
    await sleep(300); // the session's processes exit and are reaped
    refCpus.push((referenceCpu() ?? 0) - ref0);
    ours = { server_cpu_s: r2((referenceCpu() ?? 0) - ref0) };
  }
  const retr = retrCpu === null ? {} : { retr_cpu_s: r2(retrCpu) };
  console.log(JSON.stringify({ workload: "pop3-retr", label, ...rounded, ...ours, ...retr }));
  return r["retr_msgs_per_s"] ?? 0;
};
try {
  for (let i = 0; i < o.runs; i++) {
    if (o.referencePort > 0) refRates.push(await once("reference", o.referenceHost, o.referencePort));
    rates.push(await once("mailroom", "127.0.0.1", port));
    if (floor) floorRates.push(await once("floor", "127.0.0.1", floor.port));
  }
  const med = median(rates);
  const ref = o.referencePort > 0 ? median(refRates) : DOVECOT_BASELINE;
  console.log(
    JSON.stringify({
      workload: "pop3-retr",
      summary: true,
      runs: o.runs,
      median_retr_msgs_per_s: r2(med),
      reference: o.referencePort > 0 ? "measured in this run" : "../shared/bench/BASELINE.md",
      reference_retr_msgs_per_s: r2(ref),
      ratio: r2(med / ref),
      target_ratio: 2,
      // The most any server could reach through this client here, and as a ratio.
      ...(floor
        ? { floor_retr_msgs_per_s: r2(median(floorRates)), floor_ratio: r2(median(floorRates) / ref) }
        : {}),
      median_server_cpu_s: r2(median(cpus)),
      median_retr_cpu_s: r2(median(retrCpus)),
      ...(refRetrCpus.length > 0 ? { reference_median_retr_cpu_s: r2(median(refRetrCpus)) } : {}),
      ...(refCpus.length > 0 ? { reference_median_server_cpu_s: r2(median(refCpus)) } : {}),
    }),
  );
} finally {
  if (inspector) {
    const { profile } = await inspector.post("Profiler.stop");
    await writeFile(o.profile, JSON.stringify(profile));
    inspector.disconnect();
  }
  await server.stop({ graceMs: 1000 });
  await floor?.close();
  await rm(dir, { recursive: true, force: true });
}
