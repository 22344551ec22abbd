// Server-side TLS on an accepted socket: for implicit TLS (RFC 8314 §3.3: TLS from the first
// byte) and for STARTTLS (RFC 3207 SMTP, RFC 2595 IMAP/POP3 STLS, RFC 5804 §2.2 ManageSieve).
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { TlsProvider } from "../tls/provider.ts";

export interface UpgradeOptions {
  /**
   * A reply to write in plaintext first (e.g. "220 2.0.0 Ready to start TLS\r\n"); the
   * handshake starts once it has been flushed.
   */
  reply?: string;
  /** Time allowed for the handshake; the socket is destroyed after it. Default 30 s. */
  timeoutMs?: number;
}

export class TlsHandshakeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsHandshakeError";
  }
}

function writeAndFlush(socket: Socket, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Start TLS as the server on `socket` and resolve with the TLS socket once the handshake is
 * done. On failure or timeout the socket is destroyed and the promise rejects with a
 * TlsHandshakeError. Use the returned socket from then on; the plain one must not be touched.
 *
 * The CALLER MUST, before calling: stop reading the plain socket (remove its "data"/"readable"
 * listeners) and DISCARD anything it has buffered after the STARTTLS/STLS command line, and
 * forget everything learnt from the client before TLS (EHLO, capabilities). Bytes pipelined
 * after the command were sent in the clear and may have been injected by an attacker:
 * RFC 3207 §4.2 ("the server MUST discard any knowledge obtained from the client"), RFC 2595
 * §3.1, and the STARTTLS command injection flaw (CVE-2011-0411). Any byte still unread in the
 * socket's own buffer is dropped here as well.
 */
export async function upgradeToTls(
  socket: Socket,
  ctx: { tls: TlsProvider },
  opts: UpgradeOptions = {},
): Promise<TLSSocket> {
  if (opts.reply !== undefined) await writeAndFlush(socket, opts.reply);
  // RFC 3207 §4.2: drop plaintext that arrived after the command and was not read yet.
  if (!socket.readableFlowing) while (socket.read() !== null) continue;
  const provider = ctx.tls;
  const tlsSocket = new TLSSocket(socket, {
    isServer: true,
    secureContext: provider.contextFor(undefined),
    SNICallback: provider.sniCallback,
    requestCert: false,
  });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise<TLSSocket>((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      tlsSocket.destroy();
      socket.destroy();
      reject(new TlsHandshakeError(`TLS handshake failed: ${err.message}`, { cause: err }));
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new Error("connection closed"));
    const onSecure = (): void => {
      cleanup();
      // Keep the process up if the protocol attaches no "error" listener; "close" still follows.
      tlsSocket.on("error", () => undefined);
      resolve(tlsSocket);
    };
    const timer = setTimeout(() => fail(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    function cleanup(): void {
      clearTimeout(timer);
      tlsSocket.off("error", onError);
      tlsSocket.off("close", onClose);
      tlsSocket.off("secure", onSecure);
    }
    tlsSocket.once("secure", onSecure);
    tlsSocket.on("error", onError);
    tlsSocket.once("close", onClose);
  });
}
