// The explicit context every protocol, the delivery path and the CLI receive (DESIGN.md
// "Explicit context, no singletons"). One per running server; tests start several side by
// side. Nothing in it is global: the metrics registry, the logger, the TLS certificates and
// the configuration all belong to this server.
import type { Authenticator } from "../auth/authenticator.ts";
import type { ConfigManager } from "../config/reload.ts";
import type { Ingest, IngestRequest } from "../delivery/ingest.ts";
import type { Resolver } from "../dns/resolver.ts";
import type { DmarcEvaluationRow } from "../mailauth/reports/recorder.ts";
import type { MailStore } from "../store/types.ts";
import type { TlsProvider } from "../tls/provider.ts";
import type { Clock } from "./clock.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

export interface ServerContext {
  /** The live configuration: read `config.current()` at each use (dynamic sections reload). */
  config: ConfigManager;
  store: MailStore;
  resolver: Resolver;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  tls: TlsProvider;
  /** The one ingest path: every message that enters a mailbox goes through it. */
  ingest: Ingest;
  /** SASL and plain logins for every protocol, with the failed-login rate limits. */
  auth: Authenticator;
  /** The outbound delivery agent, when it runs: told when mail was queued. */
  outbound?: { wake(): void };
  /**
   * Mail-authentication reports (src/server/reports.ts), when they run: the inbound DMARC
   * check records each evaluation here (aggregate and failure reports, RFC 7489 §7).
   */
  reports?: {
    recordDmarcEvaluation(row: DmarcEvaluationRow): void;
    committed(req: IngestRequest): void;
  };
}
