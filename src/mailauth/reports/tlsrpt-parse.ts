// Reading TLS-RPT reports (RFC 8460 §4.4, the JSON of §4.3) that others send to our
// `_smtp._tls` rua address. The JSON is bounded in size before JSON.parse, then read field by
// field: the fields of §4.4 are kept with their types checked, unknown fields are dropped,
// lists are bounded. A required field missing or mistyped is a ReportParseError.
import { ReportParseError } from "./aggregate-parse.ts";
import type { ReceivedTlsReport, TlsFailureDetail, TlsPolicyResult } from "./types.ts";

export const TLSRPT_LIMITS = {
  maxBytes: 16 * 1024 * 1024,
  maxPolicies: 10_000,
  maxDetails: 10_000,
  maxStrings: 1000,
  maxTextLength: 4096,
};

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ReportParseError(`${what} is not an object`);
  return v as Obj;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw new ReportParseError(`${what} is not a string`);
  return v.slice(0, TLSRPT_LIMITS.maxTextLength);
}

function optStr(o: Obj, key: string): Record<string, string> {
  const v = o[key];
  return typeof v === "string" ? { [key]: v.slice(0, TLSRPT_LIMITS.maxTextLength) } : {};
}

function count(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new ReportParseError(`${what} is not a count`);
  return v;
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw new ReportParseError(`${what} is not a list`);
  return v.slice(0, TLSRPT_LIMITS.maxStrings).map((s, i) => str(s, `${what}[${i}]`));
}

function detail(v: unknown): TlsFailureDetail {
  const d = obj(v, "failure-details entry");
  return {
    "result-type": str(d["result-type"], "result-type"),
    ...optStr(d, "sending-mta-ip"),
    ...optStr(d, "receiving-mx-hostname"),
    ...optStr(d, "receiving-mx-helo"),
    ...optStr(d, "receiving-ip"),
    "failed-session-count": count(d["failed-session-count"], "failed-session-count"),
    ...optStr(d, "additional-information"),
    ...optStr(d, "failure-reason-code"),
  };
}

function policy(v: unknown): TlsPolicyResult {
  const p = obj(v, "policies entry");
  const pol = obj(p.policy, "policy");
  const sum = p.summary === undefined ? {} : obj(p.summary, "summary");
  const out: TlsPolicyResult = {
    policy: {
      "policy-type": str(pol["policy-type"], "policy-type"),
      ...(pol["policy-string"] !== undefined
        ? { "policy-string": strings(pol["policy-string"], "policy-string") }
        : {}),
      ...optStr(pol, "policy-domain"),
      ...(pol["mx-host"] !== undefined ? { "mx-host": strings(pol["mx-host"], "mx-host") } : {}),
    },
    summary: {
      ...(sum["total-successful-session-count"] !== undefined
        ? { "total-successful-session-count": count(sum["total-successful-session-count"], "successes") }
        : {}),
      ...(sum["total-failure-session-count"] !== undefined
        ? { "total-failure-session-count": count(sum["total-failure-session-count"], "failures") }
        : {}),
    },
  };
  if (p["failure-details"] !== undefined) {
    if (!Array.isArray(p["failure-details"])) throw new ReportParseError("failure-details is not a list");
    if (p["failure-details"].length > TLSRPT_LIMITS.maxDetails)
      throw new ReportParseError("too many failure details");
    out["failure-details"] = p["failure-details"].map(detail);
  }
  return out;
}

/** Parses one TLS-RPT JSON report; throws ReportParseError on anything unusable. */
export function parseTlsReport(input: string | Buffer): ReceivedTlsReport {
  const json = (typeof input === "string" ? input : input.toString("utf8")).replace(/^\uFEFF/, "");
  if (json.length > TLSRPT_LIMITS.maxBytes) throw new ReportParseError("report too large");
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new ReportParseError("not JSON");
  }
  const r = obj(doc, "report");
  const range = obj(r["date-range"], "date-range");
  if (!Array.isArray(r.policies)) throw new ReportParseError("policies is not a list");
  if (r.policies.length > TLSRPT_LIMITS.maxPolicies) throw new ReportParseError("too many policies");
  return {
    "organization-name": str(r["organization-name"], "organization-name"),
    "date-range": {
      "start-datetime": str(range["start-datetime"], "start-datetime"),
      "end-datetime": str(range["end-datetime"], "end-datetime"),
    },
    "contact-info": typeof r["contact-info"] === "string" ? str(r["contact-info"], "contact-info") : "",
    "report-id": str(r["report-id"], "report-id"),
    policies: r.policies.map(policy),
  };
}
