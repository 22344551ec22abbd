// SMTP TLS Reporting (RFC 8460), the sending side: every outbound TLS outcome under a policy
// (DANE "tlsa", MTA-STS "sts", or "no-policy-found") is counted per UTC day; once a day is
// over, one JSON report per policy domain (§4.4) goes, gzipped, to the addresses its
// `_smtp._tls.<domain>` TXT record (§3) names: mailto: as a multipart/report message (§5.3),
// https: as a POST of application/tlsrpt+gzip (§5.2). The report's rows are deleted once
// every address took it (or failed for good).
import { randomBytes } from "node:crypto";
import { request } from "node:https";
import { gzipSync } from "node:zlib";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { isDnsError, type Resolver } from "../dns/resolver.ts";
import type { SqlDriver } from "../store/sql.ts";
import { rfc5322Date } from "./dsn.ts";
import { resolverLookup } from "./mta-sts.ts";
import type { TlsReportSink, TlsResult } from "./transport.ts";

/** §3: the record's report URIs, or null when the domain asks for no reports. */
export function parseTlsRptRecord(txt: readonly (readonly string[])[]): string[] | null {
  const records = txt.map((p) => p.join("")).filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r));
  if (records.length !== 1) return null;
  for (const field of records[0]!.split(";")) {
    const eq = field.indexOf("=");
    if (eq > 0 && field.slice(0, eq).trim() === "rua") {
      const uris = field
        .slice(eq + 1)
        .split(",")
        .map((u) => u.trim())
        .filter((u) => /^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/i.test(u));
      return uris.length > 0 ? uris : null;
    }
  }
  return null;
}

interface Row {
  day: string;
  policy_domain: string;
  policy_type: string;
  policy_strings: string;
  mx_host: string;
  result_type: string;
  receiving_ip: string;
  detail: string | null;
  sessions: number;
}

export interface TlsReport {
  "organization-name": string;
  "date-range": { "start-datetime": string; "end-datetime": string };
  "contact-info": string;
  "report-id": string;
  policies: Array<{
    policy: {
      "policy-type": string;
      "policy-string": string[];
      "policy-domain": string;
      "mx-host": string[];
    };
    summary: { "total-successful-session-count": number; "total-failure-session-count": number };
    "failure-details": Array<{
      "result-type": string;
      "receiving-mx-hostname": string;
      "receiving-ip"?: string;
      "failed-session-count": number;
      "additional-information"?: string;
    }>;
  }>;
}

/** §4.4: the report of one policy domain for one day, from its rows. */
export function buildTlsReport(
  rows: readonly Row[],
  opts: { organization: string; contact: string; reportId: string; day: string },
): TlsReport {
  const byPolicy = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${r.policy_type}\n${r.policy_strings}`;
    byPolicy.set(k, [...(byPolicy.get(k) ?? []), r]);
  }
  return {
    "organization-name": opts.organization,
    "date-range": { "start-datetime": `${opts.day}T00:00:00Z`, "end-datetime": `${opts.day}T23:59:59Z` },
    "contact-info": opts.contact,
    "report-id": opts.reportId,
    policies: [...byPolicy.values()].map((list) => {
      const first = list[0]!;
      const ok = list.filter((r) => r.result_type === "");
      const failed = list.filter((r) => r.result_type !== "");
      return {
        policy: {
          "policy-type": first.policy_type,
          "policy-string": JSON.parse(first.policy_strings) as string[],
          "policy-domain": first.policy_domain,
          "mx-host": [...new Set(list.map((r) => r.mx_host))].sort(),
        },
        summary: {
          "total-successful-session-count": ok.reduce((n, r) => n + Number(r.sessions), 0),
          "total-failure-session-count": failed.reduce((n, r) => n + Number(r.sessions), 0),
        },
        "failure-details": failed.map((r) => ({
          "result-type": r.result_type,
          "receiving-mx-hostname": r.mx_host,
          ...(r.receiving_ip !== "" ? { "receiving-ip": r.receiving_ip } : {}),
          "failed-session-count": Number(r.sessions),
          ...(r.detail ? { "additional-information": r.detail } : {}),
        })),
      };
    }),
  };
}

/** §5.3: the report as a message; the sendMail of the collector DKIM-signs it (src/server/outbound.ts). */
export function tlsReportMessage(opts: {
  report: TlsReport;
  domain: string;
  submitter: string;
  from: string;
  to: string;
  now: number;
}): Buffer {
  const r = opts.report;
  const boundary = `=_tlsrpt_${randomBytes(12).toString("hex")}`;
  const start = Date.parse(r["date-range"]["start-datetime"]) / 1000;
  const end = Date.parse(r["date-range"]["end-datetime"]) / 1000;
  const file = `${opts.submitter}!${opts.domain}!${start}!${end}.json.gz`;
  const gz = gzipSync(JSON.stringify(r)).toString("base64").replace(/.{76}/g, "$&\r\n");
  const lines = [
    `From: <${opts.from}>`,
    `To: <${opts.to}>`,
    `Subject: Report Domain: ${opts.domain} Submitter: ${opts.submitter} Report-ID: <${r["report-id"]}>`,
    `Date: ${rfc5322Date(opts.now)}`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${opts.submitter}>`,
    `TLS-Report-Domain: ${opts.domain}`,
    `TLS-Report-Submitter: ${opts.submitter}`,
    "Auto-Submitted: auto-generated",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `This is an aggregate TLS report from ${opts.submitter} for ${opts.domain}.`,
    "",
    `--${boundary}`,
    `Content-Type: application/tlsrpt+gzip; name="${file}"`,
    "Content-Transfer-Encoding: base64",
    `Content-Disposition: attachment; filename="${file}"`,
    "",
    gz,
    `--${boundary}--`,
    "",
  ];
  return Buffer.from(lines.join("\r\n"), "utf8");
}

/** POSTs a report to an https: URI (§5.2); resolves with the HTTP status. */
export type ReportPoster = (url: string, body: Buffer, contentType: string) => Promise<number>;

/** The default poster: node:https, names through our Resolver, certificates verified. */
export function httpsReportPoster(opts: {
  resolver: Resolver;
  ca?: string | Buffer | Array<string | Buffer>;
  timeoutMs?: number;
}): ReportPoster {
  const lookup = resolverLookup(opts.resolver);
  return (url, body, contentType) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = request(
        {
          host: u.hostname,
          port: u.port === "" ? 443 : Number(u.port),
          path: `${u.pathname}${u.search}`,
          method: "POST",
          servername: u.hostname,
          lookup,
          timeout: opts.timeoutMs ?? 30_000,
          headers: { "content-type": contentType, "content-length": body.length },
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("timeout", () => req.destroy(new Error("report upload timed out")));
      req.on("error", reject);
      req.end(body);
    });
}

export interface TlsRptOptions {
  driver: SqlDriver;
  resolver: Resolver;
  clock: Clock;
  logger: Logger;
  /** Our host name: the submitter (§4.4 is "organization-name"; §5.3 Submitter). */
  submitter: string;
  organization: string;
  /** From address of report mail (also contact-info). */
  from: string;
  /** Sends a report message (the outbound queue, with the null sender or `from`). */
  sendMail(to: string, message: Buffer): Promise<void>;
  post?: ReportPoster;
}

/**
 * Counts outcomes in memory and writes them at most once a second (record() is called on the
 * delivery path and must not wait); sendReports() mails the days that are over.
 */
export class TlsRptCollector implements TlsReportSink {
  readonly #o: TlsRptOptions;
  #pending = new Map<string, { row: Omit<Row, "sessions">; n: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: TlsRptOptions) {
    this.#o = opts;
  }

  record(r: TlsResult): void {
    const day = new Date(this.#o.clock.now()).toISOString().slice(0, 10);
    const row = {
      day,
      policy_domain: r.policyDomain.toLowerCase(),
      policy_type: r.type,
      policy_strings: JSON.stringify(r.policyStrings),
      mx_host: r.mxHost,
      result_type: r.ok ? "" : (r.failure ?? "validation-failure"),
      receiving_ip: r.address,
      detail: r.ok ? null : (r.detail ?? null),
    };
    const key = [
      row.day,
      row.policy_domain,
      row.policy_type,
      row.mx_host,
      row.result_type,
      row.receiving_ip,
    ].join("\n");
    const cur = this.#pending.get(key);
    if (cur) cur.n++;
    else this.#pending.set(key, { row, n: 1 });
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((e: unknown) => this.#o.logger.error({ err: e }, "writing TLS-RPT results failed"));
    }, 1000);
    this.#timer.unref?.();
  }

  /** Writes the counted outcomes. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const items = [...this.#pending.values()];
    this.#pending = new Map();
    if (items.length === 0) return;
    await this.#o.driver.transaction(async (tx) => {
      for (const { row, n } of items) {
        await tx.run(
          `INSERT INTO tls_rpt_results (day, policy_domain, policy_type, policy_strings, mx_host, result_type, receiving_ip, detail, sessions)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (day, policy_domain, policy_type, mx_host, result_type, receiving_ip)
           DO UPDATE SET sessions = tls_rpt_results.sessions + excluded.sessions, policy_strings = excluded.policy_strings`,
          [
            row.day,
            row.policy_domain,
            row.policy_type,
            row.policy_strings,
            row.mx_host,
            row.result_type,
            row.receiving_ip,
            row.detail,
            n,
          ],
        );
      }
    });
  }

  /** Sends the reports of every day before today; returns how many reports went out. */
  async sendReports(): Promise<number> {
    await this.flush();
    const today = new Date(this.#o.clock.now()).toISOString().slice(0, 10);
    const groups = await this.#o.driver.all<{ day: string; policy_domain: string }>(
      "SELECT DISTINCT day, policy_domain FROM tls_rpt_results WHERE day < ? ORDER BY day, policy_domain",
      [today],
    );
    let sent = 0;
    for (const g of groups) {
      const rows = await this.#o.driver.all<Row>(
        "SELECT * FROM tls_rpt_results WHERE day = ? AND policy_domain = ?",
        [g.day, g.policy_domain],
      );
      let uris: string[] | null = null;
      try {
        uris = parseTlsRptRecord(await this.#o.resolver.resolveTxt(`_smtp._tls.${g.policy_domain}`));
      } catch (e) {
        // A temporary DNS failure: try again at the next run; no record: nothing to send.
        if (!isDnsError(e, "NXDOMAIN") && !isDnsError(e, "NODATA")) continue;
      }
      if (uris) {
        const report = buildTlsReport(rows, {
          organization: this.#o.organization,
          contact: this.#o.from,
          reportId: `${g.day}T00:00:00Z_${g.policy_domain}_${randomBytes(6).toString("hex")}`,
          day: g.day,
        });
        for (const uri of uris) {
          try {
            if (uri.toLowerCase().startsWith("mailto:")) {
              const to = decodeURIComponent(uri.slice(7).split("?")[0]!);
              const message = tlsReportMessage({
                report,
                domain: g.policy_domain,
                submitter: this.#o.submitter,
                from: this.#o.from,
                to,
                now: this.#o.clock.now(),
              });
              await this.#o.sendMail(to, message);
            } else if (this.#o.post) {
              const status = await this.#o.post(
                uri,
                gzipSync(JSON.stringify(report)),
                "application/tlsrpt+gzip",
              );
              if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
            }
          } catch (e) {
            this.#o.logger.warn({ err: e, uri, domain: g.policy_domain }, "sending a TLS report failed");
          }
        }
        sent++;
      }
      await this.#o.driver.run("DELETE FROM tls_rpt_results WHERE day = ? AND policy_domain = ?", [
        g.day,
        g.policy_domain,
      ]);
    }
    return sent;
  }
}
