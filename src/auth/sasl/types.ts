// The protocol-neutral SASL server (RFC 4422). Every protocol (IMAP AUTHENTICATE, SMTP AUTH,
// POP3 AUTH, ManageSieve AUTHENTICATE, ...) drives the same mechanism objects; the protocol
// does the base64 and the framing ("+ ", "334 ", quoted strings) itself.
import type { AuthFailureReason, AuthOutcome, AuthResult, CredentialAccount } from "../types.ts";

export type Step =
  | { type: "challenge"; data: Buffer }
  /** `data`: additional data with success (RFC 4422 §5 item 3), e.g. the SCRAM server-final. */
  | { type: "success"; result: AuthResult; data?: Buffer }
  | { type: "failure"; reason: AuthFailureReason; message: string };

export type FailureStep = Extract<Step, { type: "failure" }>;

/** One authentication exchange. A finished exchange answers every further step with a failure. */
export interface SaslMechanism {
  /** The registered name, upper-case ("SCRAM-SHA-256-PLUS"). */
  readonly name: string;
  /** `initialResponse` is null when the client sent none (RFC 4422 §3.3); an empty one is a Buffer of length 0. */
  start(initialResponse: Buffer | null): Promise<Step>;
  step(clientData: Buffer): Promise<Step>;
}

/**
 * Channel-binding data of the connection, supplied by the protocol (see tlsChannelBinding() for
 * node TLS sockets). A method answers null when that binding is not available on this connection.
 */
export interface ChannelBindingProvider {
  /** RFC 9266: the TLS exporter with label "EXPORTER-Channel-Binding", 32 bytes, empty context. */
  tlsExporter(): Buffer | null;
  /** RFC 5929 §3: the first Finished message of the handshake (TLS 1.2 and below only). */
  tlsUnique(): Buffer | null;
}

/** Verifies OAuth 2.0 bearer tokens (RFC 6750) for OAUTHBEARER (RFC 7628) and XOAUTH2. */
export interface TokenVerifier {
  /** `user` is the authzid the client named (OAUTHBEARER a=, XOAUTH2 user=). */
  verify(token: string, ctx: { user?: string; host?: string; port?: number }): Promise<AuthResult | null>;
}

/** What the SASL layer knows of the connection an exchange runs on. */
export interface SaslConnection {
  /** True when the connection is encrypted (implicit TLS or after STARTTLS). */
  tls: boolean;
  /** Client address, for rate limiting and logs. */
  ip?: string;
  /** Present on TLS connections that can do channel binding (the -PLUS mechanisms). */
  channelBinding?: ChannelBindingProvider;
  /** Allow PLAIN, LOGIN and the bearer-token mechanisms without TLS (tests, localhost). */
  plaintextAllowed?: boolean;
}

/**
 * What mechanisms need from the authenticator. Each call applies the rate limits, the logging
 * and the account checks (disabled, unknown) in one place; Authenticator implements it.
 */
export interface SaslBackend {
  /** PLAIN, LOGIN: check a password. `username` is as the client sent it. */
  checkPassword(
    conn: SaslConnection,
    mechanism: string,
    username: string,
    password: string,
  ): Promise<AuthOutcome>;
  /**
   * SCRAM, CRAM-MD5: the rate-limit gate and the lookup before a challenge. `account` is null for
   * an unknown name (the mechanism carries on with fake data and fails at the end).
   */
  beginChallenge(
    conn: SaslConnection,
    mechanism: string,
    username: string,
  ): Promise<
    { ok: true; username: string; account: CredentialAccount | null } | { ok: false; failure: FailureStep }
  >;
  /** SCRAM, CRAM-MD5: record the outcome of the check the mechanism did. */
  endChallenge(
    conn: SaslConnection,
    mechanism: string,
    username: string,
    account: CredentialAccount | null,
    matched: { label?: string } | null,
  ): Promise<AuthOutcome>;
  /** OAUTHBEARER, XOAUTH2: check a bearer token; not-supported without a TokenVerifier. */
  checkToken(
    conn: SaslConnection,
    mechanism: string,
    token: string,
    ctx: { user?: string; host?: string; port?: number },
  ): Promise<AuthOutcome>;
  /** True when a TokenVerifier is configured. */
  readonly hasTokenVerifier: boolean;
  /**
   * RFC 4422 §3.4.1: may `authenticated` act as `authzid`? Returns the identity to use, or null.
   * Called only when authzid differs from the authenticated name.
   */
  authorize(conn: SaslConnection, authenticated: AuthResult, authzid: string): Promise<AuthResult | null>;
}

export function fail(reason: AuthFailureReason, message: string): FailureStep {
  return { type: "failure", reason, message };
}

export function challenge(data: Buffer | string): Step {
  return { type: "challenge", data: typeof data === "string" ? Buffer.from(data, "utf8") : data };
}
