// Channel-binding data of a node TLS socket for the SCRAM -PLUS mechanisms.
import type { TLSSocket } from "node:tls";
import type { ChannelBindingProvider } from "./types.ts";

/**
 * RFC 9266 §2: tls-exporter = TLS-Exporter("EXPORTER-Channel-Binding", empty context, 32 bytes).
 * RFC 9266 §3 / RFC 7627: with TLS 1.2 it is only safe with the extended master secret, which
 * node does not report, so we offer it on TLS 1.3 only.
 * RFC 5929 §3.1: tls-unique = the first Finished message of the latest handshake: the client's
 * on a full handshake, the server's on a resumed one. It is undefined for TLS 1.3 (RFC 8446
 * §C.5, RFC 9266 §1).
 *
 * `side` is which end of the connection the socket is (servers pass "server").
 */
export function tlsChannelBinding(
  socket: TLSSocket,
  side: "server" | "client" = "server",
): ChannelBindingProvider {
  return {
    tlsExporter(): Buffer | null {
      if (socket.getProtocol() !== "TLSv1.3") return null;
      try {
        return socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
      } catch {
        return null;
      }
    },
    tlsUnique(): Buffer | null {
      const proto = socket.getProtocol();
      if (proto === null || proto === "TLSv1.3") return null;
      const clientSent = !socket.isSessionReused();
      const ours = side === "client" ? clientSent : !clientSent;
      return (ours ? socket.getFinished() : socket.getPeerFinished()) ?? null;
    },
  };
}
