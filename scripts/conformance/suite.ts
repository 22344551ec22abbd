// What every conformance suite module (scripts/conformance/<suite>.ts) exports and how a
// result is printed. A suite reads published test data under ../shared/conformance/ (the
// `root` it is given), serves each case's DNS data through our Resolver interface, and
// answers one SuiteResult; scripts/conformance.ts prints it and the tests assert the counts.

export interface CaseOutcome {
  /** "file: scenario / test" or similar, unique within the suite. */
  name: string;
  detail: string;
}

export interface SuiteResult {
  suite: string;
  passed: number;
  failed: CaseOutcome[];
  /** Cases not run, each with the reason. */
  skipped: CaseOutcome[];
  /**
   * Cases where the published expectation and the RFC disagree: counted by the RFC's
   * answer (as passed when we give it), each listed with the argument.
   */
  disagreements: CaseOutcome[];
  /** Sub-totals printed before the closing line (e.g. "validation 171/171"). */
  parts?: string[];
}

/** The module shape of a suite. */
export interface SuiteModule {
  run(root: string): Promise<SuiteResult>;
}

export function emptyResult(suite: string): SuiteResult {
  return { suite, passed: 0, failed: [], skipped: [], disagreements: [] };
}

/** The printed report of one suite; its last line is `N passed, M failed[, K skipped]`. */
export function formatResult(r: SuiteResult): string {
  const out: string[] = [`== ${r.suite}`];
  for (const p of r.parts ?? []) out.push(`  ${p}`);
  for (const d of r.disagreements) out.push(`  RFC over suite: ${d.name}`, `    ${d.detail}`);
  for (const s of r.skipped) out.push(`  skipped: ${s.name}: ${s.detail}`);
  for (const f of r.failed) out.push(`  FAILED: ${f.name}: ${f.detail}`);
  const skipped = r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : "";
  out.push(`${r.suite}: ${r.passed} passed, ${r.failed.length} failed${skipped}`);
  return out.join("\n");
}
