// Sending DMARC aggregate reports (RFC 7489 §7.2): once a UTC day is over, the recorded rows
// of each policy domain become one report per policy published (Appendix C), sent as a
// gzipped XML attachment (§7.2.1.1: filename and Subject forms) to every mailto: URI of the
// domain's current rua tag (looked up again now, so a domain that stopped asking gets
// nothing), through the outbound queue. A URI at another organization is used only when it
// agreed (§7.1); a report larger than the URI's "!size" is not sent to it (§7.2.1). The rows
// are deleted once their reports went out (or nobody wants them). The server calls
// sendReports() hourly under a store lease, so one node of a cluster sends.
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import type { Resolver } from "../../dns/resolver.ts";
import { formatRfc5322Date } from "../../mail/date.ts";
import type { SqlDriver } from "../../store/sql.ts";
import { aggregateReportXml, reportFromRows } from "./aggregate-xml.ts";
import {
  externalDestinationVerified,
  lookupDmarcRecord,
  parseReportUris,
  type ReportingTags,
} from "./dmarc-uri.ts";
import type { DmarcRecordRow } from "./recorder.ts";
import type { AggregateReport } from "./types.ts";

/** Rows of a period whose domain could not be looked up are kept this long, then dropped. */
const KEEP_DAYS = 7;

function base64Lines(data: Buffer): string {
  return data.toString("base64").replace(/.{76}/g, "$&\r\n");
}

/** §7.2.1.1: the report as a message with its gzipped XML attachment. */
export function aggregateReportMessage(opts: {
  report: AggregateReport;
  /** The reporting domain (filename "receiver", Subject "Submitter"). */
  submitter: string;
  from: string;
  to: string;
  now: number;
}): Buffer {
  const r = opts.report;
  const domain = r.policy_published.domain;
  const { begin, end } = r.report_metadata.date_range;
  // filename = receiver "!" policy-domain "!" begin-timestamp "!" end-timestamp "." extension
  const file = `${opts.submitter}!${domain}!${begin}!${end}.xml.gz`;
  const boundary = `=_dmarc_${randomBytes(12).toString("hex")}`;
  const gz = gzipSync(aggregateReportXml(r));
  const lines = [
    `From: <${opts.from}>`,
    `To: <${opts.to}>`,
    // dmarc-subject: "Report" "Domain:" domain-name "Submitter:" domain-name "Report-ID:" msg-id
    `Subject: Report Domain: ${domain} Submitter: ${opts.submitter}`,
    ` Report-ID: <${r.report_metadata.report_id}@${opts.submitter}>`,
    `Date: ${formatRfc5322Date(opts.now)}`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${opts.submitter}>`,
    // RFC 3834 §5: an automatic message; no auto-replies to it.
    "Auto-Submitted: auto-generated",
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `This is a DMARC aggregate report from ${opts.submitter} for ${domain}`,
    `(${new Date(begin * 1000).toISOString()} to ${new Date(end * 1000).toISOString()}).`,
    "",
    `--${boundary}`,
    `Content-Type: application/gzip; name="${file}"`,
    "Content-Transfer-Encoding: base64",
    `Content-Disposition: attachment; filename="${file}"`,
    "",
    base64Lines(gz),
    `--${boundary}--`,
    "",
  ];
  return Buffer.from(lines.join("\r\n"), "utf8");
}

export interface AggregateReporterOptions {
  driver: SqlDriver;
  resolver: Resolver;
  clock: Clock;
  logger: Logger;
  /** org_name of our reports. */
  organization: string;
  /** Our reporting domain: the submitter (§7.2.1.1). */
  submitter: string;
  /** From address of report mail, and report_metadata/email. */
  from: string;
  /** Sends one report message (the outbound queue, with the null reverse path). */
  sendMail(to: string, message: Buffer): Promise<void>;
}

export class DmarcAggregateReporter {
  readonly #o: AggregateReporterOptions;

  constructor(opts: AggregateReporterOptions) {
    this.#o = opts;
  }

  /** Sends the reports of every day before today; returns how many report messages went out. */
  async sendReports(): Promise<number> {
    const o = this.#o;
    const now = o.clock.now();
    const today = new Date(now).toISOString().slice(0, 10);
    const stale = new Date(now - KEEP_DAYS * 86_400_000).toISOString().slice(0, 10);
    const groups = await o.driver.all<{ period: string; policy_domain: string }>(
      "SELECT DISTINCT period, policy_domain FROM dmarc_records WHERE period < ? ORDER BY period, policy_domain",
      [today],
    );
    let sent = 0;
    for (const g of groups) {
      const drop = (): Promise<unknown> =>
        o.driver.run("DELETE FROM dmarc_records WHERE period = ? AND policy_domain = ?", [
          g.period,
          g.policy_domain,
        ]);
      let record: ReportingTags | null;
      try {
        record = await lookupDmarcRecord(o.resolver, g.policy_domain);
      } catch (e) {
        // A temporary DNS failure: try again at the next run, for a while.
        o.logger.warn({ err: e, domain: g.policy_domain }, "DMARC record lookup failed; report postponed");
        if (g.period < stale) await drop();
        continue;
      }
      const uris = parseReportUris(record?.rua ?? []);
      if (uris.length > 0) {
        const rows = await o.driver.all<DmarcRecordRow>(
          "SELECT * FROM dmarc_records WHERE period = ? AND policy_domain = ? ORDER BY source_ip, row_key",
          [g.period, g.policy_domain],
        );
        const byPolicy = new Map<string, DmarcRecordRow[]>();
        for (const r of rows) byPolicy.set(r.policy, [...(byPolicy.get(r.policy) ?? []), r]);
        const begin = Date.parse(`${g.period}T00:00:00Z`) / 1000;
        for (const list of byPolicy.values()) {
          const report = reportFromRows(list, {
            orgName: o.organization,
            email: o.from,
            reportId: `${g.period.replace(/-/g, "")}.${randomBytes(8).toString("hex")}`,
            begin,
            end: begin + 86_399,
          });
          for (const uri of uris) {
            const uriDomain = uri.address.slice(uri.address.lastIndexOf("@") + 1).toLowerCase();
            try {
              if (!(await externalDestinationVerified(o.resolver, g.policy_domain, uriDomain))) {
                o.logger.info({ domain: g.policy_domain, uri: uri.uri }, "rua not verified (RFC 7489 §7.1)");
                continue;
              }
              const message = aggregateReportMessage({
                report,
                submitter: o.submitter,
                from: o.from,
                to: uri.address,
                now,
              });
              if (uri.maxBytes !== null && message.length > uri.maxBytes) {
                o.logger.warn(
                  { domain: g.policy_domain, uri: uri.uri, size: message.length },
                  "DMARC report larger than the rua size limit; not sent",
                );
                continue;
              }
              await o.sendMail(uri.address, message);
              sent++;
            } catch (e) {
              o.logger.warn(
                { err: e, uri: uri.uri, domain: g.policy_domain },
                "sending a DMARC report failed",
              );
            }
          }
        }
      }
      await drop();
    }
    return sent;
  }
}
