// The seam between the delivery agent and the SMTP client that carries a message to one
// destination host (the client lives with the SMTP protocol, src/protocols/smtp/client/;
// the server's composition root joins them), and the TLS-RPT outcome records it produces.
import type { QueueParams, QueuedRecipient } from "./queue-store.ts";
import type { HostTlsPolicy, PolicyType } from "./tls-policy.ts";

/** The envelope parameters of one delivery: the stored ones, and those kept on the message row. */
export interface DeliveryParams extends QueueParams {
  /** RFC 6710 MT-PRIORITY, -9..9 (0: none given). */
  priority?: number;
  /** RFC 2852 deadline (ms since the epoch), for BY passed on with the time left. */
  deliverBy?: number | null;
}

export interface DeliveryTarget {
  /** MX host name (TLS server name, policy checks). */
  host: string;
  address: string;
  port: number;
  /** What TLS this host needs (tls-policy.ts). */
  tls: HostTlsPolicy;
}

export interface TransportRecipientResult {
  index: number;
  ok: boolean;
  permanent: boolean;
  code: number;
  enhanced: string | null;
  text: string;
}

export interface TransportResult {
  recipients: TransportRecipientResult[];
  /** The peer offered DSN (RFC 3461): it reports success itself when NOTIFY asks. */
  dsnSupported: boolean;
  /** The peer offered DELIVERBY (RFC 2852) and got the deadline passed on. */
  deliverBySupported?: boolean;
  /** The session ran over TLS (and passed the policy's checks). */
  tls: boolean;
}

/** A failure of the whole session with one destination (no per-recipient replies). */
export class TransportError extends Error {
  override readonly name = "TransportError";
  readonly permanent: boolean;
  readonly enhanced: string;
  /** A TLS failure as RFC 8460 §4.3 names its result types ("starttls-not-supported", ...). */
  readonly tlsFailure: string | undefined;
  constructor(message: string, permanent: boolean, enhanced: string, tlsFailure?: string) {
    super(message);
    this.permanent = permanent;
    this.enhanced = enhanced;
    this.tlsFailure = tlsFailure;
  }
}

/** One TLS outcome for TLS-RPT (RFC 8460): per policy domain, day and result. */
export interface TlsResult {
  policyDomain: string;
  type: PolicyType;
  policyStrings: string[];
  mxHost: string;
  address: string;
  ok: boolean;
  /** RFC 8460 §4.3 result-type when not ok. */
  failure?: string;
  detail?: string;
}

export interface TlsReportSink {
  record(r: TlsResult): void;
}

export interface Transport {
  deliver(
    target: DeliveryTarget,
    from: string,
    recipients: readonly QueuedRecipient[],
    params: DeliveryParams,
    message: Buffer,
  ): Promise<TransportResult>;
  close(): Promise<void>;
}

/**
 * Delivery into our own mailboxes, for queued mail whose recipient domain is local (a local
 * copy that failed for a while at SMTP time, a DSN to a local sender): through the ingest
 * path, wired by the server. Answers like a peer's RCPT/DATA reply for that recipient.
 */
export interface LocalDelivery {
  isLocal(domain: string): Promise<boolean>;
  deliver(address: string, from: string, message: Buffer): Promise<Omit<TransportRecipientResult, "index">>;
}
