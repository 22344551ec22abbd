// A validating resolver for tests: Debian's unbound on 127.0.0.1, serving zones the test
// writes, signed with Debian's ldns tools (ldns-keygen, ldns-signzone) where asked. The zones
// are unbound `auth-zone`s with `for-upstream: yes`, so their answers go through unbound's
// validator as if fetched from an authoritative server: a signed zone's answers carry the AD
// bit (its KSK is the trust anchor), an unsigned zone is insecure (no anchor above it), and
// a record changed after signing is bogus (SERVFAIL).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ZoneSpec {
  /** The origin, e.g. "dane.test" (SOA and NS are added). */
  name: string;
  /** Zone file lines below the origin, e.g. "mx IN A 127.0.0.1". */
  records: string[];
  /** Sign with a fresh KSK and ZSK and trust the KSK (default true). */
  signed?: boolean;
  /** Edits the signed zone file text (a record changed after signing makes it bogus). */
  afterSigning?: (text: string) => string;
}

export interface Unbound {
  /** "127.0.0.1:PORT", as queue.daneResolver and the system resolver take it. */
  address: string;
  port: number;
  /** What unbound logged (validation failures at val-log-level 2). */
  log(): string;
  close(): Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1, found by binding port 0. */
async function freePort(): Promise<number> {
  for (;;) {
    const udp = createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    const port = udp.address().port;
    const tcp = createServer();
    const ok = await new Promise<boolean>((r) => {
      tcp.once("error", () => r(false));
      tcp.listen(port, "127.0.0.1", () => r(true));
    });
    if (ok) await new Promise((r) => tcp.close(r));
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) return port;
  }
}

/** Writes and (by default) signs a zone; returns its file and the trust anchor (DS) if signed. */
async function writeZone(dir: string, z: ZoneSpec): Promise<{ file: string; anchor?: string }> {
  const origin = z.name.replace(/\.$/, "");
  const text = [
    `$ORIGIN ${origin}.`,
    "$TTL 300",
    `@ IN SOA ns.${origin}. hostmaster.${origin}. 1 3600 600 86400 300`,
    `@ IN NS ns.${origin}.`,
    "ns IN A 127.0.0.1",
    ...z.records,
    "",
  ].join("\n");
  const file = join(dir, `${origin}.zone`);
  await writeFile(file, text);
  if (z.signed === false) return { file };
  const keygen = async (ksk: boolean): Promise<string> =>
    (
      await run("ldns-keygen", ["-a", "ECDSAP256SHA256", ...(ksk ? ["-k"] : []), origin], { cwd: dir })
    ).stdout.trim();
  const ksk = await keygen(true);
  const zsk = await keygen(false);
  // Signatures valid from now for ldns-signzone's default four weeks; NSEC denial.
  await run("ldns-signzone", ["-f", `${file}.signed`, file, ksk, zsk], { cwd: dir });
  if (z.afterSigning)
    await writeFile(`${file}.signed`, z.afterSigning(await readFile(`${file}.signed`, "utf8")));
  // "<owner> IN DS <tag> <alg> <type> <digest>" -> unbound's trust-anchor "<owner> DS ...".
  const ds = (await readFile(join(dir, `${ksk}.ds`), "utf8")).trim().split(/\s+/);
  return { file: `${file}.signed`, anchor: [ds[0], ...ds.slice(2)].join(" ") };
}

async function launch(dir: string, conf: string): Promise<{ proc: ChildProcess; out: () => string }> {
  // Debian installs it in /usr/sbin, which a user's PATH may lack.
  const bin = existsSync("/usr/sbin/unbound") ? "/usr/sbin/unbound" : "unbound";
  const proc = spawn(bin, ["-d", "-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill();
      reject(new Error(`unbound did not start in ${dir}:\n${out}`));
    }, 10_000);
    const check = (): void => {
      if (out.includes("start of service")) {
        clearTimeout(t);
        resolve();
      }
    };
    proc.stderr.on("data", check);
    proc.stdout.on("data", check);
    proc.once("error", (e) => {
      clearTimeout(t);
      reject(new Error(`cannot run unbound (Debian package unbound): ${e.message}`));
    });
    proc.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`unbound exited (${String(code)}):\n${out}`));
    });
  });
  return { proc, out: () => out };
}

/** Starts unbound on 127.0.0.1 (a free port) validating the given zones. */
export async function startUnbound(zones: ZoneSpec[]): Promise<Unbound> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-unbound-"));
  try {
    const written = [];
    for (const z of zones) written.push({ z, ...(await writeZone(dir, z)) });
    const anchors = written.flatMap((w) => (w.anchor !== undefined ? [w.anchor] : []));
    const tlds = [...new Set(zones.map((z) => z.name.replace(/\.$/, "").split(".").pop()!))];
    // A port taken between freePort and unbound's bind: try another.
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const conf = join(dir, "unbound.conf");
      await writeFile(
        conf,
        [
          "server:",
          `  interface: 127.0.0.1`,
          `  port: ${port}`,
          "  do-daemonize: no",
          '  username: ""',
          '  chroot: ""',
          `  directory: "${dir}"`,
          '  pidfile: ""',
          "  use-syslog: no",
          '  logfile: ""',
          "  verbosity: 1",
          "  val-log-level: 2",
          "  num-threads: 1",
          "  so-reuseport: no",
          "  outgoing-range: 64",
          "  access-control: 127.0.0.0/8 allow",
          '  module-config: "validator iterator"',
          // RFC 6761 names (test., invalid.) are refused by unbound's default local zones.
          ...tlds.map((t) => `  local-zone: "${t}." nodefault`),
          ...anchors.map((a) => `  trust-anchor: "${a}"`),
          ...written.flatMap((w) => [
            "auth-zone:",
            `  name: "${w.z.name}"`,
            `  zonefile: "${w.file}"`,
            "  for-upstream: yes",
            "  for-downstream: no",
            "  fallback-enabled: no",
          ]),
          "remote-control:",
          "  control-enable: no",
          "",
        ].join("\n"),
      );
      try {
        const { proc, out } = await launch(dir, conf);
        return {
          port,
          address: `127.0.0.1:${port}`,
          log: out,
          async close() {
            if (proc.exitCode === null) {
              const gone = new Promise((r) => proc.once("exit", r));
              proc.kill("SIGTERM");
              await gone;
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (e) {
        if (attempt >= 2 || !/could not open|bind/i.test(String(e))) throw e;
      }
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
