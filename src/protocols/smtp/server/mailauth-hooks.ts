// Inbound mail authentication as SMTP policy hooks of the MTA listener (service "smtp"):
// sessions of submission and LMTP, authenticated sessions and clients in `skipNetworks`
// (loopback by default: local relays) are not checked (their mail is our own users' or was
// checked upstream).
// - RCPT: the client's address against the configured DNSBLs (RFC 5782), once per session;
//   a listing refuses the recipient (550 5.7.1) where the recipient domain says "reject".
// - DATA: SPF, DKIM, ARC, DMARC and iprev (src/mailauth/inbound.ts). A DMARC reject answers
//   550 5.7.1, quarantine files into Junk, per the `mailauth` configuration and its per-domain
//   overrides; our Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 §9.1) go on
//   top, and Authentication-Results claiming our authserv-id are removed (RFC 8601 §5).
// Each DMARC evaluation goes to `onDmarcEvaluation` (aggregate reports, RFC 7489 §7.2).
import { BlockList, isIP } from "node:net";
import type { MailauthConfig } from "../../../config/mailauth-schema.ts";
import type { ServerContext } from "../../../core/context.ts";
import { removeOurAuthResults } from "../../../mailauth/auth-results.ts";
import type { DnsblOutcome } from "../../../mailauth/dnsbl.ts";
import { checkDnsbl } from "../../../mailauth/dnsbl.ts";
import type { DmarcEvaluationEvent, InboundPolicy } from "../../../mailauth/inbound.ts";
import { authenticateInbound } from "../../../mailauth/inbound.ts";
import type { HookRecipient, HookSession, SmtpHooks, Verdict } from "./hooks.ts";
import { CONTINUE } from "./hooks.ts";
import { asciiDomain } from "./policy.ts";

export interface MailauthHookOptions {
  /**
   * Called once per message whose From domain publishes a DMARC record (default: the
   * server's report recorder, ServerContext.reports.recordDmarcEvaluation, when it runs), with what one row of
   * an RFC 7489 aggregate report needs (DmarcEvaluationEvent in src/mailauth/inbound.ts):
   * source IP, header_from, envelope_from/to, the policy published and the disposition
   * applied, the aligned results and every SPF and DKIM result with its domain (and
   * selector). Rejected messages are reported too (disposition "reject"). It must not throw
   * or block: it is called on the delivery path.
   */
  onDmarcEvaluation?: (e: DmarcEvaluationEvent) => void;
  /** A number in [0, 1) for DMARC pct sampling (RFC 7489 §6.6.4); Math.random by default. */
  random?: () => number;
}

/** The report recorder of the server, when reports run (ServerContext.reports). */
function reportsOf(
  ctx: ServerContext,
): { recordDmarcEvaluation?: (e: DmarcEvaluationEvent) => void } | undefined {
  return (ctx as { reports?: { recordDmarcEvaluation?: (e: DmarcEvaluationEvent) => void } }).reports;
}

const LENIENCY = { accept: 0, junk: 1, reject: 2 } as const;

/** The most lenient of the per-domain settings of the recipients' domains. */
function forRecipients<K extends "dmarcReject" | "dmarcQuarantine" | "dnsblAction">(
  cfg: MailauthConfig,
  key: K,
  domains: readonly string[],
): MailauthConfig[K] {
  let best: MailauthConfig[K] | undefined;
  for (const d of domains.length > 0 ? domains : [""]) {
    const v = (cfg.domains[d]?.[key] ?? cfg[key]) as MailauthConfig[K];
    if (best === undefined || LENIENCY[v] < LENIENCY[best]) best = v;
  }
  return best ?? cfg[key];
}

/** The BlockList of `skipNetworks`, rebuilt when the configuration changes. */
const skipLists = new WeakMap<readonly string[], BlockList>();
function skipList(networks: readonly string[]): BlockList {
  let list = skipLists.get(networks);
  if (list === undefined) {
    list = new BlockList();
    for (const n of networks) {
      const [addr = "", prefix] = n.split("/");
      const family = isIP(addr) === 6 ? "ipv6" : "ipv4";
      if (isIP(addr) === 0) continue;
      if (prefix === undefined) list.addAddress(addr, family);
      else list.addSubnet(addr, Number(prefix), family);
    }
    skipLists.set(networks, list);
  }
  return list;
}

function checked(s: HookSession, cfg: MailauthConfig): boolean {
  const ip = s.info.remoteAddress;
  const family = isIP(ip);
  if (s.mode !== "smtp" || s.auth !== null || family === 0) return false;
  return !skipList(cfg.skipNetworks).check(ip, family === 6 ? "ipv6" : "ipv4");
}

const domainsOf = (recipients: readonly HookRecipient[]) => [
  ...new Set(recipients.map((r) => asciiDomain(r.address.domain))),
];

export function mailauthHooks(ctx: ServerContext, opts: MailauthHookOptions = {}): SmtpHooks {
  const dnsbl = new WeakMap<HookSession, Promise<DnsblOutcome>>();
  const log = ctx.logger.child({ component: "mailauth" });

  const listing = (s: HookSession, cfg: MailauthConfig): Promise<DnsblOutcome> | null => {
    if (cfg.dnsbl.length === 0) return null;
    let p = dnsbl.get(s);
    if (p === undefined) {
      p = checkDnsbl(ctx.resolver, s.info.remoteAddress, cfg.dnsbl);
      dnsbl.set(s, p);
    }
    return p;
  };

  return {
    async rcpt(s, rcpt): Promise<Verdict> {
      const cfg = ctx.config.current().mailauth;
      if (!cfg.enabled || !checked(s, cfg)) return CONTINUE;
      const p = listing(s, cfg);
      if (p === null) return CONTINUE;
      const out = await p;
      const first = out.listed[0];
      if (first === undefined) return CONTINUE;
      // RFC 5321 §4.5.1: mail to postmaster is accepted whatever the list says.
      if (rcpt.address.localPart.toLowerCase() === "postmaster") return CONTINUE;
      if (forRecipients(cfg, "dnsblAction", [asciiDomain(rcpt.address.domain)]) !== "reject") return CONTINUE;
      return {
        action: "reject",
        reason: "dnsbl",
        text: `Client host [${s.info.remoteAddress}] is listed by ${first.zone}${first.reason !== undefined ? `: ${first.reason.replace(/[\r\n]/g, " ")}` : ""}`,
      };
    },

    async data(s, message, recipients, dctx): Promise<Verdict> {
      const all = ctx.config.current();
      const cfg = all.mailauth;
      if (!cfg.enabled || !checked(s, cfg)) return CONTINUE;
      const domains = domainsOf(recipients);
      const policy: InboundPolicy = {
        dmarcReject: forRecipients(cfg, "dmarcReject", domains),
        dmarcQuarantine: forRecipients(cfg, "dmarcQuarantine", domains),
        trustedArcSealers: cfg.trustedArcSealers,
        spfFail: cfg.spfFail,
        iprevFail: cfg.iprevFail,
        tempError: cfg.tempError,
      };
      const authservId = cfg.authservId === "" ? all.server.hostname : cfg.authservId;
      const from = dctx.from === null ? null : `${dctx.from.localPart}@${asciiDomain(dctx.from.domain)}`;
      const out = await authenticateInbound(
        {
          message,
          ip: s.info.remoteAddress,
          helo: s.helo ?? s.info.remoteAddress,
          mailFrom: from,
          ...(domains[0] !== undefined ? { envelopeTo: domains[0] } : {}),
        },
        {
          resolver: ctx.resolver,
          authservId,
          hostname: all.server.hostname,
          now: () => ctx.clock.now(),
          ...(opts.random !== undefined ? { random: opts.random } : {}),
        },
        policy,
      );
      const record = opts.onDmarcEvaluation ?? reportsOf(ctx)?.recordDmarcEvaluation?.bind(reportsOf(ctx));
      if (out.evaluation !== null && record !== undefined) {
        try {
          record(out.evaluation);
        } catch (e) {
          log.error(
            { err: e instanceof Error ? e.stack : String(e) },
            "recording the DMARC evaluation failed",
          );
        }
      }
      const v = out.verdict;
      log.debug(
        { ip: s.info.remoteAddress, spf: out.spf.result, dmarc: out.dmarc?.result, verdict: v.action },
        "inbound authentication",
      );
      if (v.action === "reject" || v.action === "tempfail")
        return { action: v.action, reason: v.reason, text: v.text };
      // RFC 8601 §5: fields claiming our authserv-id did not come from us.
      dctx.rewrite.push((m) => removeOurAuthResults(m, authservId));
      dctx.prepend.push(out.headers);
      if (v.action === "junk") dctx.junk = true;
      const listed = listing(s, cfg);
      if (
        listed !== null &&
        (await listed).listed.length > 0 &&
        forRecipients(cfg, "dnsblAction", domains) === "junk"
      )
        dctx.junk = true;
      return CONTINUE;
    },
  };
}
