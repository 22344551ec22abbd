// Reading feedback reports in the Abuse Reporting Format (RFC 5965): a multipart/report with
// report-type=feedback-report (§2) whose second part, message/feedback-report, holds the
// fields of §3 (and those RFC 6591 §3 adds for auth-failure reports, which DMARC failure
// reports are, RFC 7489 §7.3), and whose third part returns the message or its header.
// Field values are kept as written (folding turned into "\n"), lists for fields that may
// repeat; unknown fields are ignored. Bounded by the MIME parser's limits.
import { rawFields } from "../../mail/header-fields.ts";
import { parseDate } from "../../mail/date.ts";
import { decodePartBody, parseMessage } from "../../mail/parse.ts";
import type { MimePart } from "../../mail/types.ts";
import { ReportParseError } from "./aggregate-parse.ts";
import type { FeedbackReport } from "./types.ts";

const MAX_VALUES = 100;
const MAX_RETURNED = 1024 * 1024;

function mediaType(p: MimePart): string {
  return `${p.contentType.type}/${p.contentType.subtype}`;
}

/** The fields of a feedback-report body: lower-cased name → raw values in order. */
export function feedbackFields(body: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of rawFields(body, 0, body.length)) {
    let end = f.end;
    if (body[end - 1] === 0x0a) end--;
    if (end > f.valueStart && body[end - 1] === 0x0d) end--;
    const value = body.toString("utf8", f.valueStart, end).replace(/\r\n/g, "\n").trim();
    const name = f.name.toLowerCase();
    const list = out.get(name) ?? [];
    if (list.length < MAX_VALUES) list.push(value.slice(0, 64 * 1024));
    out.set(name, list);
  }
  return out;
}

/** RFC 5965 §3.1-3.2 and RFC 6591 §3 fields of one message/feedback-report body. */
export function readFeedbackReport(body: Buffer): Omit<FeedbackReport, "headers" | "message"> {
  const f = feedbackFields(body);
  const one = (name: string): string | null => f.get(name)?.[0] ?? null;
  const all = (name: string): string[] => f.get(name) ?? [];
  const num = (name: string): number | null => {
    const v = one(name);
    return v !== null && /^\d{1,9}$/.test(v) ? Number(v) : null;
  };
  const type = one("feedback-type");
  if (type === null) throw new ReportParseError("no Feedback-Type field");
  // RFC 5965 §3.2 Arrival-Date; Received-Date is the name of the drafts before it.
  const arrival = one("arrival-date") ?? one("received-date");
  const mta = one("reporting-mta");
  const ip = one("source-ip");
  return {
    feedback_type: type.toLowerCase(),
    version: num("version"),
    user_agent: one("user-agent"),
    arrival_date: parseDate(arrival),
    original_envelope_id: one("original-envelope-id"),
    original_mail_from: one("original-mail-from"),
    original_rcpt_to: all("original-rcpt-to"),
    // RFC 5965 §3.2: Reporting-MTA is "dns; name" (RFC 3464 §2.2.2 mta-name-type).
    reporting_mta: mta === null ? null : mta.replace(/^[^;]*;\s*/, ""),
    // A Source-IP may carry a comment with the host name: keep the address.
    source_ip: ip === null ? null : (ip.split(/[\s(]/)[0] ?? ""),
    source_port: num("source-port"),
    incidents: num("incidents") ?? 1,
    authentication_results: all("authentication-results"),
    reported_domain: all("reported-domain"),
    reported_uri: all("reported-uri"),
    auth_failure: one("auth-failure")?.toLowerCase() ?? null,
    delivery_result: one("delivery-result")?.toLowerCase() ?? null,
    dkim_adsp_dns: one("dkim-adsp-dns"),
    dkim_canonicalized_body: one("dkim-canonicalized-body"),
    dkim_canonicalized_header: one("dkim-canonicalized-header"),
    dkim_domain: one("dkim-domain"),
    dkim_identity: one("dkim-identity"),
    dkim_selector: one("dkim-selector"),
    dkim_selector_dns: one("dkim-selector-dns"),
    spf_dns: one("spf-dns"),
    identity_alignment: one("identity-alignment")?.toLowerCase() ?? null,
  };
}

/** Finds the multipart/report of type feedback-report in a message (top level or one down). */
function findReport(root: MimePart): MimePart | null {
  const isReport = (p: MimePart): boolean =>
    mediaType(p) === "multipart/report" &&
    (p.contentType.params["report-type"] ?? "").toLowerCase() === "feedback-report";
  if (isReport(root)) return root;
  return root.parts?.find(isReport) ?? null;
}

/** Parses an ARF message (RFC 5965 §2); throws ReportParseError when it is none. */
export function parseArfMessage(raw: Buffer): FeedbackReport {
  const parsed = parseMessage(raw);
  const report = findReport(parsed.root);
  if (!report) throw new ReportParseError("not a multipart/report; report-type=feedback-report");
  const parts = report.parts ?? [];
  const fb = parts.find((p) => mediaType(p) === "message/feedback-report");
  if (!fb) throw new ReportParseError("no message/feedback-report part");
  const fields = readFeedbackReport(decodePartBody(raw, fb));
  const returned = parts.find((p) => p !== fb && p !== parts[0]);
  let headers: string | null = null;
  let message: string | null = null;
  if (returned) {
    const t = mediaType(returned);
    const text = decodePartBody(raw, returned)
      .subarray(0, MAX_RETURNED)
      .toString("utf8")
      .replace(/\r\n/g, "\n");
    if (t === "text/rfc822-headers") headers = text;
    else if (t === "message/rfc822" || t === "message/global") message = text;
  }
  return { ...fields, headers, message };
}
