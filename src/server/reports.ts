// Composition of mail-authentication reports for a running server (config `reports`):
// - recordDmarcEvaluation(): the seam the inbound DMARC check calls once per evaluated
//   message (ServerContext.reports); it counts the evaluation for the daily aggregate report
//   and sends the failure reports the record's ruf/fo ask for;
// - the daily DMARC aggregate reports, hourly under a store lease so one node sends
//   (as the TLS-RPT reports in outbound.ts);
// - incoming reports: each copy committed through the ingest path for a report address is
//   read and kept (`mailroom reports list|show`).
// Reports leave through the outbound queue with the null reverse path (returnMail), signed.
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import type { ServerContext } from "../core/context.ts";
import type { IngestRequest } from "../delivery/ingest.ts";
import { localDelivery, returnMail } from "../delivery/queue-local.ts";
import { DmarcAggregateReporter } from "../mailauth/reports/aggregate-send.ts";
import { DmarcFailureReporter } from "../mailauth/reports/failure-send.ts";
import { IncomingReports } from "../mailauth/reports/incoming.ts";
import { ReceivedReports } from "../mailauth/reports/received.ts";
import { DmarcRecorder, type DmarcEvaluationRow } from "../mailauth/reports/recorder.ts";
import { outboundAuth } from "../protocols/smtp/server/outbound.ts";
import { QueueStore } from "../queue/queue-store.ts";
import type { SqlDriver } from "../store/sql.ts";

export interface ReportsAgent {
  /** One DMARC evaluation of an incoming message (never throws, never waits). */
  recordDmarcEvaluation(row: DmarcEvaluationRow): void;
  /** A message was committed: read it when it went to a report address. */
  committed(req: IngestRequest): void;
  /** Sends the DMARC aggregate reports of past days now (also runs hourly). */
  sendDmarcReports(): Promise<number>;
  /** Resolves when the reports being read or sent in the background are done (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts reporting; null when the store has no SQL driver. */
export function startReports(ctx: ServerContext): ReportsAgent | null {
  const driver = (ctx.store as Partial<{ driver: SqlDriver }>).driver;
  if (!driver) return null;
  const cfg = ctx.config.current();
  const r = cfg.reports;
  const host = cfg.server.hostname;
  const from = `noreply-dmarc@${host}`;
  const logger = ctx.logger.child({ component: "reports" });
  const holder = `${osHostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const queue = QueueStore.fromStore(ctx.store, ctx.clock);
  // DKIM-signed by the local domain of their From when they leave over SMTP, as DSNs and TLS
  // reports are (RFC 7489 §7.2.1.1: report mail must itself pass DMARC).
  const auth = outboundAuth(ctx);
  const sign = auth ? (m: Buffer) => auth.signer.sign(m) : undefined;
  const send = queue ? returnMail(queue, localDelivery(ctx.store, ctx.ingest), sign) : null;
  const recorder = r.dmarcAggregate ? new DmarcRecorder({ driver, clock: ctx.clock, logger }) : null;
  const aggregate =
    r.dmarcAggregate && send
      ? new DmarcAggregateReporter({
          driver,
          resolver: ctx.resolver,
          clock: ctx.clock,
          logger,
          organization: r.organization === "" ? host : r.organization,
          submitter: host,
          from,
          sendMail: send,
        })
      : null;
  const failure =
    r.dmarcFailure && send
      ? new DmarcFailureReporter({
          driver,
          resolver: ctx.resolver,
          clock: ctx.clock,
          logger,
          reportingMta: host,
          from,
          perHour: r.failureReportsPerHour,
          sendMail: send,
        })
      : null;
  const incoming = new IncomingReports({
    store: new ReceivedReports(driver),
    logger,
    addresses: () => ctx.config.current().reports.addresses,
  });
  const pending = new Set<Promise<unknown>>();
  const background = (p: Promise<unknown>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const sendDmarcReports = async (): Promise<number> => {
    if (!aggregate || !recorder) return 0;
    await recorder.flush();
    const got = await ctx.store.leases.acquire("dmarc-report-send", holder, 10 * 60_000);
    if (!got) return 0;
    try {
      return await aggregate.sendReports();
    } finally {
      await ctx.store.leases.release("dmarc-report-send", holder);
    }
  };
  const timer = setInterval(() => {
    sendDmarcReports().catch((e: unknown) => logger.error({ err: e }, "sending DMARC reports failed"));
  }, 3_600_000);
  timer.unref();

  return {
    recordDmarcEvaluation(row) {
      recorder?.recordDmarcEvaluation(row);
      if (failure && row.ruf && row.ruf.length > 0) background(failure.report(row));
    },
    committed(req) {
      if (req.source !== "smtp" && req.source !== "lmtp" && req.source !== "queue") return;
      if (!incoming.wants(req.raw)) return;
      background(incoming.receive(req.raw, { accountId: req.accountId, receivedAt: ctx.clock.now() }));
    },
    sendDmarcReports,
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async stop() {
      clearInterval(timer);
      await this.idle();
      await recorder?.flush();
    },
  };
}
