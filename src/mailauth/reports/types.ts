// The report models of mail authentication, as received and as sent:
// - the DMARC aggregate report (RFC 7489 §7.2, the XML schema of Appendix C), field names
//   as in the XML, enumerated values lower-case as the schema spells them;
// - the TLS-RPT report (RFC 8460 §4.4), field names as in its JSON;
// - the authentication failure report (RFC 6591 in the ARF of RFC 5965), field names from
//   the feedback-report field names (RFC 5965 §3.1, §3.2; RFC 6591 §3.1, §3.2).
// Times are as each format writes them: aggregate date_range in seconds since the epoch;
// TLS-RPT date-range as RFC 3339 strings; ARF Arrival-Date converted to ms.

/** RFC 7489 Appendix C DateRangeType: seconds since the epoch, UTC. */
export interface DateRange {
  begin: number;
  end: number;
}

/** Appendix C ReportMetadataType (generator: DMARCbis reports add it). */
export interface ReportMetadata {
  org_name: string;
  email: string;
  extra_contact_info: string | null;
  report_id: string;
  date_range: DateRange;
  error: string[];
  generator: string | null;
}

/** Appendix C PolicyPublishedType; null where the report left the element out. */
export interface PolicyPublished {
  domain: string;
  /** "r" | "s" (AlignmentType). */
  adkim: string | null;
  aspf: string | null;
  /** "none" | "quarantine" | "reject" (DispositionType). */
  p: string | null;
  sp: string | null;
  /** DMARCbis: the policy for non-existent subdomains. */
  np: string | null;
  pct: number | null;
  fo: string | null;
  /** DMARCbis: "y" | "n". */
  testing: string | null;
  /** DMARCbis: "psl" | "treewalk". */
  discovery_method: string | null;
}

/** Appendix C PolicyOverrideReason. */
export interface PolicyOverrideReason {
  /** forwarded | sampled_out | trusted_forwarder | mailing_list | local_policy | other */
  type: string;
  comment: string | null;
}

/** Appendix C PolicyEvaluatedType. */
export interface PolicyEvaluated {
  disposition: string;
  /** "pass" | "fail" (DMARCResultType): the aligned result. */
  dkim: string;
  spf: string;
  reason: PolicyOverrideReason[];
}

/** Appendix C DKIMAuthResultType. */
export interface DkimAuthResult {
  domain: string;
  selector: string | null;
  /** none | pass | fail | policy | neutral | temperror | permerror */
  result: string;
  human_result: string | null;
}

/** Appendix C SPFAuthResultType. */
export interface SpfAuthResult {
  domain: string;
  /** "helo" | "mfrom" (SPFDomainScope); null when the report left it out. */
  scope: string | null;
  /** none | neutral | pass | fail | softfail | temperror | permerror */
  result: string;
  human_result: string | null;
}

export interface ReportExtension {
  name: string;
  definition: string;
}

/** Appendix C RecordType. */
export interface AggregateRecord {
  row: { source_ip: string; count: number; policy_evaluated: PolicyEvaluated };
  identifiers: { envelope_to: string | null; envelope_from: string | null; header_from: string };
  auth_results: { dkim: DkimAuthResult[]; spf: SpfAuthResult[] };
  extensions: ReportExtension[];
}

/** Appendix C "feedback". */
export interface AggregateReport {
  /** The <version> element; null when absent (RFC 7489 reports often leave it out). */
  version: number | null;
  report_metadata: ReportMetadata;
  policy_published: PolicyPublished;
  record: AggregateRecord[];
  extensions: ReportExtension[];
}

/** RFC 8460 §4.4 failure-details entry. */
export interface TlsFailureDetail {
  "result-type": string;
  "sending-mta-ip"?: string;
  "receiving-mx-hostname"?: string;
  "receiving-mx-helo"?: string;
  "receiving-ip"?: string;
  "failed-session-count": number;
  "additional-information"?: string;
  "failure-reason-code"?: string;
}

/** RFC 8460 §4.4 policies entry. */
export interface TlsPolicyResult {
  policy: {
    "policy-type": string;
    "policy-string"?: string[];
    "policy-domain"?: string;
    "mx-host"?: string[];
  };
  summary: {
    "total-successful-session-count"?: number;
    "total-failure-session-count"?: number;
  };
  "failure-details"?: TlsFailureDetail[];
}

/** RFC 8460 §4.4: the report, as received (fields optional where reporters omit them). */
export interface ReceivedTlsReport {
  "organization-name": string;
  "date-range": { "start-datetime": string; "end-datetime": string };
  "contact-info": string;
  "report-id": string;
  policies: TlsPolicyResult[];
}

/** RFC 5965 §3 feedback-report fields, with the RFC 6591 §3 auth-failure ones. */
export interface FeedbackReport {
  /** abuse | fraud | virus | other | not-spam | auth-failure (RFC 5965 §7.3, RFC 6591 §3). */
  feedback_type: string;
  version: number | null;
  user_agent: string | null;
  /** Arrival-Date (or the older Received-Date), ms since the epoch. */
  arrival_date: number | null;
  original_envelope_id: string | null;
  original_mail_from: string | null;
  original_rcpt_to: string[];
  /** Reporting-MTA without its "dns;" type. */
  reporting_mta: string | null;
  source_ip: string | null;
  source_port: number | null;
  incidents: number;
  authentication_results: string[];
  reported_domain: string[];
  reported_uri: string[];
  /** RFC 6591 §3.2: adsp | bodyhash | revoked | signature | spf | dmarc (RFC 7489 §7.3.1). */
  auth_failure: string | null;
  /** RFC 6591 §3.2: delivered | spam | policy | reject | other. */
  delivery_result: string | null;
  dkim_adsp_dns: string | null;
  dkim_canonicalized_body: string | null;
  dkim_canonicalized_header: string | null;
  dkim_domain: string | null;
  dkim_identity: string | null;
  dkim_selector: string | null;
  dkim_selector_dns: string | null;
  spf_dns: string | null;
  /** RFC 7489 §7.3.1 Identity-Alignment: none | dkim | spf | "dkim, spf". */
  identity_alignment: string | null;
  /** The third part: the returned header section (text/rfc822-headers)... */
  headers: string | null;
  /** ...or the returned message (message/rfc822), as text. */
  message: string | null;
}
