// The one mapping of authentication failures to POP3 replies (RFC 3206 §4/§5: [AUTH] when the
// credentials are refused, [SYS/TEMP] for a temporary failure such as a rate limit or an
// unavailable store; with AUTH-RESP-CODE advertised every failed USER/PASS/AUTH carries one).
import type { AuthFailureReason } from "../../../../auth/types.ts";
import { err } from "../../wire/reply.ts";

export function authFailure(reason: AuthFailureReason, message: string): string {
  switch (reason) {
    case "temporary":
      return err(message, "SYS/TEMP");
    case "bad-credentials":
      return err("authentication failed", "AUTH");
    case "encrypt-needed":
      return err(`${message}: use STLS or the pop3s port first`, "AUTH");
    case "malformed":
      return err(`authentication failed: ${message}`, "AUTH");
    case "not-supported":
      return err(message, "AUTH");
  }
}

/** RFC 2595 §2: plaintext passwords are refused before TLS unless configured. */
export const PLAINTEXT_REFUSED = err(
  "plaintext authentication is not allowed without TLS: use STLS or the pop3s port",
  "AUTH",
);
