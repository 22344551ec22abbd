// Shared by the outbound SMTP client tests (client*.test.ts): short per-phase time limits and
// a helper that answers the SmtpClientError a promise rejects with, and loopback servers.
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { SmtpClientError, type Timeouts } from "../../src/protocols/smtp/client/index.ts";

/** Time limits for tests on loopback: a stuck exchange fails in seconds, not minutes. */
export const TEST_TIMEOUTS: Partial<Timeouts> = {
  greetingMs: 5000,
  ehloMs: 5000,
  mailMs: 5000,
  rcptMs: 5000,
  dataInitMs: 5000,
  dataTermMs: 5000,
};

/** The SmtpClientError a promise rejects with (fails when it resolves or throws another). */
export async function rejection(p: Promise<unknown>): Promise<SmtpClientError> {
  const e = await p.then(
    () => assert.fail("resolved"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof SmtpClientError, String(e));
  return e;
}

/** A TCP server on 127.0.0.1 port 0, listening, with its port. */
export async function listenLoopback(
  onConnection?: (s: Socket) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  return { server, port: (server.address() as AddressInfo).port };
}
