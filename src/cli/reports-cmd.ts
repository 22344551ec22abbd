// `mailroom reports list|show`: the DMARC aggregate (RFC 7489 §7.2), TLS-RPT (RFC 8460) and
// failure (RFC 6591) reports that others sent to our report addresses (config
// reports.addresses), as kept by the server. They read the data folder's store whether or
// not a server runs on it.
import type { Command } from "commander";
import { StoreError } from "../core/errors.ts";
import { ReceivedReports, type ReceivedReport } from "../mailauth/reports/received.ts";
import type { AggregateReport, FeedbackReport, ReceivedTlsReport } from "../mailauth/reports/types.ts";
import type { SqlDriver } from "../store/sql.ts";
import { withStore } from "./directory-cmds.ts";
import { printTable, UsageError } from "./output.ts";

interface DataOpt {
  data: string;
}

const KINDS = ["dmarc", "tlsrpt", "arf"] as const;

function time(ms: number | null): string {
  return ms === null ? "" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function day(ms: number | null): string {
  return ms === null ? "" : new Date(ms).toISOString().slice(0, 10);
}

async function withReports<T>(opts: DataOpt, fn: (r: ReceivedReports) => Promise<T>): Promise<T> {
  return withStore(opts, async (store) => {
    const driver = (store as Partial<{ driver: SqlDriver }>).driver;
    if (!driver) throw new UsageError("this store keeps no reports");
    return fn(new ReceivedReports(driver));
  });
}

function dmarcLines(r: AggregateReport): string[] {
  const p = r.policy_published;
  const lines = [
    `policy:       p=${p.p ?? "?"} sp=${p.sp ?? "?"} pct=${p.pct ?? "?"} adkim=${p.adkim ?? "?"} aspf=${p.aspf ?? "?"}`,
    `contact:      ${r.report_metadata.email}`,
    "records:",
  ];
  for (const rec of r.record) {
    const pe = rec.row.policy_evaluated;
    const dkim = rec.auth_results.dkim.map(
      (d) => `${d.domain}${d.selector ? `/${d.selector}` : ""}=${d.result}`,
    );
    const spf = rec.auth_results.spf.map((s) => `${s.domain}=${s.result}`);
    lines.push(
      `  ${rec.row.source_ip} x${rec.row.count} from=${rec.identifiers.header_from} ` +
        `disposition=${pe.disposition} dkim=${pe.dkim} spf=${pe.spf}` +
        (pe.reason.length > 0 ? ` reason=${pe.reason.map((x) => x.type).join(",")}` : ""),
      `    auth: dkim ${dkim.join(" ") || "none"}; spf ${spf.join(" ") || "none"}`,
    );
  }
  return lines;
}

function tlsLines(r: ReceivedTlsReport): string[] {
  const lines = [`contact:      ${r["contact-info"]}`, "policies:"];
  for (const p of r.policies) {
    lines.push(
      `  ${p.policy["policy-type"]} ${p.policy["policy-domain"] ?? ""}: ` +
        `${p.summary["total-successful-session-count"] ?? 0} successful, ${p.summary["total-failure-session-count"] ?? 0} failed`,
    );
    for (const d of p["failure-details"] ?? [])
      lines.push(
        `    ${d["result-type"]} x${d["failed-session-count"]}` +
          (d["receiving-mx-hostname"] ? ` mx=${d["receiving-mx-hostname"]}` : "") +
          (d["receiving-ip"] ? ` ip=${d["receiving-ip"]}` : ""),
      );
  }
  return lines;
}

function arfLines(r: FeedbackReport): string[] {
  const lines = [
    `feedback:     ${r.feedback_type}${r.auth_failure ? ` (${r.auth_failure})` : ""}`,
    `source ip:    ${r.source_ip ?? ""}`,
    `mail from:    ${r.original_mail_from ?? ""}`,
    `arrived:      ${time(r.arrival_date)}`,
  ];
  for (const a of r.authentication_results) lines.push(`auth results: ${a.replace(/\s+/g, " ")}`);
  return lines;
}

function describe(x: ReceivedReport): string {
  const lines = [
    `id:           ${x.id}`,
    `kind:         ${x.kind}`,
    `from:         ${x.orgName}`,
    `report id:    ${x.reportId}`,
    `domain:       ${x.domain}`,
    `period:       ${time(x.begin)} - ${time(x.end)}`,
    `received:     ${time(x.receivedAt)}`,
    `total:        ${x.summary.total}, failed ${x.summary.failed}`,
  ];
  if (x.kind === "dmarc") lines.push(...dmarcLines(x.report as AggregateReport));
  else if (x.kind === "tlsrpt") lines.push(...tlsLines(x.report as ReceivedTlsReport));
  else lines.push(...arfLines(x.report as FeedbackReport));
  return lines.join("\n") + "\n";
}

export function registerReportsCommands(program: Command): void {
  const reports = program
    .command("reports")
    .description("DMARC, TLS-RPT and failure reports received at our report addresses");
  const data = (c: Command): Command => c.requiredOption("--data <dir>", "the data folder", "./data");

  data(reports.command("list").description("list received reports, newest first"))
    .option("--kind <kind>", `only this kind (${KINDS.join(", ")})`)
    .option("--domain <domain>", "only reports about this domain")
    .option("--limit <n>", "show at most this many", "100")
    .option("--json", "print the reports as JSON")
    .action(async (opts: DataOpt & { kind?: string; domain?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`bad --limit ${opts.limit}`);
      const kind = opts.kind;
      if (kind !== undefined && !(KINDS as readonly string[]).includes(kind))
        throw new UsageError(`bad --kind ${kind} (${KINDS.join(", ")})`);
      await withReports(opts, async (r) => {
        const list = await r.list({
          limit,
          ...(kind ? { kind: kind as ReceivedReport["kind"] } : {}),
          ...(opts.domain ? { domain: opts.domain } : {}),
        });
        if (opts.json) {
          process.stdout.write(JSON.stringify(list, null, 2) + "\n");
          return;
        }
        if (list.length === 0) {
          process.stdout.write("no reports received\n");
          return;
        }
        printTable([
          ["ID", "KIND", "DOMAIN", "FROM", "PERIOD", "TOTAL", "FAILED", "REPORT-ID"],
          ...list.map((x) => [
            x.id,
            x.kind,
            x.domain,
            x.orgName,
            x.begin === null ? "" : `${day(x.begin)}..${day(x.end)}`,
            String(x.summary.total),
            String(x.summary.failed),
            x.reportId,
          ]),
        ]);
      });
    });

  data(reports.command("show <id>").description("show one received report"))
    .option("--json", "print the parsed report as JSON")
    .action(async (id: string, opts: DataOpt & { json?: boolean }) => {
      await withReports(opts, async (r) => {
        const x = await r.get(id);
        if (!x) throw new StoreError("NOTFOUND", `no report ${id}`);
        process.stdout.write(opts.json ? JSON.stringify(x.report, null, 2) + "\n" : describe(x));
      });
    });
}
