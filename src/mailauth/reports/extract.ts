// Finding the report in a message sent to one of our report addresses:
// - a DMARC aggregate report (RFC 7489 §7.2.1.1): an XML document as an attachment, gzip
//   (".xml.gz") or zip (".zip", which many reporters send), or uncompressed;
// - a TLS-RPT report (RFC 8460 §5.3): multipart/report; report-type="tlsrpt" with an
//   application/tlsrpt+gzip or application/tlsrpt+json part (some send other types);
// - a feedback report (RFC 5965 ARF, RFC 6591 failure reports).
// The payload is told by its first bytes (gzip, zip, "<", "{") rather than by the media type,
// which reporters get wrong. Decompression is bounded: gzip with zlib's maxOutputLength; zip
// with fflate (small, no dependencies, widely used) reading only entries whose declared size
// fits, into a buffer of that size (so a lying header cannot make it grow).
import { gunzipSync } from "node:zlib";
import { unzipSync } from "fflate";
import { decodePartBody, parseMessage } from "../../mail/parse.ts";
import type { MimePart } from "../../mail/types.ts";
import { parseAggregateReport, ReportParseError } from "./aggregate-parse.ts";
import { parseArfMessage } from "./arf-parse.ts";
import { parseTlsReport } from "./tlsrpt-parse.ts";
import type { AggregateReport, FeedbackReport, ReceivedTlsReport } from "./types.ts";

export const EXTRACT_LIMITS = {
  /** Largest decompressed payload. */
  maxDecompressed: 32 * 1024 * 1024,
  /** Most attachments looked at in one message. */
  maxParts: 50,
};

export type ExtractedReport =
  | { kind: "dmarc"; report: AggregateReport }
  | { kind: "tlsrpt"; report: ReceivedTlsReport }
  | { kind: "arf"; report: FeedbackReport };

/** Decompresses a gzip or zip payload (bounded); anything else is returned as is. */
export function unpack(data: Buffer): Buffer {
  const max = EXTRACT_LIMITS.maxDecompressed;
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      return gunzipSync(data, { maxOutputLength: max });
    } catch (e) {
      throw new ReportParseError(`bad gzip data: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (data[0] === 0x50 && data[1] === 0x4b && data[2] === 0x03 && data[3] === 0x04) {
    let files: Record<string, Uint8Array>;
    try {
      let taken = false;
      files = unzipSync(data, {
        // The first regular file of a fitting size; a report zip holds one document.
        filter: (f) => {
          const ok = !taken && !f.name.endsWith("/") && f.originalSize <= max && f.size <= data.length;
          if (ok) taken = true;
          return ok;
        },
      });
    } catch (e) {
      throw new ReportParseError(`bad zip data: ${e instanceof Error ? e.message : String(e)}`);
    }
    const first = Object.values(files)[0];
    if (!first) throw new ReportParseError("empty zip archive");
    return Buffer.from(first.buffer, first.byteOffset, first.byteLength);
  }
  return data;
}

/** Parses a report document: XML aggregate or TLS-RPT JSON, told by its first character. */
export function parseReportDocument(data: Buffer): ExtractedReport {
  const doc = unpack(data);
  const head = doc
    .subarray(0, 64)
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart();
  if (head.startsWith("<")) return { kind: "dmarc", report: parseAggregateReport(doc) };
  if (head.startsWith("{")) return { kind: "tlsrpt", report: parseTlsReport(doc) };
  throw new ReportParseError("neither an XML nor a JSON report");
}

function leaves(root: MimePart, out: MimePart[] = []): MimePart[] {
  if (out.length >= EXTRACT_LIMITS.maxParts) return out;
  if (root.parts) for (const p of root.parts) leaves(p, out);
  else out.push(root);
  return out;
}

function mediaType(p: MimePart): string {
  return `${p.contentType.type}/${p.contentType.subtype}`;
}

/** Could this part hold a report document? Text bodies and returned messages cannot. */
function candidate(p: MimePart): boolean {
  const t = mediaType(p);
  if (t.startsWith("multipart/") || t.startsWith("message/") || t === "text/plain" || t === "text/html")
    return false;
  return true;
}

/**
 * The report a message carries, or null when it carries none (mail to a report address that
 * is not a report). Throws ReportParseError when it carries one that cannot be read.
 */
export function extractReport(raw: Buffer): ExtractedReport | null {
  const parsed = parseMessage(raw);
  const root = parsed.root;
  const reportType = (root.contentType.params["report-type"] ?? "").toLowerCase();
  if (mediaType(root) === "multipart/report" && reportType === "feedback-report")
    return { kind: "arf", report: parseArfMessage(raw) };
  let failure: ReportParseError | null = null;
  for (const part of leaves(root)) {
    if (!candidate(part) && part !== root) continue;
    if (part === root && !candidate(part)) continue;
    try {
      return parseReportDocument(decodePartBody(raw, part));
    } catch (e) {
      if (!(e instanceof ReportParseError)) throw e;
      failure ??= e;
    }
  }
  if (failure) throw failure;
  return null;
}
