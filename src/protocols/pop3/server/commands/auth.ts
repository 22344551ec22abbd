// RFC 5034 AUTH (POP3 SASL), through the shared SASL module (src/auth/).
//   AUTH mechanism [initial-response]  ("=" is an empty initial response, §4)
//   server: "+ " base64 challenge; client: base64 response, or "*" to cancel (§4)
//   success: "+OK"; additional data with success is sent as one more challenge, which the
//   client answers with an empty line (§4, RFC 4422 §5).
// A bare "AUTH" lists the mechanisms (not in RFC 5034; clients still probe with it).
import { decodeInitialResponse, MAX_AUTH_LINE, parseAuthLine } from "../../wire/command.ts";
import { challenge, err, multiline } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";
import type { Pop3Session } from "../session.ts";
import { authFailure, PLAINTEXT_REFUSED } from "./auth-replies.ts";

const PLAINTEXT_MECHS = new Set(["PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2"]);

/** The client's next response: a Buffer, or null when the exchange is over (reply sent). */
async function response(s: Pop3Session): Promise<Buffer | null> {
  const ev = await s.readLine(MAX_AUTH_LINE);
  if (ev === null) return null;
  if (ev.type === "too-long") {
    s.send(err("authentication response too long", "AUTH"));
    return null;
  }
  const r = parseAuthLine(ev.line);
  if (r.type === "cancel") {
    // RFC 5034 §4: "*" cancels; the server answers -ERR.
    s.send(err("authentication cancelled"));
    return null;
  }
  if (r.type === "invalid") {
    s.send(err("invalid base64 in the authentication response", "AUTH"));
    return null;
  }
  return r.data;
}

export const auth: CommandHandler<"AUTH"> = {
  name: "AUTH",
  states: ["authorization"],
  async handle(s, cmd) {
    s.pendingUser = null;
    const offered = s.ctx.auth.mechanisms({ tls: s.tls, plaintextAllowed: s.plaintextAllowed() });
    if (cmd.mechanism === undefined) {
      s.send(multiline("available SASL mechanisms", offered));
      return;
    }
    if (!offered.includes(cmd.mechanism)) {
      if (PLAINTEXT_MECHS.has(cmd.mechanism) && !s.plaintextAllowed()) s.send(PLAINTEXT_REFUSED);
      else s.send(err(`SASL mechanism ${cmd.mechanism} is not available`));
      s.countError();
      return;
    }
    let ir: Buffer | null = null;
    if (cmd.initialResponse !== undefined) {
      ir = decodeInitialResponse(cmd.initialResponse);
      if (ir === null) {
        s.send(err("invalid base64 in the initial response", "AUTH"));
        s.countError();
        return;
      }
    }
    const mech = s.ctx.auth.createMechanism(cmd.mechanism, s.saslConnection());
    let step = await mech.start(ir);
    while (step.type === "challenge") {
      s.send(challenge(step.data));
      const data = await response(s);
      if (data === null) return;
      step = await mech.step(data);
    }
    if (step.type === "failure") {
      await s.authFailed(authFailure(step.reason, step.message));
      return;
    }
    if (step.data !== undefined && step.data.length > 0) {
      s.send(challenge(step.data));
      const last = await response(s);
      if (last === null) return;
    }
    await s.login(step.result);
  },
};
