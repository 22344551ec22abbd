// Property tests of the report parsers: on garbage and on mutated real reports they return a
// report or throw ReportParseError, nothing else; their limits hold (size, nesting, records,
// DOCTYPE, decompression bombs); and what we write (Appendix C XML) parses back unchanged.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { zipSync } from "fflate";
import {
  AGGREGATE_LIMITS,
  parseAggregateReport,
  ReportParseError,
} from "../../../src/mailauth/reports/aggregate-parse.ts";
import { aggregateReportXml } from "../../../src/mailauth/reports/aggregate-xml.ts";
import { parseArfMessage } from "../../../src/mailauth/reports/arf-parse.ts";
import { EXTRACT_LIMITS, extractReport, unpack } from "../../../src/mailauth/reports/extract.ts";
import { parseTlsReport } from "../../../src/mailauth/reports/tlsrpt-parse.ts";
import type { AggregateReport } from "../../../src/mailauth/reports/types.ts";
import { conformanceRoot } from "../../../scripts/conformance.ts";

const FIXTURES = join(conformanceRoot(), "mail-auth-fixtures", "stalwart");

function onlyParseErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ReportParseError)) throw e;
  }
}

/** A fixture with random bytes overwritten, cut or repeated. */
function mutations(base: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .array(
      fc.tuple(fc.nat(base.length), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "cut", "dup")),
      {
        minLength: 1,
        maxLength: 8,
      },
    )
    .map((ops) => {
      let b = Buffer.from(base);
      for (const [pos, byte, op] of ops) {
        const p = Math.min(pos, b.length - 1);
        if (op === "set") b[p] = byte;
        else if (op === "cut") b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + (byte % 40))]);
        else b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + byte), b.subarray(p)]);
      }
      return b;
    });
}

void test("the aggregate parser throws only ReportParseError, on garbage and on mutated reports", async () => {
  const xml = await readFile(join(FIXTURES, "dmarc-feedback", "003.xml"));
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => onlyParseErrors(() => parseAggregateReport(s))),
    {
      numRuns: 300,
    },
  );
  fc.assert(
    fc.property(mutations(xml), (b) => onlyParseErrors(() => parseAggregateReport(b))),
    { numRuns: 300 },
  );
});

void test("the TLS-RPT parser throws only ReportParseError, on any JSON value and on mutated reports", async () => {
  const json = await readFile(join(FIXTURES, "tlsrpt", "rpt01.json"));
  fc.assert(
    fc.property(fc.jsonValue(), (v) => onlyParseErrors(() => parseTlsReport(JSON.stringify(v)))),
    {
      numRuns: 300,
    },
  );
  fc.assert(
    fc.property(mutations(json), (b) => onlyParseErrors(() => parseTlsReport(b))),
    { numRuns: 300 },
  );
});

void test("the ARF parser and the report extractor throw only ReportParseError on mutated messages", async () => {
  const arf = await readFile(join(FIXTURES, "arf", "005.eml"));
  const gz = await readFile(join(FIXTURES, "dmarc-feedback", "102.eml"));
  const zip = await readFile(join(FIXTURES, "dmarc-feedback", "100.eml"));
  fc.assert(
    fc.property(mutations(arf), (b) => onlyParseErrors(() => parseArfMessage(b))),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) =>
      onlyParseErrors(() => extractReport(Buffer.from(b))),
    ),
    {
      numRuns: 200,
    },
  );
  for (const base of [gz, zip, arf])
    fc.assert(
      fc.property(mutations(base), (b) => onlyParseErrors(() => extractReport(b))),
      { numRuns: 100 },
    );
});

void test("limits: DOCTYPE, nesting, record count, decompressed size", () => {
  const doc = (records: string) =>
    `<feedback><report_metadata><org_name>o</org_name><report_id>1</report_id><date_range><begin>1</begin><end>2</end></date_range></report_metadata><policy_published><domain>x.test</domain></policy_published>${records}</feedback>`;
  const rec =
    "<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row><identifiers><header_from>x.test</header_from></identifiers></record>";
  assert.equal(parseAggregateReport(doc(rec.repeat(3))).record.length, 3);
  assert.throws(
    () => parseAggregateReport(`<!DOCTYPE x [<!ENTITY a "aaaa">]>${doc("")}`),
    (e: unknown) => e instanceof ReportParseError && /DOCTYPE/.test(e.message),
  );
  assert.throws(() => parseAggregateReport("<a>".repeat(100) + "</a>".repeat(100)), /nested too deep/);
  const saved = AGGREGATE_LIMITS.maxRecords;
  AGGREGATE_LIMITS.maxRecords = 2;
  try {
    assert.throws(() => parseAggregateReport(doc(rec.repeat(3))), /too many records/);
  } finally {
    AGGREGATE_LIMITS.maxRecords = saved;
  }
  // A gzip or zip bomb: declared or real output past the limit is refused.
  const big = Buffer.alloc(EXTRACT_LIMITS.maxDecompressed + 1024, 0x20);
  assert.throws(() => unpack(gzipSync(big)), ReportParseError);
  assert.throws(() => unpack(Buffer.from(zipSync({ "r.xml": big }))), ReportParseError);
  assert.equal(
    unpack(Buffer.from(zipSync({ "r.xml": Buffer.from("<feedback/>") }))).toString(),
    "<feedback/>",
  );
});

const text = fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.trim() || "x");
const domain = fc.domain();
const report: fc.Arbitrary<AggregateReport> = fc.record({
  version: fc.constant(1),
  report_metadata: fc.record({
    org_name: text,
    email: fc.emailAddress(),
    extra_contact_info: fc.option(text, { nil: null }),
    report_id: text,
    date_range: fc.record({ begin: fc.nat(2e9), end: fc.nat(2e9) }),
    error: fc.array(text, { maxLength: 2 }),
    generator: fc.constant(null),
  }),
  policy_published: fc.record({
    domain,
    adkim: fc.constantFrom("r", "s"),
    aspf: fc.constantFrom("r", "s"),
    p: fc.constantFrom("none", "quarantine", "reject"),
    sp: fc.constantFrom("none", "quarantine", "reject"),
    np: fc.constant(null),
    pct: fc.integer({ min: 0, max: 100 }),
    fo: fc.constantFrom("0", "1", "d:s"),
    testing: fc.constant(null),
    discovery_method: fc.constant(null),
  }),
  record: fc.array(
    fc.record({
      row: fc.record({
        source_ip: fc.oneof(fc.ipV4(), fc.ipV6()),
        count: fc.integer({ min: 1, max: 1e6 }),
        policy_evaluated: fc.record({
          disposition: fc.constantFrom("none", "quarantine", "reject"),
          dkim: fc.constantFrom("pass", "fail"),
          spf: fc.constantFrom("pass", "fail"),
          reason: fc.array(
            fc.record({
              type: fc.constantFrom("forwarded", "local_policy"),
              comment: fc.option(text, { nil: null }),
            }),
            {
              maxLength: 2,
            },
          ),
        }),
      }),
      identifiers: fc.record({
        envelope_to: fc.option(domain, { nil: null }),
        envelope_from: fc.option(domain, { nil: null }),
        header_from: domain,
      }),
      auth_results: fc.record({
        dkim: fc.array(
          fc.record({
            domain,
            selector: fc.option(text, { nil: null }),
            result: fc.constantFrom("pass", "fail", "none", "temperror"),
            human_result: fc.option(text, { nil: null }),
          }),
          { maxLength: 3 },
        ),
        spf: fc.array(
          fc.record({
            domain,
            scope: fc.option(fc.constantFrom("mfrom", "helo"), { nil: null }),
            result: fc.constantFrom("pass", "softfail", "none"),
            human_result: fc.constant(null),
          }),
          { maxLength: 2 },
        ),
      }),
      extensions: fc.constant([]),
    }),
    { maxLength: 5 },
  ),
  extensions: fc.constant([]),
});

/** What survives XML: text of characters XML 1.0 can carry (others are dropped when written). */
function xmlSafe<T>(v: T): T {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === "string"
        ? x.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/g, "").trim() || "x"
        : x,
    ),
  ) as T;
}

void test("what we write parses back to the same report (Appendix C XML round trip)", () => {
  fc.assert(
    fc.property(report.map(xmlSafe), (r) => {
      assert.deepEqual(parseAggregateReport(aggregateReportXml(r)), r);
    }),
    { numRuns: 200 },
  );
});
