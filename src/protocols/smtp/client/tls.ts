// STARTTLS on the client side (RFC 3207): the TLS handshake over the session's socket, with
// the policy's verification (CA store and name, or the caller's DANE check), and the guard
// against STARTTLS response injection: a server that sends anything after its 220 before the
// handshake is refused, and nothing read in clear is ever used after it (RFC 3207 §4.2, §6).
import type { Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { Connection } from "./connection.ts";
import type { ClientTlsPolicy, TlsInfo } from "./types.ts";
import { SmtpClientError } from "./types.ts";

function tlsError(message: string, cause?: unknown): SmtpClientError {
  return new SmtpClientError("tls", message, { tlsFailure: true, cause });
}

/** Runs the handshake on `plain` under `policy`; resolves with the TLS socket. */
function handshake(plain: Socket, policy: ClientTlsPolicy, timeoutMs: number): Promise<TLSSocket> {
  const opts: ConnectionOptions = {
    socket: plain,
    servername: policy.servername,
    // RFC 7435 opportunistic TLS: any certificate; "required" with verifyCertificate: the CA
    // store and the name (RFC 6125 through checkServerIdentity); DANE checks go to checkPeer.
    rejectUnauthorized: policy.mode === "required" && policy.verifyCertificate,
    minVersion: "TLSv1.2",
  };
  if (policy.ca !== undefined) opts.ca = policy.ca;
  return new Promise<TLSSocket>((resolve, reject) => {
    let settled = false;
    const s = tlsConnect(opts);
    const timer = setTimeout(
      () => finish(tlsError(`TLS handshake not done within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err: SmtpClientError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.off("secureConnect", onSecure);
      if (err === null) resolve(s);
      else {
        s.destroy();
        reject(err);
      }
    };
    const onSecure = (): void => finish(null);
    s.once("secureConnect", onSecure);
    s.on("error", (e: Error) => finish(tlsError(`TLS handshake failed: ${e.message}`, e)));
    s.once("close", () => finish(tlsError("connection closed during the TLS handshake")));
  });
}

/**
 * STARTTLS has been answered 220 and the connection holds reading: checks that nothing
 * followed the 220, runs the handshake and moves the connection onto the TLS socket.
 */
export async function upgradeToTls(
  conn: Connection,
  policy: ClientTlsPolicy,
  timeoutMs: number,
): Promise<TlsInfo> {
  if (conn.extraAfterHold) {
    // Response injection: bytes after the 220 were sent in clear and could pose as replies of
    // the TLS session. Refused rather than discarded (RFC 3207 §6 security considerations).
    const e = tlsError("the server sent data after its STARTTLS 220 reply");
    conn.fail(e);
    throw e;
  }
  const plain = conn.release();
  let secure: TLSSocket;
  try {
    secure = await handshake(plain, policy, timeoutMs);
  } catch (e) {
    const err = e instanceof SmtpClientError ? e : tlsError(String(e), e);
    conn.fail(err);
    throw err;
  }
  conn.replaceSocket(secure);
  const info: TlsInfo = { established: true, authorized: secure.authorized };
  if (secure.authorizationError !== null && secure.authorizationError !== undefined)
    info.authorizationError = String(secure.authorizationError);
  const version = secure.getProtocol();
  if (version !== null) info.version = version;
  const cipher = secure.getCipher();
  if (cipher !== undefined) info.cipher = cipher.name;
  if (policy.checkPeer !== undefined) {
    // The caller's own check (DANE TLSA, RFC 7672 §3), after the handshake.
    let verdict: string | null;
    try {
      verdict = policy.checkPeer(secure.getPeerCertificate(true));
    } catch (e) {
      verdict = `peer check failed: ${String(e)}`;
    }
    if (verdict !== null) {
      const err = tlsError(`peer certificate refused: ${verdict}`);
      conn.fail(err);
      throw err;
    }
  }
  return info;
}
