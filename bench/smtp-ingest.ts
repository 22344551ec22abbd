// SMTP and LMTP ingest, the `smtp-ingest` workload of ../shared/bench, against our server and
// the reference (Postfix 3.7 SMTP handing mail to Dovecot 2.3 LMTP; Dovecot LMTP direct), in
// one invocation, interleaved, with the same generated messages and flags:
//
//   node bench/smtp-ingest.ts [--runs 3] [--count 2000] [--concurrency 10] [--msgs-per-conn 10]
//     [--harness /tmp/bench-harness] [--ref-addr 127.0.0.42] [--ref-run /var/tmp/bench-ref-smtp]
//     [--time-limit 1200] [--profile DIR] [--out FILE]
//
// --harness is a copy of ../shared/bench with `npm ci` run in it (the shared folder is read
// only). The reference is started with its refconf/start.sh (BENCH_ADDR/BENCH_RUN as given)
// unless already running, and stopped with refconf/stop.sh at the end, its BENCH_RUN removed.
// Our server runs in a child process (bench/lib/smtp-ingest-server.ts: the `mailroom serve`
// protocol factories and store defaults, SQLite in a temp folder) so the harness can sample
// its CPU by pid; --profile DIR writes its CPU profile there (node --cpu-prof). Each run does,
// in turn: reference SMTP, ours SMTP, reference LMTP, ours LMTP. The harness's JSON lines are
// printed per side, then one summary line: end-to-end delivered/s (first MAIL FROM to the last
// message visible in IMAP STATUS) over SMTP and over LMTP, medians and ratios ours/reference
// (the target is 2x for both), p50/p99 latency (MAIL FROM to the final reply) and
// server CPU seconds per 1,000 messages.
//
// After each side's run the bench waits until that side's processes are idle (quiesce.ts):
// our search index catches up after a burst (2-3 s after 2,000 messages), and must not do
// so during the reference's run.
//
// Measured 2026-12-07 13:10 UTC on a quiet machine (2 cores, a slower host than the figures
// below it: Dovecot LMTP 419 vs 533/s in its first run), 2,000 messages of the default mix,
// 10 connections, 10 messages per connection, 3 interleaved runs, medians:
//                          delivered/s  ratio  accepted/s  p50 ms  p99 ms  server CPU s/1000 msgs
//   SMTP  Mailroom             872.9    3.36      882.2      9.3    33.6   1.17
//         Postfix -> Dovecot   260.0              415.9     20.3    57.2   6.69 (both trees)
//   LMTP  Mailroom             919.3    2.60      934.9      8.9    22.0   1.12
//         Dovecot LMTP         354.0              360.2     26.1    55.2   4.33
// Per run, LMTP: 1011.9/418.8 (2.42x), 919.3/354.0 (2.60x), 910.4/341.2 (2.67x); the
// reference slows as its maildirs grow (its CPU per run 7.2, 8.7, 9.4 s), ours does not.
// Our CPU figure leaves out the search indexing done after the burst (about 0.4-0.5 s per
// 1,000 messages, on the index thread); Dovecot here indexes nothing for search.
// What moved LMTP from 1.49x (the same machine, an hour before): (1) the search index's
// operations are held while the event loop is busy and handed to its thread once it quiets
// down (store/search/sqlite-deferred.ts): at nice 19 the thread still took 0.8-1.1 CPU s per
// 1,000 messages on the two cores during the burst; (2) the RCPT lookups (domain, recipient,
// account) come from a one-second cache of positive answers (store/directory-cache.ts):
// each had re-read its pages after other sessions' COMMITs. Main-thread CPU per 1,000 LMTP
// messages went from 1.4-1.5 s to 0.92-1.03 s.
//
// Measured 2026-12-07 in the morning, on another host (2 cores, load < 1.5 at the start;
// Postfix 3.7 and Dovecot 2.3 from Debian, maildir), 2,000 messages of the default mix, 10 connections, 10
// messages per connection, 3 interleaved runs, medians:
//                          delivered/s  ratio  accepted/s  p50 ms  p99 ms  server CPU s/1000 msgs
//   SMTP  Mailroom             911.1    3.20      937.6      9.4    23.1   1.48
//         Postfix -> Dovecot   284.4              590.9     15.1    36.9   6.09 (both trees)
//   LMTP  Mailroom             872.1    1.63      882.7      9.7    21.9   1.53
//         Dovecot LMTP         533.4              544.8     17.3    37.2   2.88
// SMTP meets the 2x target; LMTP does not (1.63x; the reference moves most between runs:
// Dovecot LMTP gave 449 to 664/s within the quiet runs of the day, ours 833 to 970/s, so
// 1.3x to 2.0x per run). One transaction now carries the append batches of every account
// (store/append.ts; before, one per recipient account): 868 COMMITs for the 2,000 LMTP
// messages instead of 1,830, and server CPU per 1,000 messages 1.59-1.66 -> 1.38-1.53 (LMTP)
// and 1.70-1.77 -> 1.46-1.49 (SMTP) in back-to-back runs of both versions. Per thread, for
// 1,000 LMTP messages: main thread 0.85-1.06 s, the search index worker (nice 19) 0.58 s,
// the checkpointer 0.08 s; with the client's 0.6 s the 2 cores are busy, so the machine
// bounds the run as much as our event loop. Where the main thread's time goes (--profile):
// SQLite about 35% (COMMIT writing the WAL frames about 14%; in-transaction inserts; point
// reads on the reader connection about 8%: the recipient's domain, address and account at
// RCPT, each first read after another connection's COMMIT re-reading its pages), socket
// writes 10% and reads 6% (the client does not pipeline: 4 replies a message), MIME
// parsing 8%, the rest sessions and delivery. The next levers: sessions on more than one
// thread, fewer random index pages per message (random ids and blob hashes each dirty a
// leaf page of their index per COMMIT), and fewer reads at RCPT.
// History: 0.87x SMTP and 0.52x LMTP on 2026-11-22 before the store's asynchronous WAL sync,
// the search index worker and pipelined group commit; 2.41x and 1.34x (798 and 802/s, CPU
// 1.69 and 1.64 s/1000) earlier on 2026-12-07, with one transaction per account.

import { spawn, execFile } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { appendFile, mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { quiesce } from "./lib/quiesce.ts";
import { args, median, timeLimit } from "./lib/stats.ts";

const o = args({
  runs: 3,
  count: 2000,
  concurrency: 10,
  msgsPerConn: 10,
  harness: process.env["BENCH_HARNESS"] ?? "/tmp/bench-harness",
  refAddr: "127.0.0.42",
  refRun: "/var/tmp/bench-ref-smtp",
  keepReference: false,
  timeLimit: 1200,
  profile: "",
  out: "",
});
timeLimit(o.timeLimit);
const deadline = Date.now() + o.timeLimit * 1000;
const harness = resolve(o.harness);
if (!existsSync(join(harness, "smtp-ingest.mjs")) || !existsSync(join(harness, "node_modules"))) {
  throw new Error(`no harness at ${harness}: copy ../shared/bench there and run npm ci`);
}
if (!/^127\./.test(o.refAddr)) throw new Error("--ref-addr must be a loopback address");
const run = promisify(execFile);
const refEnv = { ...process.env, BENCH_ADDR: o.refAddr, BENCH_RUN: o.refRun };
const refconf = join(harness, "refconf");

/** Runs a refconf script; output goes to a log file (its daemons must not hold our pipes). */
async function refScript(name: string, ...argv: string[]): Promise<void> {
  await mkdir(o.refRun, { recursive: true });
  const fd = openSync(join(o.refRun, "bench-refconf.log"), "a");
  try {
    const child = spawn(join(refconf, name), argv, { env: refEnv, stdio: ["ignore", fd, fd] });
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    if (code !== 0) throw new Error(`refconf/${name} ${argv.join(" ")} exited with ${code}`);
  } finally {
    closeSync(fd);
  }
}
async function refPids(what: string): Promise<string> {
  const { stdout } = await run(join(refconf, "pids.sh"), [what], { env: refEnv, timeout: 10_000 });
  return stdout.trim();
}

interface Ours {
  pid: number;
  smtp: number;
  lmtp: number;
  imap: number;
  stop(): Promise<void>;
}
async function startOurs(): Promise<Ours> {
  const node = process.execPath;
  const prof = o.profile ? ["--cpu-prof", "--cpu-prof-dir", resolve(o.profile)] : [];
  const child = spawn(
    node,
    [
      ...prof,
      join(import.meta.dirname, "lib/smtp-ingest-server.ts"),
      "--watch-stdin",
      "--time-limit",
      String(o.timeLimit),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((res) => child.on("exit", () => res()));
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((res, rej) => {
    lines.once("line", res);
    child.once("exit", (c) => rej(new Error(`our server exited with ${c}`)));
  });
  const p = JSON.parse(first) as Omit<Ours, "stop">;
  return {
    ...p,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

interface Line {
  e2e_delivered_per_s: number | null;
  msgs_per_s: number;
  errors: number;
  delivered?: number;
  latency: { p50_ms: number; p99_ms: number };
  server?: { cpu_s?: number };
}
interface Side {
  label: string;
  host: string;
  ports: string[];
  pid: string;
  lmtp: boolean;
  lines: Line[];
}

async function ingest(side: Side, i: number): Promise<void> {
  const left = Math.floor((deadline - Date.now()) / 1000) - 30;
  if (left < 30) throw new Error("time limit too short for another run");
  const { stdout } = await run(
    process.execPath,
    [
      join(harness, "smtp-ingest.mjs"),
      "--host",
      side.host,
      ...side.ports,
      "--pid",
      side.pid,
      "--label",
      side.label,
      "--tag",
      `run${i + 1}`,
      "--count",
      String(o.count),
      "--concurrency",
      String(o.concurrency),
      "--msgs-per-conn",
      String(o.msgsPerConn),
      "--time-limit",
      String(left),
      ...(side.lmtp ? ["--lmtp"] : []),
      ...(o.out ? ["--out", resolve(o.out)] : []),
    ],
    { cwd: harness, timeout: (left + 10) * 1000, maxBuffer: 1 << 24 },
  );
  const last = stdout.trim().split("\n").pop() ?? "";
  console.log(last);
  side.lines.push(JSON.parse(last) as Line);
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
function figures(s: Side): Record<string, number> {
  const med = (f: (l: Line) => number): number => r2(median(s.lines.map(f)));
  return {
    e2e_delivered_per_s: med((l) => l.e2e_delivered_per_s ?? 0),
    accepted_per_s: med((l) => l.msgs_per_s),
    p50_ms: med((l) => l.latency.p50_ms),
    p99_ms: med((l) => l.latency.p99_ms),
    cpu_s_per_1000: med((l) => ((l.server?.cpu_s ?? NaN) * 1000) / o.count),
    errors: s.lines.reduce((n, l) => n + l.errors, 0),
  };
}

let startedRef = false;
let ours: Ours | null = null;
try {
  if (!(await refPids("all")).includes(",")) {
    await refScript("start.sh");
    startedRef = true;
  }
  const refAll = await refPids("all");
  const refDovecot = await refPids("dovecot");
  ours = await startOurs();
  const refPorts = ["--smtp-port", "10025", "--lmtp-port", "10024", "--imap-port", "10143"];
  const ourPorts = [
    "--smtp-port",
    String(ours.smtp),
    "--lmtp-port",
    String(ours.lmtp),
    "--imap-port",
    String(ours.imap),
  ];
  const sides: Side[] = [
    { label: "reference-smtp", host: o.refAddr, ports: refPorts, pid: refAll, lmtp: false, lines: [] },
    {
      label: "mailroom-smtp",
      host: "127.0.0.1",
      ports: ourPorts,
      pid: String(ours.pid),
      lmtp: false,
      lines: [],
    },
    { label: "reference-lmtp", host: o.refAddr, ports: refPorts, pid: refDovecot, lmtp: true, lines: [] },
    {
      label: "mailroom-lmtp",
      host: "127.0.0.1",
      ports: ourPorts,
      pid: String(ours.pid),
      lmtp: true,
      lines: [],
    },
  ];
  for (let i = 0; i < o.runs; i++) {
    for (const s of sides) {
      await ingest(s, i);
      // Background work of this side (our search index catching up) finishes before the
      // next side's run starts; the time it took is printed.
      console.log(JSON.stringify({ quiesce_s: await quiesce(s.pid), after: s.label }));
    }
  }
  const [rs, ms, rl, ml] = sides.map(figures) as [
    Record<string, number>,
    Record<string, number>,
    Record<string, number>,
    Record<string, number>,
  ];
  const summary = {
    workload: "smtp-ingest",
    summary: true,
    runs: o.runs,
    count: o.count,
    concurrency: o.concurrency,
    msgs_per_conn: o.msgsPerConn,
    smtp: {
      mailroom: ms,
      reference: rs,
      e2e_ratio: r2(ms["e2e_delivered_per_s"]! / rs["e2e_delivered_per_s"]!),
    },
    lmtp: {
      mailroom: ml,
      reference: rl,
      e2e_ratio: r2(ml["e2e_delivered_per_s"]! / rl["e2e_delivered_per_s"]!),
    },
    target_ratio: 2,
    reference: "Postfix SMTP -> Dovecot LMTP (maildir); Dovecot LMTP direct",
  };
  console.log(JSON.stringify(summary));
  if (o.out) await appendFile(resolve(o.out), JSON.stringify(summary) + "\n");
} finally {
  if (ours) await ours.stop();
  if (startedRef && !o.keepReference) {
    await refScript("stop.sh");
    await rm(o.refRun, { recursive: true, force: true });
  }
}
