// IMAP4rev2 / IMAP4rev1 (RFC 9051, RFC 3501) for the listener manager: `imap` (143, STARTTLS)
// and `imaps` (993, implicit TLS, RFC 8314 §7.2) share this handler; the listener's TLS mode
// decides what is offered. The wire layer (./wire/) is exported for clients and tests.
import type { Socket } from "node:net";
import type { ServerContext } from "../../core/context.ts";
import type { ConnectionInfo, ProtocolHandler } from "../../net/listener.ts";
import { EnvelopeCache } from "./server/envelope-cache.ts";
import { MailboxChangeReader } from "./server/mailbox-changes.ts";
import { ImapSession } from "./server/session.ts";
import type { ImapOptions, ImapShared } from "./server/session.ts";

export type { ImapOptions } from "./server/session.ts";

/** The ProtocolFactory of imap and imaps. */
export function imapProtocol(ctx: ServerContext, options: ImapOptions = {}): ProtocolHandler {
  const shared: ImapShared = {
    changes: new MailboxChangeReader(),
    envelopes: new EnvelopeCache(),
  };
  return {
    // RFC 9051 §7.1.5: BYE before closing a connection refused over a limit
    tooManyConnections: "* BYE Too many connections, try again later\r\n",
    handle(socket: Socket, info: ConnectionInfo) {
      new ImapSession(ctx, socket, info, shared, options).start();
    },
  };
}
