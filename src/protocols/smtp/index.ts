// The SMTP family of protocols as the server registers them: the inbound MTA (smtp, 25),
// submission (587 with STARTTLS, 465 with implicit TLS: RFC 6409, RFC 8314) and LMTP
// (RFC 2033). The wire layer is in wire/, the sessions and commands in server/.
import type { Service } from "../../config/schema.ts";
import type { ServerContext } from "../../core/context.ts";
import type { ProtocolFactory } from "../../core/server.ts";
import type { ProtocolHandler } from "../../net/listener.ts";
import { formatReplyObject, reply } from "./wire/replies.ts";
import { QueueStore } from "../../queue/queue-store.ts";
import { outboundAuth, queueSink } from "./server/outbound.ts";
import { SmtpSession } from "./server/session.ts";
import type { SmtpMode, SmtpServiceOptions } from "./server/types.ts";

export type { SmtpHooks, Verdict, VerdictReason } from "./server/hooks.ts";
export type { OutboundEnvelope, OutboundSink, SmtpServiceOptions } from "./server/types.ts";

export type SmtpService = "smtp" | "submission" | "submissions" | "lmtp";

function modeOf(service: SmtpService): SmtpMode {
  if (service === "lmtp") return "lmtp";
  if (service === "smtp") return "smtp";
  return "submission";
}

/** The connection handler of one SMTP service. */
export function smtpHandler(
  ctx: ServerContext,
  service: SmtpService,
  opts: SmtpServiceOptions = {},
): ProtocolHandler {
  const mode = modeOf(service);
  if (opts.outbound === undefined) {
    // Relayed mail goes to the durable queue table of the store.
    const queue = QueueStore.fromStore(ctx.store, ctx.clock);
    // Submitted mail is DKIM-signed and forwarded mail ARC-sealed on the way in.
    if (queue !== null)
      opts = { ...opts, outbound: queueSink(queue, () => ctx.outbound?.wake(), outboundAuth(ctx)) };
  }
  return {
    handle(socket, info) {
      const session = new SmtpSession(ctx, socket, info, mode, opts);
      session.start().catch((e: unknown) => {
        ctx.logger.error({ err: e instanceof Error ? e.stack : String(e) }, "smtp session failed");
        socket.destroy();
      });
    },
    // RFC 5321 §3.8: 421 when the server cannot take the connection now.
    tooManyConnections: formatReplyObject(reply("TOO_MANY_CONNECTIONS")),
  };
}

/** The ProtocolFactory for `startServer({ protocols })` and src/cli/protocols.ts. */
export function smtpProtocol(
  service: SmtpService,
  opts: SmtpServiceOptions | ((ctx: ServerContext) => SmtpServiceOptions) = {},
): ProtocolFactory {
  return (ctx) => smtpHandler(ctx, service, typeof opts === "function" ? opts(ctx) : opts);
}

/** Every service of the family, for registration. */
export const SMTP_SERVICES: readonly (SmtpService & Service)[] = [
  "smtp",
  "submission",
  "submissions",
  "lmtp",
];
