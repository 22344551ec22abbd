// Writing DMARC aggregate reports: the XML of RFC 7489 Appendix C from the report model
// (types.ts), elements in the schema's order, optional ones left out when empty, text
// escaped (XML 1.0 §2.4; characters XML cannot carry are dropped). And the report of one
// period and policy from the recorded rows (recorder.ts).
import type { DmarcRecordRow } from "./recorder.ts";
import type { AggregateRecord, AggregateReport, ReportExtension, SpfAuthResult } from "./types.ts";

function esc(s: string): string {
  return (
    s
      // XML 1.0 §2.2 Char: no C0 controls other than TAB, LF, CR; no lone surrogates.
      .replace(
        /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
        "",
      )
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
  );
}

type Child = string | null | undefined | false;

function el(name: string, ...children: Child[]): string {
  const inner = children.filter((c): c is string => typeof c === "string" && c !== "");
  return `<${name}>${inner.join("")}</${name}>`;
}

function leaf(name: string, value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return `<${name}>${esc(String(value))}</${name}>`;
}

function extensions(list: readonly ReportExtension[]): string | null {
  if (list.length === 0) return null;
  return el(
    "extensions",
    ...list.map((e) => `<extension name="${esc(e.name)}" definition="${esc(e.definition)}"/>`),
  );
}

function record(r: AggregateRecord): string {
  const pe = r.row.policy_evaluated;
  return el(
    "record",
    el(
      "row",
      leaf("source_ip", r.row.source_ip),
      leaf("count", r.row.count),
      el(
        "policy_evaluated",
        leaf("disposition", pe.disposition),
        leaf("dkim", pe.dkim),
        leaf("spf", pe.spf),
        ...pe.reason.map((x) => el("reason", leaf("type", x.type), leaf("comment", x.comment))),
      ),
    ),
    el(
      "identifiers",
      leaf("envelope_to", r.identifiers.envelope_to || null),
      leaf("envelope_from", r.identifiers.envelope_from || null),
      leaf("header_from", r.identifiers.header_from),
    ),
    el(
      "auth_results",
      ...r.auth_results.dkim.map((d) =>
        el(
          "dkim",
          leaf("domain", d.domain),
          leaf("selector", d.selector || null),
          leaf("result", d.result),
          leaf("human_result", d.human_result),
        ),
      ),
      ...r.auth_results.spf.map((s) =>
        el("spf", leaf("domain", s.domain), leaf("scope", s.scope), leaf("result", s.result)),
      ),
    ),
    extensions(r.extensions),
  );
}

/** RFC 7489 Appendix C: the report document. */
export function aggregateReportXml(r: AggregateReport): string {
  const m = r.report_metadata;
  const p = r.policy_published;
  const body = el(
    "feedback",
    leaf("version", r.version === null ? null : r.version.toFixed(1)),
    el(
      "report_metadata",
      leaf("org_name", m.org_name),
      leaf("email", m.email),
      leaf("extra_contact_info", m.extra_contact_info),
      leaf("report_id", m.report_id),
      el("date_range", leaf("begin", m.date_range.begin), leaf("end", m.date_range.end)),
      ...m.error.map((e) => leaf("error", e)),
    ),
    el(
      "policy_published",
      leaf("domain", p.domain),
      leaf("adkim", p.adkim),
      leaf("aspf", p.aspf),
      leaf("p", p.p),
      leaf("sp", p.sp),
      leaf("pct", p.pct),
      leaf("fo", p.fo),
    ),
    ...r.record.map(record),
    extensions(r.extensions),
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`;
}

/** The report of one period's rows that share one policy (the rows of one policy domain). */
export function reportFromRows(
  rows: readonly DmarcRecordRow[],
  meta: { orgName: string; email: string; reportId: string; begin: number; end: number; contact?: string },
): AggregateReport {
  const first = rows[0];
  if (!first) throw new Error("a report needs at least one row");
  const policy = JSON.parse(first.policy) as {
    p: string;
    sp: string;
    pct: number;
    adkim: string;
    aspf: string;
    fo: string;
  };
  return {
    version: 1,
    report_metadata: {
      org_name: meta.orgName,
      email: meta.email,
      extra_contact_info: meta.contact ?? null,
      report_id: meta.reportId,
      date_range: { begin: meta.begin, end: meta.end },
      error: [],
      generator: null,
    },
    policy_published: {
      domain: first.policy_domain,
      adkim: policy.adkim,
      aspf: policy.aspf,
      p: policy.p,
      sp: policy.sp,
      np: null,
      pct: policy.pct,
      fo: policy.fo,
      testing: null,
      discovery_method: null,
    },
    record: rows.map((r) => ({
      row: {
        source_ip: r.source_ip,
        count: Number(r.count),
        policy_evaluated: {
          disposition: r.disposition,
          dkim: r.dkim_eval,
          spf: r.spf_eval,
          reason: JSON.parse(r.reasons) as AggregateRecord["row"]["policy_evaluated"]["reason"],
        },
      },
      identifiers: {
        envelope_to: r.envelope_to === "" ? null : r.envelope_to,
        envelope_from: r.envelope_from === "" ? null : r.envelope_from,
        header_from: r.header_from,
      },
      auth_results: {
        dkim: JSON.parse(r.dkim) as AggregateRecord["auth_results"]["dkim"],
        spf: (JSON.parse(r.spf) as Array<Omit<SpfAuthResult, "human_result">>).map((s) => ({
          ...s,
          human_result: null,
        })),
      },
      extensions: [],
    })),
    extensions: [],
  };
}
