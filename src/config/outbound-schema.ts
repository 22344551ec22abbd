// The configuration of outbound delivery (the `queue` section) and of the MTA-STS policy we
// publish for our own domains (`mtaSts`); part of the one schema in schema.ts. Both static.
import { z } from "zod";

const hostPortName = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/, 'expected "host" or "host:port"');

export const queueSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe("Deliver queued mail (relayed submissions, forwards, DSNs). Off: mail waits in the queue."),
    mxPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(25)
      .describe("The port of remote MX hosts (25; tests point it at a local sink)."),
    smartHost: z
      .union([z.literal(""), hostPortName])
      .default("")
      .describe(
        'Send all remote mail through this relay ("host:port", port 587 by default) instead of MX routing. Empty: MX routing.',
      ),
    smartHostUser: z
      .string()
      .default("")
      .describe("User name for AUTH at the smart host (after TLS). Empty: no AUTH."),
    smartHostPassword: z.string().default("").describe("Password for AUTH at the smart host."),
    smartHostTls: z
      .enum(["required", "opportunistic", "none"])
      .default("required")
      .describe("TLS to the smart host: required (verified certificate), opportunistic, or none."),
    concurrency: z.number().int().min(1).max(1000).default(20).describe("Messages delivered at once."),
    perDomain: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe("Deliveries at once to one recipient domain."),
    perHost: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe("SMTP sessions at once to one remote address."),
    retryFirstMinutes: z
      .number()
      .min(0.01)
      .default(5)
      .describe("First retry after a temporary failure, in minutes; each further wait doubles."),
    retryMaxHours: z.number().min(0.01).default(4).describe("Longest wait between two attempts, in hours."),
    lifetimeDays: z
      .number()
      .min(0.001)
      .default(5)
      .describe("Give up after this many days: the remaining recipients bounce with 4.4.7."),
    delayWarningHours: z
      .number()
      .min(0)
      .default(4)
      .describe("Send one delay DSN once a message waits this long (RFC 3464 Action: delayed). 0: never."),
    daneResolver: z
      .string()
      .default("")
      .describe(
        'A DNSSEC-validating resolver ("ip:port", e.g. a local unbound) whose AD bit is trusted: DANE (RFC 7672) is used when set. Empty: no DANE.',
      ),
    mtaSts: z.boolean().default(true).describe("Honour recipient domains' MTA-STS policies (RFC 8461)."),
    tlsReports: z
      .boolean()
      .default(true)
      .describe("Send daily TLS-RPT reports (RFC 8460) to domains that ask for them."),
    pollSeconds: z
      .number()
      .min(0.01)
      .default(5)
      .describe("How often the queue is checked for due mail, in seconds."),
  })
  .prefault({})
  .describe("Outbound delivery: the durable queue and its SMTP client.");

export const mtaStsSchema = z
  .strictObject({
    mode: z
      .enum(["none", "testing", "enforce"])
      .default("testing")
      .describe(
        "The MTA-STS policy served for every local domain at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2).",
      ),
    mx: z.array(z.string()).default([]).describe("MX host patterns of the policy. Empty: server.hostname."),
    maxAgeDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(7)
      .describe("How long senders may cache the policy, in days."),
  })
  .prefault({})
  .describe("The MTA-STS policy we publish for our domains.");
