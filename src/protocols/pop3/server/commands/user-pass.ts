// RFC 1939 §7 USER and PASS (AUTHORIZATION state), APOP (§7; off: we keep no recoverable
// secrets for it, and the greeting carries no timestamp).
import { err, ok } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";
import { authFailure, PLAINTEXT_REFUSED } from "./auth-replies.ts";

export const user: CommandHandler<"USER"> = {
  name: "USER",
  states: ["authorization"],
  async handle(s, cmd) {
    s.pendingUser = null;
    if (!s.plaintextAllowed()) {
      s.send(PLAINTEXT_REFUSED);
      s.countError();
      return;
    }
    // RFC 1939 §7: the reply does not tell whether the mailbox exists (no user probing).
    s.pendingUser = cmd.user;
    s.send(ok("send PASS"));
  },
};

export const pass: CommandHandler<"PASS"> = {
  name: "PASS",
  states: ["authorization"],
  async handle(s, cmd) {
    const name = s.pendingUser;
    s.pendingUser = null;
    if (!s.plaintextAllowed()) {
      s.send(PLAINTEXT_REFUSED);
      s.countError();
      return;
    }
    // RFC 1939 §7: PASS only right after a successful USER.
    if (name === null) {
      s.send(err("send USER first"));
      s.countError();
      return;
    }
    const outcome = await s.ctx.auth.verifyPlain(name, cmd.password, {
      ip: s.info.remoteAddress,
      mechanism: "USER/PASS",
    });
    if (!outcome.ok) {
      await s.authFailed(authFailure(outcome.reason, outcome.message));
      return;
    }
    await s.login(outcome.result);
  },
};

export const apop: CommandHandler<"APOP"> = {
  name: "APOP",
  states: ["authorization"],
  async handle(s) {
    s.send(err("APOP is not available; use AUTH or USER/PASS", "AUTH"));
    s.countError();
  },
};
