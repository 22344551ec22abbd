// Prometheus metrics, one Registry per server (never prom-client's global registry: tests run
// several servers in one process). Protocols take these from the ServerContext; GET /metrics
// serves `registry.metrics()`.
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from "prom-client";

/** One registry's metrics as JSON (what session processes send for /metrics). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export interface MetricsOptions {
  /** Also collect process metrics (CPU, memory, event loop lag). The CLI turns this on. */
  processMetrics?: boolean;
  /** Labels added to every metric (e.g. { node: "mx1" } in a cluster). */
  defaultLabels?: Record<string, string>;
}

export class Metrics {
  readonly registry: Registry;
  /** Connections accepted, by service (smtp, imap, ...). */
  readonly connectionsTotal: Counter<"service">;
  /** Connections open now, by service. */
  readonly connectionsActive: Gauge<"service">;
  /** Connections refused before the protocol saw them: reason "listener_limit" or "ip_limit". */
  readonly connectionsRefused: Counter<"service" | "reason">;
  /** Commands handled, by service, command name and outcome ("ok", "no", "bad", "error"). */
  readonly commandsTotal: Counter<"service" | "command" | "status">;
  /** Time spent handling a command, in seconds. */
  readonly commandDuration: Histogram<"service" | "command">;
  /** Successful authentications, by service and SASL mechanism. */
  readonly authSuccesses: Counter<"service" | "mechanism">;
  /** Failed authentications, by service and SASL mechanism. */
  readonly authFailures: Counter<"service" | "mechanism">;
  /** Messages that went through the ingest path, by source (smtp, lmtp, imap-append, ...). */
  readonly messagesIngested: Counter<"source">;
  /** Bytes of messages ingested, by source. */
  readonly messageBytesIngested: Counter<"source">;
  /** TLS handshakes that failed, by service. */
  readonly tlsHandshakeFailures: Counter<"service">;

  constructor(opts: MetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (opts.defaultLabels !== undefined) registry.setDefaultLabels(opts.defaultLabels);
    if (opts.processMetrics === true) collectDefaultMetrics({ register: registry });
    const r = [registry];
    this.connectionsTotal = new Counter({
      name: "mailroom_connections_total",
      help: "Connections accepted, by service.",
      labelNames: ["service"],
      registers: r,
    });
    this.connectionsActive = new Gauge({
      name: "mailroom_connections_active",
      help: "Connections open now, by service.",
      labelNames: ["service"],
      registers: r,
    });
    this.connectionsRefused = new Counter({
      name: "mailroom_connections_refused_total",
      help: "Connections refused over a connection limit, by service and reason.",
      labelNames: ["service", "reason"],
      registers: r,
    });
    this.commandsTotal = new Counter({
      name: "mailroom_commands_total",
      help: "Protocol commands handled, by service, command and status.",
      labelNames: ["service", "command", "status"],
      registers: r,
    });
    this.commandDuration = new Histogram({
      name: "mailroom_command_duration_seconds",
      help: "Time spent handling a protocol command.",
      labelNames: ["service", "command"],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
      registers: r,
    });
    this.authSuccesses = new Counter({
      name: "mailroom_auth_successes_total",
      help: "Successful authentications, by service and mechanism.",
      labelNames: ["service", "mechanism"],
      registers: r,
    });
    this.authFailures = new Counter({
      name: "mailroom_auth_failures_total",
      help: "Failed authentications, by service and mechanism.",
      labelNames: ["service", "mechanism"],
      registers: r,
    });
    this.messagesIngested = new Counter({
      name: "mailroom_messages_ingested_total",
      help: "Messages delivered through the ingest path, by source.",
      labelNames: ["source"],
      registers: r,
    });
    this.messageBytesIngested = new Counter({
      name: "mailroom_message_bytes_ingested_total",
      help: "Bytes of messages delivered through the ingest path, by source.",
      labelNames: ["source"],
      registers: r,
    });
    this.tlsHandshakeFailures = new Counter({
      name: "mailroom_tls_handshake_failures_total",
      help: "TLS handshakes that failed, by service.",
      labelNames: ["service"],
      registers: r,
    });
  }

  /** The Prometheus text exposition of this registry. */
  async text(): Promise<string> {
    const peers = this.#peers;
    if (peers === undefined) return this.registry.metrics();
    // Session processes (src/server/workers.ts): their counters summed with these.
    const all = [await this.registry.getMetricsAsJSON(), ...(await peers())];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  #peers: (() => Promise<MetricsJson[]>) | undefined;

  /** Adds other processes' metrics (as JSON) to what text() serves. */
  setPeers(peers: (() => Promise<MetricsJson[]>) | undefined): void {
    this.#peers = peers;
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  return new Metrics(opts);
}
