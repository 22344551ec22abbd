// The protocol servers `mailroom serve` starts, by service. http and https are built into
// the server (health, metrics); each protocol issue adds its factory here, and a listener
// whose service has no factory is not started.
import type { Service } from "../config/schema.ts";
import type { ProtocolFactory } from "../core/server.ts";
import { imapProtocol } from "../protocols/imap/index.ts";
import { pop3Protocol } from "../protocols/pop3/server/protocol.ts";
import { smtpProtocol } from "../protocols/smtp/index.ts";
import { mailauthHooks } from "../protocols/smtp/server/mailauth-hooks.ts";

export function protocolFactories(): Partial<Record<Service, ProtocolFactory>> {
  return {
    imap: imapProtocol,
    imaps: imapProtocol,
    pop3: pop3Protocol,
    pop3s: pop3Protocol,
    // The inbound MTA checks SPF, DKIM, ARC, DMARC, iprev and DNSBLs (config `mailauth`).
    smtp: smtpProtocol("smtp", (ctx) => ({ hooks: [mailauthHooks(ctx)] })),
    submission: smtpProtocol("submission"),
    submissions: smtpProtocol("submissions"),
    lmtp: smtpProtocol("lmtp"),
  };
}
