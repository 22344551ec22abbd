// Composition of outbound delivery for a running server: the queue runner (src/queue/) with
// our SMTP client as its transport, DANE and MTA-STS lookups, TLS-RPT collection and its
// daily reports, local delivery and DSN return through the ingest path, all from the
// `queue` configuration section. The SMTP server wakes the runner when it queues mail.
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import type { ServerContext } from "../core/context.ts";
import { localDelivery, returnMail } from "../delivery/queue-local.ts";
import { SmtpQueueTransport } from "../protocols/smtp/client/queue-transport.ts";
import { outboundAuth } from "../protocols/smtp/server/outbound.ts";
import { dnssecResolver } from "../queue/dane.ts";
import { httpsPolicyFetcher, MtaStsResolver } from "../queue/mta-sts.ts";
import { QueueStore } from "../queue/queue-store.ts";
import { QueueRunner } from "../queue/runner.ts";
import { httpsReportPoster, TlsRptCollector } from "../queue/tls-rpt.ts";
import type { SqlDriver } from "../store/sql.ts";

export interface OutboundAgent {
  /** Mail was queued: deliver now rather than at the next poll. */
  wake(): void;
  stop(): Promise<void>;
  /** Sends the TLS reports of past days now (also runs hourly). */
  sendTlsReports(): Promise<number>;
}

/** Starts delivery of the store's queue; null when the store has none or it is disabled. */
export function startOutbound(ctx: ServerContext, opts: { ca?: string | Buffer } = {}): OutboundAgent | null {
  const cfg = ctx.config.current();
  const q = cfg.queue;
  if (!q.enabled) return null;
  const queue = QueueStore.fromStore(ctx.store, ctx.clock);
  if (!queue) return null;
  const driver = (ctx.store as Partial<{ driver: SqlDriver }>).driver;
  const holder = `${osHostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const local = localDelivery(ctx.store, ctx.ingest);
  // DSNs and TLS reports that leave over SMTP are DKIM-signed by the local domain of their
  // From (MAILER-DAEMON@ or noreply-tlsrpt@ server.hostname, or a parent domain of it).
  const auth = outboundAuth(ctx);
  const back = returnMail(queue, local, auth ? (m) => auth.signer.sign(m) : undefined);
  const tlsReports =
    q.tlsReports && driver
      ? new TlsRptCollector({
          driver,
          resolver: ctx.resolver,
          clock: ctx.clock,
          logger: ctx.logger.child({ component: "tlsrpt" }),
          submitter: cfg.server.hostname,
          organization: cfg.server.hostname,
          from: `noreply-tlsrpt@${cfg.server.hostname}`,
          sendMail: back,
          post: httpsReportPoster({ resolver: ctx.resolver }),
        })
      : undefined;
  const [smartHost, smartPort] = q.smartHost === "" ? [] : q.smartHost.split(/:(?=\d+$)/);
  const transport = new SmtpQueueTransport({
    helo: cfg.server.hostname,
    perHost: q.perHost,
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    ...(q.smartHostUser !== "" ? { auth: { user: q.smartHostUser, password: q.smartHostPassword } } : {}),
  });
  const runner = new QueueRunner({
    queue,
    resolver: ctx.resolver,
    transport,
    clock: ctx.clock,
    logger: ctx.logger.child({ component: "queue" }),
    hostname: cfg.server.hostname,
    holder,
    port: q.mxPort,
    ...(smartHost !== undefined ? { smartHost: { host: smartHost, port: Number(smartPort ?? 587) } } : {}),
    retry: {
      initialMs: q.retryFirstMinutes * 60_000,
      maxIntervalMs: q.retryMaxHours * 3_600_000,
      maxAgeMs: q.lifetimeDays * 86_400_000,
      delayDsnAfterMs: q.delayWarningHours * 3_600_000,
    },
    concurrency: q.concurrency,
    perDomain: q.perDomain,
    pollMs: q.pollSeconds * 1000,
    tls: {
      port: q.mxPort,
      ...(q.daneResolver !== ""
        ? { dnssec: dnssecResolver(q.daneResolver, { timeoutMs: cfg.dns.timeoutMs }) }
        : {}),
      ...(q.mtaSts
        ? {
            mtaSts: new MtaStsResolver({
              resolver: ctx.resolver,
              fetcher: httpsPolicyFetcher({ resolver: ctx.resolver }),
              clock: ctx.clock,
            }),
          }
        : {}),
    },
    ...(tlsReports ? { tlsReports } : {}),
    local,
    returnMail: back,
  });
  runner.start();
  // TLS reports of finished days, hourly; the lease keeps two nodes from sending the same one.
  const sendReports = async (): Promise<number> => {
    if (!tlsReports) return 0;
    const got = await ctx.store.leases.acquire("tlsrpt-send", holder, 10 * 60_000);
    if (!got) return 0;
    try {
      return await tlsReports.sendReports();
    } finally {
      await ctx.store.leases.release("tlsrpt-send", holder);
    }
  };
  const reportTimer = setInterval(() => {
    sendReports().catch((e: unknown) => ctx.logger.error({ err: e }, "sending TLS reports failed"));
  }, 3_600_000);
  reportTimer.unref();
  return {
    wake: () => runner.wake(),
    sendTlsReports: sendReports,
    async stop() {
      clearInterval(reportTimer);
      await runner.stop();
      await tlsReports?.flush();
    },
  };
}
