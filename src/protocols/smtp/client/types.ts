// Types of the outbound SMTP client (RFC 5321 client side, with the ESMTP extensions the queue
// runner needs): options, the TLS policy, per-recipient outcomes and the one error type every
// failure is reported as.
import type { Socket } from "node:net";
import type { DetailedPeerCertificate } from "node:tls";
import type { EhloInfo } from "../wire/ehlo.ts";
import type { BodyType, OriginalRecipient, RcptParams } from "../wire/params.ts";

export type { EhloInfo };

/** Opens the TCP connection (injected so tests and the runner can bind or fake it). */
export interface SmtpDialer {
  connect(host: string, port: number, opts: { timeoutMs: number; localAddress?: string }): Promise<Socket>;
}

export interface ClientTlsPolicy {
  /**
   * "none": never STARTTLS; "opportunistic": STARTTLS when offered, plain otherwise, certificate
   * not verified (RFC 7435); "required": STARTTLS must succeed and pass verification, else the
   * session fails with a TLS error.
   */
  mode: "none" | "opportunistic" | "required";
  servername: string;
  /** Check the certificate chain and name against the CA store (MTA-STS, smart hosts). */
  verifyCertificate: boolean;
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Extra check of the peer chain (DANE TLSA matching, done by the caller): return null to
   * accept or an error text. Runs after the handshake.
   */
  checkPeer?: (chain: DetailedPeerCertificate) => string | null;
}

/** Per-phase time limits in milliseconds (RFC 5321 §4.5.3.2). */
export interface Timeouts {
  connectMs: number;
  greetingMs: number;
  ehloMs: number;
  mailMs: number;
  rcptMs: number;
  dataInitMs: number;
  dataBlockMs: number;
  dataTermMs: number;
}

const MINUTE = 60_000;

/**
 * RFC 5321 §4.5.3.2: initial 220 5 min (§4.5.3.2.1), MAIL 5 min (.2), RCPT 5 min (.3), DATA
 * initiation 2 min (.4), data block 3 min (.5), DATA termination 10 min (.6). EHLO, STARTTLS and
 * AUTH have no figure there and get the MAIL one; the TCP connect (not in the RFC) 30 s, like
 * common MTAs.
 */
export const DEFAULT_TIMEOUTS: Timeouts = {
  connectMs: 30_000,
  greetingMs: 5 * MINUTE,
  ehloMs: 5 * MINUTE,
  mailMs: 5 * MINUTE,
  rcptMs: 5 * MINUTE,
  dataInitMs: 2 * MINUTE,
  dataBlockMs: 3 * MINUTE,
  dataTermMs: 10 * MINUTE,
};

export interface ClientOptions {
  host: string;
  port: number;
  /** Our name for EHLO/HELO (a domain or an address literal). */
  helo: string;
  dialer?: SmtpDialer;
  tls: ClientTlsPolicy;
  localAddress?: string;
  timeouts?: Partial<Timeouts>;
  /** Smart host credentials: AUTH PLAIN or LOGIN, only after TLS (RFC 4954 §4). */
  auth?: { user: string; password: string };
}

export interface OutboundRecipient {
  address: string;
  /** RFC 3461 §4.1. */
  notify?: RcptParams["notify"];
  /** RFC 3461 §4.2: addrType "rfc822" or "utf-8" (RFC 6533), address not encoded. */
  orcpt?: OriginalRecipient;
}

export interface OutboundParams {
  /** RFC 3461 §4.3. */
  ret?: "FULL" | "HDRS";
  /** RFC 3461 §4.4, not encoded (the client writes it as xtext). */
  envid?: string;
  /** RFC 6152 / RFC 3030; an 8-bit message without it is sent as 8BITMIME. */
  body?: BodyType;
  /** RFC 6531. */
  smtputf8?: boolean;
  /** RFC 8689. */
  requireTls?: boolean;
  /** RFC 4954 §5 AUTH= mailbox (null for AUTH=<>), not encoded. */
  auth?: string | null;
  /** RFC 6710 MT-PRIORITY, passed on to a peer that offers it. */
  mtPriority?: number;
  /** RFC 2852 BY with the seconds left (the caller subtracts the time the message waited). */
  by?: { time: number; mode: "R" | "N"; trace: boolean };
}

export interface ReplyInfo {
  code: number;
  /** RFC 3463 enhanced status code, or null when the server sent none. */
  enhanced: string | null;
  /** The reply lines joined with "\n". */
  text: string;
}

export interface RecipientOutcome {
  address: string;
  /** The RCPT reply when refused there, else the reply to the data (or to DATA itself). */
  reply: ReplyInfo;
  /** 2xx after the data */
  delivered: boolean;
  /** A 5xx reply: do not retry. */
  permanent: boolean;
}

export interface SendOutcome {
  recipients: RecipientOutcome[];
}

export interface TlsInfo {
  established: boolean;
  /** The chain verified against the CA store (always computed, enforced only when asked). */
  authorized: boolean;
  authorizationError?: string;
  version?: string;
  cipher?: string;
}

export type ClientPhase =
  | "connect"
  | "greeting"
  | "ehlo"
  | "starttls"
  | "tls"
  | "auth"
  | "mail"
  | "rcpt"
  | "data"
  | "quit"
  | "timeout"
  | "closed";

export interface SmtpClientErrorInit {
  reply?: ReplyInfo;
  /** Default: true for a 5xx reply, false otherwise. */
  permanent?: boolean;
  tlsFailure?: boolean;
  cause?: unknown;
}

/**
 * Every failure of the client. `permanent` is set for 5xx replies and for local refusals that
 * retrying cannot cure (RFC 5321 §4.2.1: 4yz transient, 5yz permanent); `tlsFailure` when the
 * TLS policy could not be met (the caller records it for TLS-RPT, RFC 8460).
 */
export class SmtpClientError extends Error {
  readonly phase: ClientPhase;
  readonly reply?: ReplyInfo;
  readonly permanent: boolean;
  readonly tlsFailure: boolean;

  constructor(phase: ClientPhase, message: string, init: SmtpClientErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "SmtpClientError";
    this.phase = phase;
    if (init.reply !== undefined) this.reply = init.reply;
    this.permanent = init.permanent ?? (init.reply !== undefined && init.reply.code >= 500);
    this.tlsFailure = init.tlsFailure ?? false;
  }
}
