// RFC 2449 §5 CAPA: the capability list, valid in AUTHORIZATION and TRANSACTION (the list may
// differ after login, RFC 2449 §5). Tags: §6.1 TOP, §6.2 USER, §6.3 SASL (RFC 5034 §3),
// §6.4 RESP-CODES, §6.5 LOGIN-DELAY, §6.6 PIPELINING, §6.7 EXPIRE, §6.8 UIDL,
// §6.9 IMPLEMENTATION; RFC 3206 §3 AUTH-RESP-CODE; RFC 2595 §4 STLS; RFC 6856 §2 UTF8 and
// §3 LANG (both states).
import { multiline } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";
import type { Pop3Session } from "../session.ts";

export function capabilities(s: Pop3Session): string[] {
  const caps = ["TOP", "UIDL"];
  const authorization = s.state === "authorization";
  if (authorization) {
    // RFC 2595 §2: no plaintext login offered before TLS unless configured.
    if (s.plaintextAllowed()) caps.push("USER");
    const mechs = s.ctx.auth.mechanisms({ tls: s.tls, plaintextAllowed: s.plaintextAllowed() });
    if (mechs.length > 0) caps.push(`SASL ${mechs.join(" ")}`);
  }
  caps.push("RESP-CODES", "AUTH-RESP-CODE", "PIPELINING");
  // RFC 2449 §6.7: messages are never deleted by the server on its own; §6.5: no delay.
  caps.push("EXPIRE NEVER", "LOGIN-DELAY 0");
  caps.push(`IMPLEMENTATION ${s.options.implementation}`);
  if (authorization && s.stlsAvailable()) caps.push("STLS");
  // RFC 6856 §2: "UTF8 USER": UTF-8 user names and passwords are accepted in USER/PASS.
  if (authorization) caps.push("UTF8 USER");
  caps.push("LANG");
  return caps;
}

export const capa: CommandHandler<"CAPA"> = {
  name: "CAPA",
  states: ["authorization", "transaction"],
  async handle(s) {
    s.send(multiline("Capability list follows", capabilities(s)));
  },
};
