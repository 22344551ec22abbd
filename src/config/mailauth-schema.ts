// The configuration of inbound mail authentication (the `mailauth` section; dynamic: a reload
// applies it): SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489), ARC (RFC 8617, RFC 7960),
// iprev (RFC 8601 §3) and DNSBLs (RFC 5782) on the inbound MTA listener (smtp), with per
// recipient-domain overrides. Part of the one schema in schema.ts.
import { z } from "zod";

const domainName = z
  .string()
  .regex(
    /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/,
    "expected a domain name",
  );

const dmarcReject = z
  .enum(["reject", "junk", "accept"])
  .describe(
    'A message failing DMARC whose sender domain publishes p=reject: "reject" answers 550 5.7.1, "junk" files it into the Junk mailbox, "accept" delivers it.',
  );
const dmarcQuarantine = z
  .enum(["junk", "accept"])
  .describe(
    'A message failing DMARC under p=quarantine: "junk" files it into the Junk mailbox, "accept" delivers it.',
  );
const dnsblAction = z
  .enum(["reject", "junk", "accept"])
  .describe(
    'A client listed on a DNSBL: "reject" refuses its MAIL (550 5.7.1), "junk" files its mail into Junk, "accept" only notes it in Authentication-Results.',
  );

const overrideSchema = z
  .strictObject({
    dmarcReject: dmarcReject.optional(),
    dmarcQuarantine: dmarcQuarantine.optional(),
    dnsblAction: dnsblAction.optional(),
  })
  .describe("Overrides for mail to one local domain.");

export const mailauthSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Check SPF, DKIM, ARC, DMARC and iprev of mail arriving on the smtp listeners (not submission, not LMTP), add Authentication-Results and Received-SPF, and apply the policies below.",
      ),
    skipNetworks: z
      .array(z.string().regex(/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/, 'expected an address or "address/prefix"'))
      .default(["127.0.0.0/8", "::1/128"])
      .describe(
        'Client networks whose mail is not checked (local relays, e.g. a content filter re-injecting mail), as "address/prefix". Loopback by default; [] checks every client.',
      ),
    authservId: z
      .string()
      .default("")
      .describe(
        "The authserv-id of our Authentication-Results fields (RFC 8601 §2.5); fields claiming it on arriving mail are removed. Empty: server.hostname.",
      ),
    dmarcReject: dmarcReject.default("reject"),
    dmarcQuarantine: dmarcQuarantine.default("junk"),
    trustedArcSealers: z
      .array(domainName)
      .default([])
      .describe(
        "ARC sealers (domains, e.g. a mailing list host) whose recorded results may override a DMARC failure when their chain validates (RFC 7960 §4.1.3, RFC 8617 §7.2).",
      ),
    spfFail: z
      .enum(["reject", "accept"])
      .default("accept")
      .describe(
        'An SPF "fail" of MAIL FROM: "reject" answers 550 5.7.23 (RFC 7208 §8.4), "accept" leaves it to DMARC.',
      ),
    iprevFail: z
      .enum(["reject", "accept"])
      .default("accept")
      .describe(
        'A client address without forward-confirmed reverse DNS: "reject" answers 550 5.7.25, "accept" notes it.',
      ),
    tempError: z
      .enum(["tempfail", "accept"])
      .default("accept")
      .describe(
        'A temporary DNS error in a check that decides (DMARC; SPF or iprev when they reject): "tempfail" answers 451 so the sender retries, "accept" delivers (RFC 7489 §6.6.3, RFC 7208 §8.6).',
      ),
    dnsbl: z
      .array(domainName)
      .default([])
      .describe('DNS blocklist zones asked about each client address (RFC 5782), e.g. ["zen.spamhaus.org"].'),
    dnsblAction: dnsblAction.default("reject"),
    domains: z
      .record(domainName, overrideSchema)
      .default({})
      .describe(
        'Per local domain overrides of dmarcReject, dmarcQuarantine and dnsblAction, e.g. [mailauth.domains."example.org"] dmarcReject = "junk". With recipients in several domains the most lenient applies.',
      ),
  })
  .prefault({})
  .describe("Inbound mail authentication: SPF, DKIM, DMARC, ARC, iprev, DNSBL.");

export type MailauthConfig = z.output<typeof mailauthSchema>;
