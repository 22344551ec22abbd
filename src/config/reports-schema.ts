// The configuration of mail-authentication reports (the `reports` section; static): the
// DMARC aggregate (RFC 7489 §7.2) and failure (§7.3, RFC 6591) reports we send, and the
// addresses whose incoming mail is read as DMARC, TLS-RPT (RFC 8460) or ARF reports.
import { z } from "zod";

export const reportsSchema = z
  .strictObject({
    addresses: z
      .array(z.string().regex(/^[^@\s]+(@[^@\s]+)?$/, 'expected "local-part" or "local@domain"'))
      .default(["dmarc-reports", "tls-reports"])
      .describe(
        "Mail delivered to these addresses is read as DMARC aggregate, TLS-RPT or failure reports and kept for `mailroom reports list` (the message stays in the mailbox too). A bare local part matches at every local domain. The addresses must exist (an account or an alias).",
      ),
    organization: z
      .string()
      .default("")
      .describe("The org_name of the DMARC reports we send. Empty: server.hostname."),
    dmarcAggregate: z
      .boolean()
      .default(true)
      .describe("Record DMARC evaluations and send daily aggregate reports to the rua of sending domains."),
    dmarcFailure: z
      .boolean()
      .default(true)
      .describe(
        "Send DMARC failure reports (RFC 6591 in ARF, headers only) to the ruf of sending domains whose fo asks for them.",
      ),
    failureReportsPerHour: z
      .number()
      .int()
      .min(0)
      .default(10)
      .describe(
        "Most failure reports sent per sending domain and hour (RFC 7489 §7.3 asks for rate limits).",
      ),
  })
  .prefault({})
  .describe("DMARC reports sent, and reports received at our report addresses.");
