// Reading DMARC aggregate reports (RFC 7489 §7.2, the XML of Appendix C) that others send
// to our rua address. fast-xml-parser builds the tree (it neither fetches nor expands
// external entities); before it runs, a document with a DOCTYPE is refused (reports have no
// use for one, and internal entities are the "billion laughs" door), and the size, the
// element nesting and the record count are bounded. The tree is then read leniently: a
// missing optional element becomes null, unknown elements are ignored (DMARCbis adds some),
// a missing required one is a ReportParseError. Never throws anything else.
import { XMLParser } from "fast-xml-parser";
import type {
  AggregateRecord,
  AggregateReport,
  DkimAuthResult,
  PolicyOverrideReason,
  ReportExtension,
  SpfAuthResult,
} from "./types.ts";

export class ReportParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportParseError";
  }
}

export const AGGREGATE_LIMITS = {
  /** Largest XML document read, in bytes (after decompression). */
  maxBytes: 32 * 1024 * 1024,
  /** Deepest element nesting (the schema needs 5). */
  maxDepth: 24,
  /** Most <record> elements. */
  maxRecords: 100_000,
  /** Most dkim/spf results, reasons, errors or extensions in one list. */
  maxListEntries: 100,
  /** Longest text kept from one element. */
  maxTextLength: 4096,
};

type Node = Record<string, unknown>;

const ARRAYS = new Set([
  "feedback.record",
  "feedback.record.auth_results.dkim",
  "feedback.record.auth_results.spf",
  "feedback.record.row.policy_evaluated.reason",
  "feedback.report_metadata.error",
  "feedback.extensions.extension",
  "feedback.record.extensions.extension",
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  isArray: (_name, jpath) => ARRAYS.has(String(jpath)),
});

/** Rejects what the XML parser should never see: a DOCTYPE, too deep a nesting. */
function precheck(xml: string): void {
  if (xml.length > AGGREGATE_LIMITS.maxBytes) throw new ReportParseError("report too large");
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ReportParseError("DOCTYPE not allowed in a report");
  let depth = 0;
  const tags = /<(\/?)[A-Za-z_][^<>]*?(\/?)>|<[!?][^<>]*>/g;
  for (let m = tags.exec(xml); m; m = tags.exec(xml)) {
    if (m[0][1] === "!" || m[0][1] === "?") continue;
    if (m[1] === "/") depth--;
    else if (m[2] !== "/") depth++;
    if (depth > AGGREGATE_LIMITS.maxDepth) throw new ReportParseError("elements nested too deep");
  }
}

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The text of an element (or of its #text when it has attributes), bounded; null when absent. */
function text(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (isNode(v)) return "#text" in v ? text(v["#text"]) : null;
  if (Array.isArray(v)) return text(v[0]);
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
    const s = String(v).trim();
    return s.slice(0, AGGREGATE_LIMITS.maxTextLength);
  }
  return null;
}

function need(v: unknown, what: string): string {
  const t = text(v);
  if (t === null || t === "") throw new ReportParseError(`missing ${what}`);
  return t;
}

function lower(v: unknown): string | null {
  const t = text(v);
  return t === null || t === "" ? null : t.toLowerCase();
}

function int(v: unknown, what: string): number {
  const t = need(v, what);
  if (!/^-?\d{1,15}$/.test(t)) throw new ReportParseError(`${what} is not an integer`);
  return Number(t);
}

function list(v: unknown): unknown[] {
  const a = Array.isArray(v) ? v : v === undefined || v === null || v === "" ? [] : [v];
  return a.slice(0, AGGREGATE_LIMITS.maxListEntries);
}

function node(v: unknown): Node {
  return isNode(v) ? v : {};
}

function extensions(v: unknown): ReportExtension[] {
  return list(node(v).extension).map((e) => ({
    name: text(node(e)["@name"]) ?? "",
    definition: text(node(e)["@definition"]) ?? "",
  }));
}

function record(v: unknown): AggregateRecord {
  const r = node(v);
  const row = node(r.row);
  const pe = node(row.policy_evaluated);
  const ids = node(r.identifiers);
  const ar = node(r.auth_results);
  const reason = list(pe.reason).map((x): PolicyOverrideReason => ({
    type: lower(node(x).type) ?? "other",
    comment: text(node(x).comment),
  }));
  const dkim = list(ar.dkim).map((x): DkimAuthResult => ({
    domain: need(node(x).domain, "dkim domain"),
    selector: text(node(x).selector),
    result: lower(node(x).result) ?? "none",
    human_result: text(node(x).human_result),
  }));
  const spf = list(ar.spf).map((x): SpfAuthResult => ({
    domain: need(node(x).domain, "spf domain"),
    scope: lower(node(x).scope),
    result: lower(node(x).result) ?? "none",
    human_result: text(node(x).human_result),
  }));
  return {
    row: {
      source_ip: need(row.source_ip, "source_ip"),
      count: int(row.count, "count"),
      policy_evaluated: {
        disposition: lower(pe.disposition) ?? "none",
        dkim: lower(pe.dkim) ?? "fail",
        spf: lower(pe.spf) ?? "fail",
        reason,
      },
    },
    identifiers: {
      envelope_to: text(ids.envelope_to),
      envelope_from: text(ids.envelope_from),
      header_from: need(ids.header_from, "header_from"),
    },
    auth_results: { dkim, spf },
    extensions: extensions(r.extensions),
  };
}

/** Parses one aggregate report document; throws ReportParseError on anything unusable. */
export function parseAggregateReport(input: string | Buffer): AggregateReport {
  const xml = (typeof input === "string" ? input : input.toString("utf8")).replace(/^\uFEFF/, "");
  precheck(xml);
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (e) {
    throw new ReportParseError(`not XML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  const fb = node(node(doc).feedback);
  if (!isNode(node(doc).feedback)) throw new ReportParseError("no <feedback> element");
  const md = node(fb.report_metadata);
  const pp = node(fb.policy_published);
  const dr = node(md.date_range);
  const records = Array.isArray(fb.record) ? (fb.record as unknown[]) : [];
  if (records.length > AGGREGATE_LIMITS.maxRecords) throw new ReportParseError("too many records");
  const version = text(fb.version);
  const pct = text(pp.pct);
  return {
    version: version !== null && /^\d+(\.\d+)?$/.test(version) ? Number(version) : null,
    report_metadata: {
      org_name: need(md.org_name, "org_name"),
      email: text(md.email) ?? "",
      extra_contact_info: text(md.extra_contact_info),
      report_id: need(md.report_id, "report_id"),
      date_range: { begin: int(dr.begin, "date_range begin"), end: int(dr.end, "date_range end") },
      error: list(md.error)
        .map(text)
        .filter((e): e is string => e !== null),
      generator: text(md.generator),
    },
    policy_published: {
      domain: need(pp.domain, "policy_published domain").toLowerCase(),
      adkim: lower(pp.adkim),
      aspf: lower(pp.aspf),
      p: lower(pp.p),
      sp: lower(pp.sp),
      np: lower(pp.np),
      pct: pct !== null && /^\d{1,3}$/.test(pct) ? Number(pct) : null,
      fo: text(pp.fo),
      testing: lower(pp.testing),
      discovery_method: lower(pp.discovery_method),
    },
    record: records.map(record),
    extensions: extensions(fb.extensions),
  };
}
