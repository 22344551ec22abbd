// RFC 9051 §6.2.3 LOGIN and §6.2.2 AUTHENTICATE (SASL-IR, RFC 4959), through the shared SASL
// module (src/auth/authenticator.ts). Plaintext logins are refused before TLS unless the
// listener or auth.allowPlaintextWithoutTls allows them (LOGINDISABLED, RFC 9051 §6.2.3).
// Failure reasons map once here (RFC 5530 §3 codes). Success: the tagged OK carries the new
// CAPABILITY (RFC 9051 §6.2.2).
import type { AuthFailureReason, AuthResult } from "../../../../auth/types.ts";
import { capabilityCode, continuation, parseSaslResponse } from "../../wire/index.ts";
import { command, NOTAUTH } from "../command.ts";
import type { Completion } from "../command.ts";
import { bad, no } from "../errors.ts";
import type { ImapError } from "../errors.ts";
import type { ImapSession } from "../session.ts";
import type { AuthenticateArgs, LoginArgs } from "../../wire/index.ts";

function failure(reason: AuthFailureReason, message: string): ImapError {
  switch (reason) {
    case "bad-credentials":
      return no("AUTHENTICATIONFAILED", "Authentication failed");
    case "temporary":
      return no("UNAVAILABLE", message);
    case "encrypt-needed":
      return no("PRIVACYREQUIRED", `${message}: use STARTTLS or the imaps port`);
    case "malformed":
      return bad(`Authentication failed: ${message}`);
    case "not-supported":
      return no("CANNOT", message);
  }
}

/** A failed attempt: the configured delay; too many close the connection. */
async function failed(s: ImapSession, err: ImapError): Promise<never> {
  const limits = s.ctx.config.current().limits;
  if (limits.authFailureDelayMs > 0)
    await new Promise((r) => setTimeout(r, limits.authFailureDelayMs).unref());
  failures.set(s, (failures.get(s) ?? 0) + 1);
  if ((failures.get(s) ?? 0) >= limits.authFailuresBeforeDisconnect) s.state = "logout";
  throw err;
}
const failures = new WeakMap<ImapSession, number>();

/** Enters the authenticated state, unless the account is at limits.maxConnectionsPerUser. */
function success(s: ImapSession, result: AuthResult): Completion {
  if (!s.authenticated(result)) {
    const limit = s.ctx.config.current().limits.maxConnectionsPerUser;
    // RFC 5530 §3 LIMIT; the credentials were right, so no failed attempt is counted
    throw no("LIMIT", `Too many sessions for this account (at most ${limit})`);
  }
  return { text: "Logged in", code: capabilityCode(s.capabilities()) };
}

export const login = command<LoginArgs>({
  name: "LOGIN",
  states: NOTAUTH,
  async handle(s, args) {
    if (!s.plaintextAllowed())
      throw no("PRIVACYREQUIRED", "Plaintext login is disabled before TLS: use STARTTLS");
    const out = await s.ctx.auth.verifyPlain(args.username, args.password, {
      ip: s.info.remoteAddress,
      mechanism: "LOGIN",
    });
    if (!out.ok) return failed(s, failure(out.reason, out.message));
    return success(s, out.result);
  },
});

export const authenticate = command<AuthenticateArgs>({
  name: "AUTHENTICATE",
  states: NOTAUTH,
  async handle(s, args) {
    const offered = s.ctx.auth.mechanisms({ tls: s.tls, plaintextAllowed: s.plaintextAllowed() });
    if (!offered.includes(args.mechanism)) {
      if (!s.plaintextAllowed() && ["PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2"].includes(args.mechanism))
        throw no("PRIVACYREQUIRED", "Plaintext authentication is disabled before TLS: use STARTTLS");
      throw no("CANNOT", `Mechanism ${args.mechanism} is not available`);
    }
    const mech = s.ctx.auth.createMechanism(args.mechanism, s.saslConnection());
    let step = await mech.start(args.initialResponse);
    const respond = async (data: Buffer): Promise<Buffer | null> => {
      // RFC 9051 §6.2.2: the challenge as base64 in a continuation ("+ " alone for empty)
      s.send(continuation(data.toString("base64")));
      const line = await s.readLine();
      if (line === null) throw bad("Authentication response too long or connection closed");
      const r = parseSaslResponse(line);
      if (r === "cancel") throw bad("Authentication cancelled");
      if (!Buffer.isBuffer(r)) throw bad(r.message);
      return r;
    };
    while (step.type === "challenge") {
      const data = await respond(step.data);
      if (data === null) return;
      step = await mech.step(data);
    }
    if (step.type === "failure") return failed(s, failure(step.reason, step.message));
    // RFC 9051 §6.2.2: additional data with success goes in one more continuation
    if (step.data !== undefined && step.data.length > 0) await respond(step.data);
    return success(s, step.result);
  },
});
