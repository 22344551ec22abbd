// Recording DMARC evaluations for aggregate reports (RFC 7489 §7.2): the inbound DMARC check
// calls recordDmarcEvaluation() once per message whose From domain has a DMARC policy; the
// evaluation becomes one "record" row of Appendix C, counted per UTC day (the report period)
// and policy domain, with identical rows added up. Like the TLS-RPT collector, counts are
// kept in memory and written at most once a second (the delivery path must not wait on a
// write), and flush() writes them at once (the server calls it when it stops).
import { createHash } from "node:crypto";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import type { SqlDriver } from "../../store/sql.ts";

/** One DMARC evaluation, as the inbound check reports it. Domains in A-label form. */
export interface DmarcEvaluationRow {
  /** The connecting client's address (Appendix C source_ip). */
  sourceIp: string;
  /** RFC5322.From domain (identifiers/header_from). */
  headerFrom: string;
  /** RFC5321.MailFrom domain (identifiers/envelope_from); "" for the null reverse path. */
  envelopeFrom: string;
  /** RFC5321.RcptTo domain (identifiers/envelope_to); "" when not told. */
  envelopeTo?: string;
  /** The domain whose DMARC record applied (§6.6.3: the From domain or its organizational domain). */
  policyDomain: string;
  /** The policy published (Appendix C policy_published), as found in the record (§6.3 defaults applied). */
  policy: {
    p: "none" | "quarantine" | "reject";
    sp?: "none" | "quarantine" | "reject";
    pct: number;
    adkim: "r" | "s";
    aspf: "r" | "s";
    fo?: string;
  };
  /** The record's rua URIs; when given and empty the evaluation is not recorded (nobody asked). */
  rua?: readonly string[];
  /** The record's ruf URIs: failure reports go there when fo asks (failure-send.ts). */
  ruf?: readonly string[];
  /** The message's header section (or the whole message), returned in a failure report. */
  message?: Buffer;
  /** When the message arrived (ms); now when not told. */
  arrivedAt?: number;
  /** The disposition applied (policy_evaluated/disposition). */
  disposition: "none" | "quarantine" | "reject";
  /** The DMARC-aligned results (policy_evaluated/dkim and /spf). */
  dkimAligned: "pass" | "fail";
  spfAligned: "pass" | "fail";
  /** Why the disposition differs from the policy (Appendix C PolicyOverrideReason). */
  reasons?: ReadonlyArray<{
    type: "forwarded" | "sampled_out" | "trusted_forwarder" | "mailing_list" | "local_policy" | "other";
    comment?: string;
  }>;
  /** Every DKIM signature checked (auth_results/dkim). */
  dkim: ReadonlyArray<{
    domain: string;
    selector: string;
    result: "none" | "pass" | "fail" | "policy" | "neutral" | "temperror" | "permerror";
    humanResult?: string;
  }>;
  /** The SPF check (auth_results/spf): MAIL FROM, or HELO when MAIL FROM was null. */
  spf: {
    domain: string;
    scope: "mfrom" | "helo";
    result: "none" | "neutral" | "pass" | "fail" | "softfail" | "temperror" | "permerror";
  };
}

/** The stored form of a row (table dmarc_records, store migration 7). */
export interface DmarcRecordRow {
  period: string;
  policy_domain: string;
  row_key: string;
  policy: string;
  source_ip: string;
  header_from: string;
  envelope_from: string;
  envelope_to: string;
  disposition: string;
  dkim_eval: string;
  spf_eval: string;
  reasons: string;
  dkim: string;
  spf: string;
  count: number;
}

const lc = (s: string): string => s.toLowerCase().replace(/\.$/, "");

/** The stored row of one evaluation (count 1) at time `now`. */
export function recordRow(e: DmarcEvaluationRow, now: number): DmarcRecordRow {
  const policy = JSON.stringify({
    p: e.policy.p,
    sp: e.policy.sp ?? e.policy.p,
    pct: e.policy.pct,
    adkim: e.policy.adkim,
    aspf: e.policy.aspf,
    fo: e.policy.fo ?? "0",
  });
  const row = {
    period: new Date(now).toISOString().slice(0, 10),
    policy_domain: lc(e.policyDomain),
    policy,
    source_ip: e.sourceIp,
    header_from: lc(e.headerFrom),
    envelope_from: lc(e.envelopeFrom),
    envelope_to: lc(e.envelopeTo ?? ""),
    disposition: e.disposition,
    dkim_eval: e.dkimAligned,
    spf_eval: e.spfAligned,
    reasons: JSON.stringify((e.reasons ?? []).map((r) => ({ type: r.type, comment: r.comment ?? null }))),
    dkim: JSON.stringify(
      e.dkim.map((d) => ({
        domain: lc(d.domain),
        selector: d.selector,
        result: d.result,
        human_result: d.humanResult ?? null,
      })),
    ),
    spf: JSON.stringify([{ domain: lc(e.spf.domain), scope: e.spf.scope, result: e.spf.result }]),
  };
  const { period: _p, policy_domain: _d, ...keyed } = row;
  const row_key = createHash("sha256").update(JSON.stringify(keyed)).digest("base64url").slice(0, 32);
  return { ...row, row_key, count: 1 };
}

export interface DmarcRecorderOptions {
  driver: SqlDriver;
  clock: Clock;
  logger: Logger;
  /** Most distinct rows kept in memory before a write is forced. */
  maxPending?: number;
}

/** Counts evaluations in memory and writes them at most once a second. */
export class DmarcRecorder {
  readonly #o: DmarcRecorderOptions;
  #pending = new Map<string, DmarcRecordRow>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(opts: DmarcRecorderOptions) {
    this.#o = opts;
  }

  /** Records one evaluation (never throws, never waits). */
  recordDmarcEvaluation(e: DmarcEvaluationRow): void {
    if (e.rua !== undefined && e.rua.length === 0) return;
    let row: DmarcRecordRow;
    try {
      row = recordRow(e, this.#o.clock.now());
    } catch (err) {
      this.#o.logger.warn({ err }, "a DMARC evaluation could not be recorded");
      return;
    }
    const key = `${row.period}\n${row.policy_domain}\n${row.row_key}`;
    const cur = this.#pending.get(key);
    if (cur) cur.count++;
    else this.#pending.set(key, row);
    if (this.#pending.size >= (this.#o.maxPending ?? 10_000)) {
      this.#schedule(0);
      return;
    }
    this.#schedule(1000);
  }

  #schedule(ms: number): void {
    if (this.#timer && ms > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((err: unknown) => this.#o.logger.error({ err }, "writing DMARC records failed"));
    }, ms);
    this.#timer.unref?.();
  }

  /** Writes the counted evaluations (after any write in progress). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const rows = [...this.#pending.values()];
    this.#pending = new Map();
    const write = this.#writing.then(async () => {
      if (rows.length === 0) return;
      await this.#o.driver.transaction(async (tx) => {
        for (const r of rows) {
          await tx.run(
            `INSERT INTO dmarc_records (period, policy_domain, row_key, policy, source_ip, header_from,
               envelope_from, envelope_to, disposition, dkim_eval, spf_eval, reasons, dkim, spf, count)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (period, policy_domain, row_key)
             DO UPDATE SET count = dmarc_records.count + excluded.count`,
            [
              r.period,
              r.policy_domain,
              r.row_key,
              r.policy,
              r.source_ip,
              r.header_from,
              r.envelope_from,
              r.envelope_to,
              r.disposition,
              r.dkim_eval,
              r.spf_eval,
              r.reasons,
              r.dkim,
              r.spf,
              r.count,
            ],
          );
        }
      });
    });
    this.#writing = write.catch(() => undefined);
    await write;
  }
}
