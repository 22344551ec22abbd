// Reports received at our report addresses, kept in the store (table reports_received,
// store migration 7): what `mailroom reports list|show` prints. One row per report, found
// again by (kind, org_name, report_id) so a report delivered twice is kept once. Each row
// carries a short summary (counts for the list) and the parsed report as JSON.
import { newId } from "../../core/ids.ts";
import type { SqlDriver, SqlValue } from "../../store/sql.ts";
import type { ExtractedReport } from "./extract.ts";

export interface ReceivedReport {
  id: string;
  kind: "dmarc" | "tlsrpt" | "arf";
  orgName: string;
  reportId: string;
  /** The policy domain the report is about. */
  domain: string;
  /** The period covered (ms), when the report says. */
  begin: number | null;
  end: number | null;
  receivedAt: number;
  accountId: string | null;
  summary: ReportSummary;
  report: ExtractedReport["report"];
}

/** What the list shows: messages (or sessions) that passed and failed. */
export interface ReportSummary {
  /** Messages (DMARC), sessions (TLS-RPT) or incidents (ARF). */
  total: number;
  failed: number;
  /** DMARC: messages given quarantine or reject. */
  quarantined?: number;
  rejected?: number;
}

interface Row {
  id: string;
  kind: string;
  org_name: string;
  report_id: string;
  domain: string;
  begin_at: number | null;
  end_at: number | null;
  received_at: number;
  account_id: string | null;
  summary: string;
  data: string;
}

/** The identifying fields and summary of an extracted report. */
export function describeReport(x: ExtractedReport): Omit<ReceivedReport, "id" | "receivedAt" | "accountId"> {
  switch (x.kind) {
    case "dmarc": {
      const r = x.report;
      let total = 0;
      let failed = 0;
      let quarantined = 0;
      let rejected = 0;
      for (const rec of r.record) {
        const n = rec.row.count;
        total += n;
        const pe = rec.row.policy_evaluated;
        if (pe.dkim !== "pass" && pe.spf !== "pass") failed += n;
        if (pe.disposition === "quarantine") quarantined += n;
        if (pe.disposition === "reject") rejected += n;
      }
      return {
        kind: "dmarc",
        orgName: r.report_metadata.org_name,
        reportId: r.report_metadata.report_id,
        domain: r.policy_published.domain,
        begin: r.report_metadata.date_range.begin * 1000,
        end: r.report_metadata.date_range.end * 1000,
        summary: { total, failed, quarantined, rejected },
        report: r,
      };
    }
    case "tlsrpt": {
      const r = x.report;
      let ok = 0;
      let failed = 0;
      for (const p of r.policies) {
        ok += p.summary["total-successful-session-count"] ?? 0;
        failed += p.summary["total-failure-session-count"] ?? 0;
      }
      const start = Date.parse(r["date-range"]["start-datetime"]);
      const end = Date.parse(r["date-range"]["end-datetime"]);
      return {
        kind: "tlsrpt",
        orgName: r["organization-name"],
        reportId: r["report-id"],
        domain: r.policies.find((p) => p.policy["policy-domain"])?.policy["policy-domain"] ?? "",
        begin: Number.isFinite(start) ? start : null,
        end: Number.isFinite(end) ? end : null,
        summary: { total: ok + failed, failed },
        report: r,
      };
    }
    case "arf": {
      const r = x.report;
      return {
        kind: "arf",
        orgName: r.reporting_mta ?? r.user_agent ?? "",
        reportId: "",
        domain: r.reported_domain[0] ?? "",
        begin: r.arrival_date,
        end: r.arrival_date,
        summary: { total: r.incidents, failed: r.incidents },
        report: r,
      };
    }
  }
}

function fromRow(r: Row): ReceivedReport {
  return {
    id: r.id,
    kind: r.kind as ReceivedReport["kind"],
    orgName: r.org_name,
    reportId: r.report_id,
    domain: r.domain,
    begin: r.begin_at === null ? null : Number(r.begin_at),
    end: r.end_at === null ? null : Number(r.end_at),
    receivedAt: Number(r.received_at),
    accountId: r.account_id,
    summary: JSON.parse(r.summary) as ReportSummary,
    report: JSON.parse(r.data) as ReceivedReport["report"],
  };
}

export class ReceivedReports {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  /**
   * Keeps a report; returns its id, or null when the same report (kind, organization,
   * report id) was kept before. `key` stands in for a report id the format lacks (ARF).
   */
  async add(
    x: ExtractedReport,
    opts: { receivedAt: number; accountId?: string | null; key?: string },
  ): Promise<string | null> {
    const d = describeReport(x);
    const id = newId("r");
    const r = await this.#db.run(
      `INSERT INTO reports_received (id, kind, org_name, report_id, domain, begin_at, end_at, received_at, account_id, summary, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, org_name, report_id) DO NOTHING`,
      [
        id,
        d.kind,
        d.orgName,
        d.reportId !== "" ? d.reportId : (opts.key ?? id),
        d.domain,
        d.begin,
        d.end,
        opts.receivedAt,
        opts.accountId ?? null,
        JSON.stringify(d.summary),
        JSON.stringify(d.report),
      ],
    );
    return r.changes > 0 ? id : null;
  }

  /** Newest first. */
  async list(
    opts: { kind?: ReceivedReport["kind"]; domain?: string; limit?: number } = {},
  ): Promise<ReceivedReport[]> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (opts.kind) {
      where.push("kind = ?");
      args.push(opts.kind);
    }
    if (opts.domain) {
      where.push("domain = ?");
      args.push(opts.domain.toLowerCase());
    }
    const rows = await this.#db.all<Row>(
      `SELECT * FROM reports_received ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY received_at DESC, num DESC LIMIT ?`,
      [...args, opts.limit ?? 100],
    );
    return rows.map(fromRow);
  }

  async get(id: string): Promise<ReceivedReport | null> {
    const row = await this.#db.get<Row>("SELECT * FROM reports_received WHERE id = ?", [id]);
    return row ? fromRow(row) : null;
  }
}
