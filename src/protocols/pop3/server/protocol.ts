// The POP3 protocol as the listener manager runs it: `pop3` (110, STLS offered, RFC 2595) and
// `pop3s` (995, implicit TLS, RFC 8314 §7.2) share this handler; the listener's TLS mode
// decides what is offered.
import type { Socket } from "node:net";
import type { ServerContext } from "../../../core/context.ts";
import type { ConnectionInfo, ProtocolHandler } from "../../../net/listener.ts";
import { err } from "../wire/reply.ts";
import { Pop3Session, type Pop3Options } from "./session.ts";

export function pop3Protocol(ctx: ServerContext, options: Pop3Options = {}): ProtocolHandler {
  return {
    // RFC 3206 §4: [SYS/TEMP] for a temporary condition on the server side.
    tooManyConnections: err("too many connections, try again later", "SYS/TEMP"),
    handle(socket: Socket, info: ConnectionInfo) {
      new Pop3Session(ctx, socket, info, options).start();
    },
  };
}
