// RFC 9051 §6.2.1 STARTTLS: only before authentication, only on STARTTLS listeners, once.
// The handshake starts after the tagged OK; input pipelined after the command is discarded
// (session.startTls) and the client must ask for CAPABILITY again.
import { command, NOTAUTH } from "../command.ts";
import { bad } from "../errors.ts";

export const starttls = command({
  name: "STARTTLS",
  states: NOTAUTH,
  async handle(s) {
    if (!s.starttlsAvailable()) throw bad(s.tls ? "TLS is already active" : "STARTTLS is not offered here");
    return { text: "Begin TLS negotiation now", after: () => s.startTls() };
  },
});
