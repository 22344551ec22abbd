// AUTH (RFC 4954 §4) through the shared Authenticator (SASL, RFC 4422): the initial response
// on the command line (SASL-IR), 334 challenges, "*" to cancel, and one mapping of failure
// reasons to replies (235 / 535 5.7.8 / 454 4.7.0 / 538 5.7.11 / 501 5.5.2 / 504 5.5.4).
// Channel binding (the -PLUS mechanisms, RFC 9266) is offered on TLS connections.
import type { TLSSocket } from "node:tls";
import { tlsChannelBinding } from "../../../../auth/sasl/channel-binding.ts";
import type { SaslConnection, Step } from "../../../../auth/sasl/types.ts";
import type { AuthFailureReason } from "../../../../auth/types.ts";
import type { AuthCommand } from "../../wire/commands.ts";
import { formatAuthChallenge, parseAuthResponse } from "../../wire/commands.ts";
import type { ReplyName } from "../../wire/replies.ts";
import { reply } from "../../wire/replies.ts";
import type { CommandDescriptor, SmtpSession } from "../session.ts";

const FAILURE: Record<AuthFailureReason, ReplyName> = {
  "bad-credentials": "AUTH_FAILED",
  temporary: "AUTH_TEMP",
  "encrypt-needed": "ENCRYPTION_REQUIRED",
  malformed: "AUTH_BAD_BASE64",
  "not-supported": "AUTH_MECH_UNKNOWN",
};

export const AUTH: CommandDescriptor = {
  verbs: ["AUTH"],
  requires: ["ehlo", "no-transaction"],
  async handle(s, c) {
    const cmd = c as AuthCommand;
    if (s.mode !== "submission") {
      s.error(reply("NOT_IMPLEMENTED", "AUTH is offered on submission only"));
      return;
    }
    // RFC 4954 §4: one successful AUTH per session.
    if (s.auth !== null) {
      s.error(reply("ALREADY_AUTHENTICATED"));
      return;
    }
    // RFC 8314 §5.4, RFC 3207 §4: no authentication in plaintext unless allowed here.
    if (!s.authAllowed()) {
      s.error(reply("MUST_STARTTLS"));
      return;
    }
    const conn: SaslConnection = {
      tls: s.tls,
      ip: s.info.remoteAddress,
      plaintextAllowed: s.plaintextAllowed(),
    };
    if (s.tls) conn.channelBinding = tlsChannelBinding(s.socket as TLSSocket, "server");
    const mech = s.ctx.auth.createMechanism(cmd.mechanism, conn);
    s.authExchange = { mech };
    await answer(s, await mech.start(cmd.initialResponse ?? null));
  },
};

/** A client line during the exchange (the session routes it here). */
export async function authContinue(s: SmtpSession, line: Buffer): Promise<void> {
  const ex = s.authExchange;
  if (ex === null) return;
  const r = parseAuthResponse(line);
  if (!r.ok) {
    s.authExchange = null;
    s.error(r.reply);
    return;
  }
  if (r.cancel) {
    // RFC 4954 §4: "*" cancels, answered with 501.
    s.authExchange = null;
    s.reply(reply("AUTH_CANCELLED"));
    return;
  }
  if (ex.success !== undefined) {
    // The empty response after the additional data of a success (RFC 4954 §4).
    s.authExchange = null;
    s.auth = ex.success;
    s.reply(reply("AUTH_OK"));
    return;
  }
  await answer(s, await ex.mech.step(r.data));
}

async function answer(s: SmtpSession, step: Step): Promise<void> {
  switch (step.type) {
    case "challenge":
      s.write(formatAuthChallenge(step.data));
      return;
    case "success":
      if (step.data !== undefined && step.data.length > 0 && s.authExchange !== null) {
        s.authExchange.success = step.result;
        s.write(formatAuthChallenge(step.data));
        return;
      }
      s.authExchange = null;
      s.auth = step.result;
      s.log.info({ user: step.result.username, mechanism: step.result.mechanism }, "authenticated");
      s.reply(reply("AUTH_OK"));
      return;
    case "failure": {
      s.authExchange = null;
      const limits = s.limits();
      if (step.reason === "bad-credentials") {
        s.authFailures++;
        // Slow down password guessing.
        if (limits.authFailureDelayMs > 0) await new Promise((r) => setTimeout(r, limits.authFailureDelayMs));
      }
      const r = reply(FAILURE[step.reason]);
      if (s.authFailures >= limits.authFailuresBeforeDisconnect) {
        s.reply(r);
        s.close(reply("TOO_MANY_ERRORS", "Too many authentication failures"));
        return;
      }
      s.reply(r);
      return;
    }
  }
}
