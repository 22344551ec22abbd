// DMARC failure reports (RFC 7489 §7.3) in the Authentication Failure Reporting format of
// RFC 6591, an ARF report (RFC 5965): a multipart/report; report-type=feedback-report with a
// human-readable part, the message/feedback-report fields (Feedback-Type: auth-failure,
// Auth-Failure: dmarc, Identity-Alignment of §7.3.1) and the returned header section as
// text/rfc822-headers (RFC 6591 §3.1 allows headers only: the body, often personal data,
// is not sent; §9.5 privacy). Sent when the record's ruf names a recipient and its fo tag
// asks for this failure (§6.3 fo), to ruf URIs that pass §7.1 verification and size limits,
// at most `perHour` reports per policy domain and hour (§7.3 asks receivers to limit them).
import { randomBytes } from "node:crypto";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import type { Resolver } from "../../dns/resolver.ts";
import { formatRfc5322Date } from "../../mail/date.ts";
import type { SqlDriver } from "../../store/sql.ts";
import { externalDestinationVerified, parseReportUris } from "./dmarc-uri.ts";
import type { DmarcEvaluationRow } from "./recorder.ts";

/**
 * §6.3 fo: "0" report when every mechanism failed to give an aligned pass, "1" when any did,
 * "d" when a DKIM signature failed to verify, "s" when SPF failed; colon-separated.
 */
export function failureWanted(e: DmarcEvaluationRow): boolean {
  if (e.dkimAligned === "pass" && e.spfAligned === "pass") return false;
  const fo = (e.policy.fo ?? "0").split(":").map((x) => x.trim().toLowerCase());
  const dkimFailed = e.dkim.some((d) => d.result === "fail" || d.result === "permerror");
  const spfFailed = e.spf.result === "fail" || e.spf.result === "softfail" || e.spf.result === "permerror";
  return (
    (fo.includes("0") && e.dkimAligned !== "pass" && e.spfAligned !== "pass") ||
    fo.includes("1") ||
    (fo.includes("d") && dkimFailed) ||
    (fo.includes("s") && spfFailed)
  );
}

/** The header section of a message (up to the blank line), CRLF line ends. */
function headerSection(message: Buffer): string {
  const text = message.subarray(0, 256 * 1024).toString("utf8");
  const m = /\r?\n\r?\n/.exec(text);
  const head = (m ? text.slice(0, m.index) : text).replace(/\r?\n/g, "\r\n");
  return head.endsWith("\r\n") ? head : `${head}\r\n`;
}

/** A header field value: line breaks and controls taken out. */
function clean(v: string): string {
  return v.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 500);
}

/** RFC 6591 §3 / RFC 5965 §2: the failure report message. */
export function failureReportMessage(opts: {
  evaluation: DmarcEvaluationRow;
  reportingMta: string;
  from: string;
  to: string;
  now: number;
}): Buffer {
  const e = opts.evaluation;
  const arrived = formatRfc5322Date(e.arrivedAt ?? opts.now);
  const boundary = `=_ruf_${randomBytes(12).toString("hex")}`;
  // §7.3.1 Identity-Alignment: the mechanisms that produced an aligned pass.
  const aligned = [e.dkimAligned === "pass" ? "dkim" : "", e.spfAligned === "pass" ? "spf" : ""].filter(
    (x) => x !== "",
  );
  const failedSig = e.dkim.find((d) => d.result !== "pass");
  const delivery = { none: "delivered", quarantine: "spam", reject: "reject" }[e.disposition];
  const fields = [
    "Feedback-Type: auth-failure",
    "User-Agent: Mailroom",
    "Version: 1",
    `Arrival-Date: ${arrived}`,
    `Reporting-MTA: dns; ${clean(opts.reportingMta)}`,
    `Source-IP: ${clean(e.sourceIp)}`,
    `Authentication-Results: ${clean(opts.reportingMta)}; dmarc=fail header.from=${clean(e.headerFrom)}`,
    `Reported-Domain: ${clean(e.headerFrom)}`,
    "Auth-Failure: dmarc",
    `Identity-Alignment: ${aligned.length > 0 ? aligned.join(", ") : "none"}`,
    `Delivery-Result: ${delivery}`,
    ...(failedSig
      ? [`DKIM-Domain: ${clean(failedSig.domain)}`, `DKIM-Selector: ${clean(failedSig.selector)}`]
      : []),
  ];
  const lines = [
    `From: <${opts.from}>`,
    `To: <${opts.to}>`,
    `Subject: DMARC failure report for ${clean(e.headerFrom)} from ${clean(e.sourceIp)}`,
    `Date: ${formatRfc5322Date(opts.now)}`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${clean(opts.reportingMta)}>`,
    "Auto-Submitted: auto-generated",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `This is an authentication failure report for a message received from IP ${clean(e.sourceIp)}`,
    `on ${arrived}: its From domain ${clean(e.headerFrom)} failed DMARC (RFC 7489).`,
    "",
    `--${boundary}`,
    "Content-Type: message/feedback-report",
    "",
    ...fields,
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
  ];
  const head = Buffer.from(lines.join("\r\n") + "\r\n", "utf8");
  const returned = Buffer.from(e.message ? headerSection(e.message) : "", "utf8");
  return Buffer.concat([head, returned, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

export interface FailureReporterOptions {
  driver: SqlDriver;
  resolver: Resolver;
  clock: Clock;
  logger: Logger;
  /** Our host name (Reporting-MTA, Authentication-Results authserv-id). */
  reportingMta: string;
  from: string;
  /** Most reports per policy domain and hour. */
  perHour: number;
  sendMail(to: string, message: Buffer): Promise<void>;
}

export class DmarcFailureReporter {
  readonly #o: FailureReporterOptions;

  constructor(opts: FailureReporterOptions) {
    this.#o = opts;
  }

  /** One more report for `domain` this hour, if the limit allows (one statement decides). */
  async #allowed(domain: string): Promise<boolean> {
    const hour = Math.floor(this.#o.clock.now() / 3_600_000) * 3_600_000;
    const r = await this.#o.driver.run(
      `INSERT INTO report_counters (name, window_start, n) VALUES (?, ?, 1)
       ON CONFLICT (name, window_start) DO UPDATE SET n = report_counters.n + 1
       WHERE report_counters.n < ?`,
      [`ruf:${domain}`, hour, this.#o.perHour],
    );
    if (r.changes > 0 && Math.random() < 0.01)
      await this.#o.driver.run("DELETE FROM report_counters WHERE window_start < ?", [hour - 86_400_000]);
    return r.changes > 0;
  }

  /** Sends the failure reports this evaluation asks for; returns how many went. Never throws. */
  async report(e: DmarcEvaluationRow): Promise<number> {
    const o = this.#o;
    const uris = parseReportUris(e.ruf ?? []);
    if (uris.length === 0 || o.perHour <= 0 || !failureWanted(e)) return 0;
    const domain = e.policyDomain.toLowerCase();
    let sent = 0;
    try {
      if (!(await this.#allowed(domain))) {
        o.logger.info({ domain }, "DMARC failure report not sent: hourly limit reached");
        return 0;
      }
      for (const uri of uris) {
        const uriDomain = uri.address.slice(uri.address.lastIndexOf("@") + 1).toLowerCase();
        if (!(await externalDestinationVerified(o.resolver, domain, uriDomain))) continue;
        const message = failureReportMessage({
          evaluation: e,
          reportingMta: o.reportingMta,
          from: o.from,
          to: uri.address,
          now: o.clock.now(),
        });
        if (uri.maxBytes !== null && message.length > uri.maxBytes) continue;
        await o.sendMail(uri.address, message);
        sent++;
      }
    } catch (err) {
      o.logger.warn({ err, domain }, "sending a DMARC failure report failed");
    }
    return sent;
  }
}
