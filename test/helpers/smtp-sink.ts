// Postfix's smtp-sink (Debian package postfix) as a remote MX in tests: started on a loopback
// address and port with the given flags (-r/-f: 4xx/5xx for commands, -q: silent disconnect,
// -Q: 421), stopped at the end.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect as netConnect, createServer, type AddressInfo } from "node:net";
import { userInfo } from "node:os";

export const SMTP_SINK = "/usr/sbin/smtp-sink";

/** The tests need it (.ci/run installs Debian's postfix); a clear failure, never a skip. */
function requireSmtpSink(): void {
  if (!existsSync(SMTP_SINK))
    throw new Error(`${SMTP_SINK} is missing: install Debian's postfix (.ci/run does)`);
}

/** A port free on every given loopback address (so several sinks can share it). */
export async function freeSharedPort(addresses: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = createServer();
    s.listen(0, addresses[0] ?? "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    let free = true;
    for (const a of addresses.slice(1)) {
      const t = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        t.once("error", () => resolve(false));
        t.listen(port, a, () => resolve(true));
      });
      if (ok) await new Promise((r) => t.close(r));
      else free = false;
    }
    if (free) return port;
  }
  throw new Error("no shared free port");
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, host);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export interface SinkProcess {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function startSink(host: string, port: number, flags: string[] = []): Promise<SinkProcess> {
  requireSmtpSink();
  const child: ChildProcess = spawn(
    SMTP_SINK,
    ["-u", userInfo().username, ...flags, `${host}:${port}`, "100"],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise((r) => child.once("exit", r));
  for (let i = 0; i < 150 && !(await canConnect(host, port)); i++)
    await new Promise((r) => setTimeout(r, 20));
  return {
    host,
    port,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid);
      await exited;
    },
  };
}
