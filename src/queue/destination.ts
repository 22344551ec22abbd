// One delivery attempt to one recipient domain: route it (routing.ts), decide each MX host's
// TLS (tls-policy.ts: DANE, MTA-STS, opportunistic), hand the message to the transport, and
// turn what happened into per-recipient outcomes. RFC 5321 §5.1: hosts are tried in
// preference order until one answers; a temporary failure or no answer moves on, a permanent
// answer is final. TLS outcomes are reported for TLS-RPT (RFC 8460).
import type { QueuedMessage, QueuedRecipient, RecipientAttempt } from "./queue-store.ts";
import { addressesOf, findRoute, RouteTempError, type RouteHost } from "./routing.ts";
import type { RunnerOptions } from "./runner.ts";
import { TransportError, type LocalDelivery, type TransportRecipientResult } from "./transport.ts";
import { DnssecLookupError } from "./dane.ts";
import {
  domainTlsContext,
  hostTlsPolicy,
  satisfiesRequireTls,
  type DomainTlsContext,
  type HostTlsPolicy,
} from "./tls-policy.ts";

export type DomainOutcome = RecipientAttempt & { dsnSupported?: boolean; deliverBySupported?: boolean };

function outcomeOf(r: TransportRecipientResult, remote: string): RecipientAttempt {
  const status = r.enhanced ?? (r.ok ? "2.0.0" : r.permanent ? "5.0.0" : "4.0.0");
  return {
    index: r.index,
    status: r.ok ? "delivered" : r.permanent ? "failed" : "pending",
    error: r.ok ? null : `${r.code} ${r.enhanced ? `${r.enhanced} ` : ""}${r.text}`,
    remoteMta: remote,
    dsnStatus: status,
  };
}

/** Local recipients: each through the ingest path; its answer counts as the peer's. */
async function deliverLocally(
  o: RunnerOptions,
  local: LocalDelivery,
  m: QueuedMessage,
  raw: Buffer,
  rcpts: QueuedRecipient[],
): Promise<DomainOutcome[]> {
  const out: DomainOutcome[] = [];
  for (const r of rcpts) {
    const res = await local.deliver(r.address, m.from, raw);
    out.push(outcomeOf({ ...res, index: r.index }, o.hostname));
  }
  await o.queue.record(m.id, o.holder, out);
  return out;
}

export async function deliverToDomain(
  o: RunnerOptions,
  m: QueuedMessage,
  raw: Buffer,
  domain: string,
  rcpts: QueuedRecipient[],
): Promise<DomainOutcome[]> {
  const fail = (
    status: "failed" | "pending",
    dsnStatus: string,
    error: string,
    remote: string | null = null,
  ) => rcpts.map((r): DomainOutcome => ({ index: r.index, status, error, remoteMta: remote, dsnStatus }));
  const tlsOpts = o.tls ?? {};
  if (o.local && (await o.local.isLocal(domain))) return deliverLocally(o, o.local, m, raw, rcpts);
  try {
    let hosts: RouteHost[];
    let port = o.port ?? 25;
    let tlsCtx: DomainTlsContext;
    if (o.smartHost) {
      hosts = [{ name: o.smartHost.host, preference: 0 }];
      port = o.smartHost.port;
      tlsCtx = { domain, mxSecure: false, sts: null };
    } else {
      const route = await findRoute(o.resolver, domain);
      if (route.kind === "null-mx")
        return fail("failed", "5.1.10", `${domain} accepts no mail (null MX, RFC 7505)`);
      if (route.kind === "no-domain") return fail("failed", "5.1.2", `domain ${domain} does not exist`);
      hosts = route.hosts;
      try {
        tlsCtx = await domainTlsContext(domain, tlsOpts);
      } catch (e) {
        if (!(e instanceof DnssecLookupError)) throw e;
        // RFC 7672 §2.2.1: the validating resolver could not answer the MX query, so
        // whether DANE applies is unknown: the mail waits rather than go without it.
        const why = `MX lookup at the validating resolver failed: ${e.message}`;
        o.tlsReports?.record({
          policyDomain: domain,
          type: "tlsa",
          policyStrings: [],
          mxHost: "",
          address: "",
          ok: false,
          failure: "dnssec-invalid",
          detail: why,
        });
        return fail("pending", "4.4.3", why);
      }
    }
    let last = fail("pending", "4.4.1", `no answer from the mail hosts of ${domain}`);
    for (const host of hosts) {
      let tls: HostTlsPolicy;
      try {
        tls = o.smartHost
          ? // A smart host is trusted by configuration: TLS when it offers it.
            {
              mode: "opportunistic" as const,
              verifyCertificate: false,
              type: "no-policy-found" as const,
              reportOnly: false,
              policyStrings: [],
            }
          : await hostTlsPolicy(tlsCtx, host.name, tlsOpts);
      } catch (e) {
        if (!(e instanceof DnssecLookupError)) throw e;
        // RFC 7672 §2.1.1: a signed domain's TLSA (or the host's address) lookup failed
        // (SERVFAIL: bogus or unreachable), so the host may not be used; the mail waits.
        // RFC 8460 §4.3.2.1.
        const why = `DNSSEC lookup for ${host.name} failed: ${e.message}`;
        o.tlsReports?.record({
          policyDomain: domain,
          type: "tlsa",
          policyStrings: [],
          mxHost: host.name,
          address: "",
          ok: false,
          failure: "dnssec-invalid",
          detail: why,
        });
        last = fail("pending", "4.4.3", why, host.name);
        continue;
      }
      const report = (address: string, failure?: string, detail?: string): void =>
        o.tlsReports?.record({
          policyDomain: domain,
          type: tls.type,
          policyStrings: tls.policyStrings,
          mxHost: host.name,
          address,
          ok: failure === undefined,
          ...(failure !== undefined ? { failure } : {}),
          ...(detail !== undefined ? { detail } : {}),
        });
      if (tls.refused !== undefined) {
        // RFC 8461 §5.1: an enforced policy's unlisted MX is not used; the mail waits.
        report("", "validation-failure", tls.refused);
        last = fail("pending", "4.7.5", tls.refused);
        continue;
      }
      // RFC 8689 §4.2.1 and §5: REQUIRETLS mail that no host can take authenticated fails 5.7.30.
      if (m.params.requireTls === true && !satisfiesRequireTls(tls)) {
        last = fail(
          "failed",
          "5.7.30",
          `REQUIRETLS: ${host.name} is not authenticated by DANE or MTA-STS`,
          host.name,
        );
        continue;
      }
      const addresses = await addressesOf(o.resolver, host.name);
      if (addresses.length === 0) {
        last = fail("pending", "4.4.4", `host ${host.name} has no address`);
        continue;
      }
      for (const address of addresses) {
        try {
          const res = await o.transport.deliver(
            { host: host.name, address, port, tls },
            m.from,
            rcpts,
            { ...m.params, priority: m.priority, deliverBy: m.deliverBy },
            raw,
          );
          if (tls.type !== "no-policy-found") report(address, res.tls ? undefined : "starttls-not-supported");
          const out = res.recipients.map((r) => outcomeOf(r, host.name));
          // The peer answered: its replies are final for this attempt, recorded at once.
          await o.queue.record(m.id, o.holder, out);
          return out.map((x) => ({
            ...x,
            dsnSupported: res.dsnSupported,
            deliverBySupported: res.deliverBySupported === true,
          }));
        } catch (e) {
          if (!(e instanceof TransportError)) throw e;
          if (e.tlsFailure !== undefined) report(address, e.tlsFailure, e.message);
          if (e.permanent) return fail("failed", e.enhanced, e.message, host.name);
          // RFC 8689 §4.2.1: REQUIRETLS mail that no MX host takes over authenticated TLS is
          // returned (5.7.10 "Encryption needed"), not retried.
          last =
            m.params.requireTls === true && e.tlsFailure !== undefined
              ? fail("failed", "5.7.10", `REQUIRETLS: ${e.message}`, host.name)
              : fail("pending", e.enhanced, e.message, host.name);
        }
      }
    }
    return last;
  } catch (e) {
    if (e instanceof RouteTempError) return fail("pending", "4.4.3", e.message);
    throw e;
  }
}
