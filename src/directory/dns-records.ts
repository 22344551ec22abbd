// Every DNS record a local domain needs, from the configuration and the domain's DKIM keys,
// printed in zone-file form (RFC 1035 §5.1) by `mailroom domain dns DOMAIN`: mail routing,
// the authentication of the mail we send, the policies and report addresses of the domain,
// and the names mail clients look up to find our services.
import { createHash } from "node:crypto";
import type { Config } from "../config/schema.ts";
import { policyText } from "../http/mta-sts.ts";
import type { DkimKey } from "../mailauth/dkim-keys.ts";
import { keyRecord, keyRecordName } from "../mailauth/dkim-keys.ts";

export interface DnsRecord {
  name: string;
  type: "MX" | "TXT" | "SRV" | "CNAME";
  value: string;
  /** What the record is for, printed as a comment above it. */
  comment: string;
}

type RecordConfig = Pick<Config, "server" | "listeners" | "mtaSts" | "queue" | "reports">;

/**
 * RFC 8461 §3.1: the id of the policy (1-32 letters and digits) changes whenever the policy
 * does: a hash of the policy text, so every node computes the same one.
 */
export function mtaStsPolicyId(cfg: Pick<Config, "mtaSts" | "server">): string {
  return createHash("sha256").update(policyText(cfg)).digest("hex").slice(0, 20);
}

/** The report address of a kind: the configured one naming it, else the first, at `domain`. */
function reportAddress(cfg: RecordConfig, domain: string, kind: "dmarc" | "tls"): string {
  const list = cfg.reports.addresses;
  const a = list.find((x) => x.toLowerCase().includes(kind)) ?? list[0] ?? `${kind}-reports`;
  return a.includes("@") ? a : `${a}@${domain}`;
}

/** RFC 6186 §3 and RFC 8314 §5.1: the SRV services, implicit TLS preferred (lower priority). */
const SRV_SERVICES = [
  { srv: "_submissions._tcp", service: "submissions", priority: 0 },
  { srv: "_submission._tcp", service: "submission", priority: 10 },
  { srv: "_imaps._tcp", service: "imaps", priority: 0 },
  { srv: "_imap._tcp", service: "imap", priority: 10 },
  { srv: "_pop3s._tcp", service: "pop3s", priority: 0 },
  { srv: "_pop3._tcp", service: "pop3", priority: 10 },
] as const;

/** The public port of a service: its first enabled TCP listener, plus the port offset. */
function servicePort(cfg: RecordConfig, service: string): number | null {
  const l = Object.values(cfg.listeners).find((x) => x.service === service && x.enabled && x.path === "");
  if (l === undefined || l.port === 0) return null;
  return l.port + cfg.server.portOffset;
}

/** TXT text as character-strings of at most 255 octets each (RFC 1035 §3.3.14, RFC 6376 §3.6.2.2). */
export function txtStrings(text: string): string {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 255)
    parts.push(`"${text.slice(i, i + 255).replace(/["\\]/g, "\\$&")}"`);
  return parts.join(" ");
}

export function domainRecords(cfg: RecordConfig, domain: string, dkimKeys: readonly DkimKey[]): DnsRecord[] {
  const host = cfg.server.hostname.replace(/\.$/, "");
  const out: DnsRecord[] = [];
  const add = (name: string, type: DnsRecord["type"], value: string, comment: string): void => {
    out.push({ name, type, value, comment });
  };
  add(domain, "MX", `10 ${host}.`, "mail for the domain goes to this server (RFC 5321 §5.1)");
  // RFC 7208: the MX hosts send the domain's mail; with a smart host it sends, so the
  // operator adds the relay's own SPF (include:) in place of "mx".
  const spf = cfg.queue.smartHost !== "" ? "v=spf1 mx ~all" : "v=spf1 mx -all";
  add(
    domain,
    "TXT",
    txtStrings(spf),
    cfg.queue.smartHost !== ""
      ? `SPF (RFC 7208): mail leaves through ${cfg.queue.smartHost}: add its SPF (include:...) and end with -all`
      : "SPF (RFC 7208): only the MX hosts send the domain's mail",
  );
  for (const k of dkimKeys) {
    add(
      keyRecordName(k),
      "TXT",
      txtStrings(keyRecord(k)),
      `DKIM key ${k.selector} (${k.algorithm}, ${k.algorithm === "rsa-sha256" ? "RFC 6376" : "RFC 8463"})`,
    );
  }
  add(
    `_dmarc.${domain}`,
    "TXT",
    txtStrings(`v=DMARC1; p=quarantine; rua=mailto:${reportAddress(cfg, domain, "dmarc")}`),
    "DMARC (RFC 7489 §6.3): unaligned mail is quarantined; aggregate reports come to us",
  );
  const ruaDomain = reportAddress(cfg, domain, "dmarc").split("@")[1] ?? domain;
  if (ruaDomain !== domain) {
    add(
      `${domain}._report._dmarc.${ruaDomain}`,
      "TXT",
      txtStrings("v=DMARC1"),
      `in the zone of ${ruaDomain}: it accepts the reports of ${domain} (RFC 7489 §7.1)`,
    );
  }
  add(
    `_mta-sts.${domain}`,
    "TXT",
    txtStrings(`v=STSv1; id=${mtaStsPolicyId(cfg)}`),
    `MTA-STS (RFC 8461 §3.1): the policy (mode ${cfg.mtaSts.mode}) is served at https://mta-sts.${domain}/.well-known/mta-sts.txt`,
  );
  add(
    `mta-sts.${domain}`,
    "CNAME",
    `${host}.`,
    "the MTA-STS policy host: our https listener (or an A record)",
  );
  add(
    `_smtp._tls.${domain}`,
    "TXT",
    txtStrings(`v=TLSRPTv1; rua=mailto:${reportAddress(cfg, domain, "tls")}`),
    "TLS-RPT (RFC 8460 §3): senders' TLS reports come to us",
  );
  for (const s of SRV_SERVICES) {
    const port = servicePort(cfg, s.service);
    // RFC 6186 §3.4 (RFC 2782): target "." says the service is not offered.
    add(
      `${s.srv}.${domain}`,
      "SRV",
      port === null ? "0 0 0 ." : `${s.priority} 1 ${port} ${host}.`,
      `RFC 6186: ${s.service}${port === null ? " is not offered" : ""}`,
    );
  }
  add(`autoconfig.${domain}`, "CNAME", `${host}.`, "Thunderbird-style autoconfig (https)");
  add(`autodiscover.${domain}`, "CNAME", `${host}.`, "Outlook-style autodiscover (https)");
  const https = servicePort(cfg, "https");
  if (https !== null) {
    add(`_autodiscover._tcp.${domain}`, "SRV", `0 1 ${https} ${host}.`, "Outlook autodiscover by SRV");
  }
  return out;
}

/** The records as a zone-file fragment, names absolute, one comment line above each. */
export function formatZone(records: readonly DnsRecord[], ttl = 3600): string {
  const width = Math.max(...records.map((r) => r.name.length + 1));
  const lines: string[] = [];
  for (const r of records) {
    lines.push(`; ${r.comment}`);
    lines.push(`${`${r.name}.`.padEnd(width)} ${ttl} IN ${r.type.padEnd(5)} ${r.value}`);
  }
  return lines.join("\n") + "\n";
}
