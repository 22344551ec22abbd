// The configuration schema: one zod schema, a description on every field and a default on
// every field, so an empty file is a valid configuration (DESIGN.md "Config"). The reference
// (docs/config.md) and the annotated example (docs/mailroom.example.toml) are generated from
// it by scripts/gen-config-docs.ts.
//
// Two kinds of sections:
// - STATIC sections (server, listeners, tls, store, logging, http, dns, queue, mtaSts, reports)
//   are read once at start;
//   changing them needs a restart (a reload that changes one is refused).
// - DYNAMIC sections (limits, auth, domains, mailauth) are hot-reloaded (SIGHUP or ConfigManager.reload()).
// Domains, accounts and aliases live in the store, not here; the file holds only their
// defaults and limits.
import { z } from "zod";
import { mailauthSchema } from "./mailauth-schema.ts";
import { mtaStsSchema, queueSchema } from "./outbound-schema.ts";
import { reportsSchema } from "./reports-schema.ts";

export const SERVICES = [
  "smtp",
  "submission",
  "submissions",
  "lmtp",
  "imap",
  "imaps",
  "pop3",
  "pop3s",
  "managesieve",
  "http",
  "https",
] as const;
export type Service = (typeof SERVICES)[number];

export const TLS_MODES = ["none", "starttls", "implicit"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** What VRFY and EXPN answer on a listener of the SMTP family (RFC 5321 §3.5, §7.3). */
export const VRFY_MODES = ["off", "authenticated", "on"] as const;
export type VrfyMode = (typeof VRFY_MODES)[number];

/** The standard port and TLS mode of each service. */
export const SERVICE_DEFAULTS: Record<Service, { port: number; tls: TlsMode; bind?: string }> = {
  smtp: { port: 25, tls: "starttls" }, // RFC 5321 §4.5.4, RFC 3207
  submission: { port: 587, tls: "starttls" }, // RFC 6409 §3.1
  submissions: { port: 465, tls: "implicit" }, // RFC 8314 §7.3
  // RFC 2033 §5: never on port 25. LMTP delivers without authentication: local only by default.
  lmtp: { port: 24, tls: "none", bind: "127.0.0.1" },
  imap: { port: 143, tls: "starttls" }, // RFC 9051 §2.1
  imaps: { port: 993, tls: "implicit" }, // RFC 8314 §7.2
  pop3: { port: 110, tls: "starttls" }, // RFC 1939 §3, RFC 2595 STLS
  pop3s: { port: 995, tls: "implicit" }, // RFC 8314 §7.2
  managesieve: { port: 4190, tls: "starttls" }, // RFC 5804 §1.8
  http: { port: 8080, tls: "none" },
  https: { port: 443, tls: "implicit" },
};

/** The sections whose change needs a restart. */
export const STATIC_SECTIONS = [
  "server",
  "listeners",
  "tls",
  "store",
  "logging",
  "http",
  "dns",
  "queue",
  "mtaSts",
  "reports",
] as const;
/** The sections applied by a reload. */
export const DYNAMIC_SECTIONS = ["limits", "auth", "domains", "mailauth"] as const;

const port = z.number().int().min(0).max(65535);
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- static sections

const serverSchema = z
  .strictObject({
    hostname: z
      .string()
      .min(1)
      .default("localhost")
      .describe(
        "The host name of this server: greeting banners, Received headers, the self-signed certificate. Set it to the name your MX record points at.",
      ),
    dataDir: z
      .string()
      .min(1)
      .default("./data")
      .describe(
        "Folder for all state: database, blobs, generated certificates. Relative to the working directory.",
      ),
    portOffset: z
      .number()
      .int()
      .min(0)
      .max(60000)
      .default(0)
      .describe(
        "Added to every listener port except 0 (e.g. 10000 makes SMTP listen on 10025), to run without privileges or beside another mail server.",
      ),
    workers: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(0)
      .describe(
        "Processes serving IMAP connections beside the main process, which accepts them and hands each to the least busy one (changes, failed-login counts and reloads are shared between them). 0 serves every connection in the main process; on a machine with several cores, about one per core lets IMAP use them all. Needs a restart to change.",
      ),
  })
  .prefault({})
  .describe("The server identity and data folder.");

/** One listener as written in the file: every field optional, filled from its service. */
const listenerInputSchema = z
  .strictObject({
    service: z
      .enum(SERVICES)
      .optional()
      .describe(
        "Protocol spoken on this listener. Defaults to the listener name when that is a service name.",
      ),
    enabled: z.boolean().default(true).describe("Whether this listener is started."),
    bind: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Address to bind: "0.0.0.0" for all IPv4, "::" for all IPv6 (and IPv4 on most systems), "127.0.0.1" for local only. Defaults to "0.0.0.0", and to "127.0.0.1" for lmtp (it accepts mail without authentication).',
      ),
    port: port
      .optional()
      .describe("TCP port. Defaults to the standard port of the service; 0 picks a free port."),
    path: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Listen on a unix domain socket at this path instead of TCP (then port is not allowed and bind is ignored), e.g. "/run/mailroom/lmtp.sock" for lmtp. The parent folder is created when missing; a stale socket left by a server that is gone is removed at start (one that still answers is an error), and the socket is removed at stop. portOffset does not apply and maxConnectionsPerIp is not counted (every client is local).',
      ),
    socketMode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'expected octal permissions such as "0660"')
      .optional()
      .describe(
        'Permissions of the unix socket (with path), in octal. Defaults to "0660": the server\'s user and group may connect (give the MTA that delivers over LMTP the group), others may not.',
      ),
    tls: z
      .enum(TLS_MODES)
      .optional()
      .describe(
        'TLS on this listener: "none", "starttls" (offered by the protocol command, RFC 3207/2595) or "implicit" (TLS from the first byte, RFC 8314). Defaults to the usual mode of the service.',
      ),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe("Maximum simultaneous connections on this listener."),
    maxConnectionsPerIp: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe("Maximum simultaneous connections from one client IP address on this listener."),
    allowPlaintextAuth: z
      .boolean()
      .default(false)
      .describe(
        "Allow plaintext authentication (PLAIN, LOGIN, USER/PASS) before TLS on this listener, whatever auth.allowPlaintextWithoutTls says (e.g. for a loopback-only listener).",
      ),
    vrfy: z
      .enum(VRFY_MODES)
      .optional()
      .describe(
        'SMTP family only: what VRFY and EXPN answer (RFC 5321 §3.5). "off": 252, no address is confirmed (§7.3, address harvesting); "authenticated": real answers (250 with the mailbox, or 550 5.1.1; EXPN lists an alias\'s targets) to authenticated sessions only, 252 to others; "on": real answers to every client. Defaults to "off".',
      ),
    compress: z
      .boolean()
      .optional()
      .describe(
        "IMAP only: offer COMPRESS=DEFLATE (RFC 4978) on this listener. Compression saves bandwidth on slow links and costs CPU on both ends; a loopback or LAN listener may turn it off. Defaults to true.",
      ),
  })
  .describe("A listener.");

export type ListenerInput = z.input<typeof listenerInputSchema>;

/** A listener after defaults are applied. */
export interface ListenerConfig {
  service: Service;
  enabled: boolean;
  bind: string;
  port: number;
  /** A unix domain socket path instead of bind/port; "" for TCP. */
  path: string;
  /** Permissions of the unix socket (path), e.g. 0o660. */
  socketMode: number;
  tls: TlsMode;
  maxConnections: number;
  maxConnectionsPerIp: number;
  allowPlaintextAuth: boolean;
  vrfy: VrfyMode;
  /** IMAP: COMPRESS=DEFLATE offered. */
  compress: boolean;
}

/** The listeners present when the file names none: every service on its standard port. */
export const DEFAULT_LISTENER_NAMES: readonly Service[] = SERVICES;

function isService(name: string): name is Service {
  return (SERVICES as readonly string[]).includes(name);
}

const listenersSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9_-]+$/, "listener names use letters, digits, - and _"),
    listenerInputSchema,
  )
  .default({})
  .transform((given, zctx): Record<string, ListenerConfig> => {
    // Every standard listener exists unless disabled; a table in the file overrides fields of
    // the listener of the same name, or adds a new one (then `service` is required).
    const out: Record<string, ListenerConfig> = {};
    const names = new Set<string>([...DEFAULT_LISTENER_NAMES, ...Object.keys(given)]);
    for (const name of names) {
      const g = given[name];
      const service = g?.service ?? (isService(name) ? name : undefined);
      if (service === undefined) {
        zctx.issues.push({
          code: "custom",
          input: g,
          path: [name, "service"],
          message: `listener "${name}" needs a service (one of ${SERVICES.join(", ")})`,
        });
        continue;
      }
      // With path, bind does not apply (and is ignored, so `mailroom serve --host`, which sets
      // bind on every listener, leaves a socket listener as it is); a port is a mistake.
      if (g?.path !== undefined && g.port !== undefined) {
        zctx.issues.push({
          code: "custom",
          input: g,
          path: [name, "path"],
          message: `listener "${name}": path (a unix socket) replaces port; set one or the other`,
        });
        continue;
      }
      if (g?.socketMode !== undefined && g.path === undefined) {
        zctx.issues.push({
          code: "custom",
          input: g,
          path: [name, "socketMode"],
          message: `listener "${name}": socketMode needs path (a unix socket)`,
        });
        continue;
      }
      const d = SERVICE_DEFAULTS[service];
      out[name] = {
        service,
        enabled: g?.enabled ?? true,
        bind: g?.path === undefined ? (g?.bind ?? d.bind ?? "0.0.0.0") : "",
        port: g?.path === undefined ? (g?.port ?? d.port) : 0,
        path: g?.path ?? "",
        socketMode: parseInt(g?.socketMode ?? "0660", 8),
        tls: g?.tls ?? d.tls,
        maxConnections: g?.maxConnections ?? 1000,
        maxConnectionsPerIp: g?.maxConnectionsPerIp ?? 20,
        allowPlaintextAuth: g?.allowPlaintextAuth ?? false,
        vrfy: g?.vrfy ?? "off",
        compress: g?.compress ?? true,
      };
    }
    return out;
  })
  .describe(
    'Named listeners ([listeners.<name>]). One per service exists by default on its standard port (smtp 25, submission 587, submissions 465, lmtp 24, imap 143, imaps 993, pop3 110, pop3s 995, managesieve 4190, http 8080, https 443); a table with the same name overrides its fields, `enabled = false` removes it, a table with another name adds a listener (set `service`), e.g. `[listeners.lmtp-socket]` with `service = "lmtp"` and `path = "/run/mailroom/lmtp.sock"` adds LMTP on a unix socket beside port 24. A listener starts only once its protocol is implemented.',
  );

const sniCertificateSchema = z
  .strictObject({
    names: z
      .array(z.string().min(1))
      .min(1)
      .describe('Server names (SNI) this certificate serves; "*.example.org" matches one label.'),
    certFile: z.string().min(1).describe("PEM file with the certificate chain, leaf first."),
    keyFile: z.string().min(1).describe("PEM file with the private key."),
  })
  .describe("A certificate chosen by server name.");

const tlsSchema = z
  .strictObject({
    certFile: z
      .string()
      .default("")
      .describe(
        "PEM file with the default certificate chain (leaf first). Empty: a self-signed certificate for server.hostname is generated under <dataDir>/tls/ and reused.",
      ),
    keyFile: z.string().default("").describe("PEM file with the private key of certFile."),
    certificates: z
      .array(sniCertificateSchema)
      .default([])
      .describe("Further certificates chosen by the server name the client asks for (SNI, RFC 6066 §3)."),
    minVersion: z
      .enum(["TLSv1.2", "TLSv1.3"])
      .default("TLSv1.2")
      .describe(
        "Oldest TLS version accepted. RFC 8996 forbids TLS 1.0 and 1.1; RFC 8997 applies it to mail.",
      ),
    watch: z
      .boolean()
      .default(true)
      .describe("Reload certificate files when they change on disk (e.g. after renewal)."),
  })
  .prefault({})
  .describe("Certificates and TLS settings for every listener.");

const storeSchema = z
  .strictObject({
    backend: z
      .enum(["sqlite", "postgres"])
      .default("sqlite")
      .describe('Where mail is stored: "sqlite" (embedded, one file) or "postgres" (for clusters).'),
    path: z.string().default("").describe("SQLite database file. Empty: <dataDir>/mailroom.sqlite."),
    url: z
      .string()
      .default("")
      .describe(
        'PostgreSQL connection URL, e.g. "postgres://mailroom@localhost/mailroom" (backend = "postgres").',
      ),
    blobs: z
      .enum(["auto", "fs", "db"])
      .default("auto")
      .describe(
        'Where message bodies and other blobs go: "auto" (up to inlineBlobMax bytes inside the database, durable with the same commit as the message; larger ones as files under blobDir), "fs" (all as files) or "db" (all inside the database).',
      ),
    inlineBlobMax: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024)
      .describe('With blobs = "auto": the largest blob kept inside the database, in bytes.'),
    blobDir: z
      .string()
      .default("")
      .describe('Folder for blob files (blobs = "auto" or "fs"). Empty: <dataDir>/blobs.'),
    syncFlagChanges: z
      .boolean()
      .default(false)
      .describe(
        "Answer an IMAP STORE only once its flag change is on disk. Off (the default, as Dovecot): the change is answered once committed (every session and protocol sees it at once) and reaches the disk in the next WAL sync, within about a millisecond, so a power failure in that moment can take back a flag change, never a message, an expunge or a move; the modseqs of the next start skip past it. On: each STORE waits for its sync (about twice the latency under load). SQLite only: on PostgreSQL every commit is on disk when answered.",
      ),
    historyDays: z
      .number()
      .int()
      .min(0)
      .default(90)
      .describe(
        "Days of change history kept: the change log behind JMAP /changes and the record of expunged messages behind IMAP QRESYNC VANISHED (RFC 7162). A client that was away longer still resynchronizes correctly, with more work: JMAP answers cannotCalculateChanges (the client reloads), IMAP reports the client's known UIDs that no longer exist. 90 days covers a device left in a drawer for a season at the cost of a few dozen bytes per change; history is dropped up to a 30th of this later, never earlier. 0: keep everything.",
      ),
    historyCompactMinutes: z
      .number()
      .int()
      .min(1)
      .default(60)
      .describe(
        "How often the server drops change history older than historyDays, in minutes. With several servers on one PostgreSQL database one of them does it at a time (a lease); the work is done in small transactions.",
      ),
  })
  .prefault({})
  .describe("The mail store.");

const loggingSchema = z
  .strictObject({
    level: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("Least severe level written."),
    unredacted: z
      .boolean()
      .default(false)
      .describe(
        "Write credentials and message bodies in trace logs. For debugging only: never in production.",
      ),
  })
  .prefault({})
  .describe("Logging (JSON lines on standard output).");

const httpSchema = z
  .strictObject({
    publicUrl: z
      .string()
      .default("")
      .describe(
        'The URL clients reach the web services at (JMAP session, autoconfig). Empty: "https://<hostname>".',
      ),
    trustProxy: z
      .boolean()
      .default(false)
      .describe("Take the client address from X-Forwarded-For (only behind a reverse proxy you control)."),
    maxBodySize: z
      .number()
      .int()
      .min(1024)
      .default(50 * MiB)
      .describe("Largest request body accepted, in bytes."),
  })
  .prefault({})
  .describe("The web listeners (http, https).");

const hostPort = z
  .string()
  .regex(
    /^(\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]+)(:[0-9]{1,5})?$/,
    'expected "host:port" with an IP address, e.g. "127.0.0.1:53" or "[::1]:53"',
  );

const dnsSchema = z
  .strictObject({
    resolver: z
      .union([z.literal("system"), z.array(hostPort).min(1)])
      .default("system")
      .describe(
        'Nameservers: "system" (those of the operating system) or a list of "ip:port". The environment variable MAILROOM_DNS=ip:port overrides it.',
      ),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe("Time allowed for one DNS query, in milliseconds."),
    tries: z.number().int().min(1).max(10).default(2).describe("Attempts per DNS query and nameserver."),
  })
  .prefault({})
  .describe("DNS resolution (MX, SPF, DKIM, DMARC, DANE, MTA-STS lookups).");

// ---------------------------------------------------------------- dynamic sections

const limitsSchema = z
  .strictObject({
    maxMessageSize: z
      .number()
      .int()
      .min(1024)
      .default(50 * MiB)
      .describe("Largest message accepted (SMTP SIZE, RFC 1870; IMAP APPEND; JMAP upload), in bytes."),
    maxRecipients: z
      .number()
      .int()
      .min(100)
      .default(500)
      .describe("Recipients accepted per message. RFC 5321 §4.5.3.1.8 requires at least 100."),
    maxConnectionsPerUser: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe(
        "Simultaneous authenticated sessions (IMAP and POP3) per account, counted per process (each session process of server.workers counts its own). A login past it gets NO [LIMIT] (IMAP) or -ERR [IN-USE] (POP3).",
      ),
    authFailuresBeforeDisconnect: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe("Failed authentications on one connection before it is closed."),
    authFailuresPerIp: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe(
        "Failed authentications from one IP address within authFailureWindowSeconds before it is refused.",
      ),
    authFailureWindowSeconds: z
      .number()
      .int()
      .min(1)
      .default(3600)
      .describe("Window over which authFailuresPerIp is counted, in seconds."),
    authFailureDelayMs: z
      .number()
      .int()
      .min(0)
      .default(1000)
      .describe("Delay before answering a failed authentication, in milliseconds."),
    imapMaxLiteralSize: z
      .number()
      .int()
      .min(1024)
      .default(50 * MiB)
      .describe("Largest IMAP literal accepted, in bytes (RFC 7888 §4 for LITERAL+ and LITERAL-)."),
    imapMaxCommandLength: z
      .number()
      .int()
      .min(8192)
      .default(65536)
      .describe(
        "Longest IMAP command line, literals excluded, in bytes. RFC 7162 §4 asks for at least 8192.",
      ),
    smtpMaxCommandLength: z
      .number()
      .int()
      .min(512)
      .default(4096)
      .describe("Longest SMTP command line, in bytes. RFC 5321 §4.5.3.1.4 requires at least 512."),
    smtpMaxTextLineLength: z
      .number()
      .int()
      .min(1000)
      .default(8192)
      .describe(
        "Longest line of message text over SMTP, in bytes. RFC 5321 §4.5.3.1.6 requires at least 1000.",
      ),
    commandsPerMinute: z
      .number()
      .int()
      .min(10)
      .default(60_000)
      .describe(
        "Commands accepted per connection and minute before the connection is slowed down (a burst of a tenth of it passes at once). The default, 1,000 a second, never slows a client syncing or appending in bulk; lower it to tame abusive clients.",
      ),
    smtpTimeoutSeconds: z
      .number()
      .int()
      .min(30)
      .default(300)
      .describe(
        "Idle time before an SMTP connection is closed. RFC 5321 §4.5.3.2.7 asks for at least 5 minutes.",
      ),
    imapIdleTimeoutSeconds: z
      .number()
      .int()
      .min(60)
      .default(1800)
      .describe("Idle time before an IMAP connection is closed. RFC 9051 §5.4 asks for at least 30 minutes."),
  })
  .prefault({})
  .describe("Limits applied by every protocol.");

const authSchema = z
  .strictObject({
    allowCramMd5: z
      .boolean()
      .default(false)
      .describe(
        "Offer CRAM-MD5 (RFC 2195). Needs passwords stored in a recoverable form; prefer SCRAM-SHA-256.",
      ),
    allowPlaintextWithoutTls: z
      .boolean()
      .default(false)
      .describe(
        "Allow plaintext authentication before TLS on every listener (RFC 8314 §5.4 advises against it). A listener's allowPlaintextAuth allows it on that listener only.",
      ),
    allowAdminImpersonation: z
      .boolean()
      .default(false)
      .describe(
        "Let accounts with the admin role log in as another account: they authenticate with their own name and password and name the account as the SASL authorization identity (authzid, RFC 4422 §3.4.1), like Dovecot's master users. Such IMAP sessions may change the account's quotas with SETQUOTA (RFC 9208). Off: an authzid other than the login name is refused.",
      ),
  })
  .prefault({})
  .describe("Authentication policy.");

const domainsSchema = z
  .strictObject({
    catchAll: z
      .string()
      .default("")
      .describe(
        "Default catch-all for domains that set none: the local part that receives mail for unknown addresses. Empty: no catch-all, unknown addresses are refused.",
      ),
    subaddressSeparator: z
      .string()
      .max(1)
      .default("+")
      .describe('Separator of subaddresses ("user+tag@domain", RFC 5233). Empty: no subaddressing.'),
    defaultQuota: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("Storage quota of new accounts, in bytes. 0: unlimited."),
  })
  .prefault({})
  .describe("Defaults for the domains and accounts kept in the store.");

// ---------------------------------------------------------------- the whole file

export const configSchema = z
  .strictObject({
    server: serverSchema,
    listeners: listenersSchema,
    tls: tlsSchema,
    store: storeSchema,
    logging: loggingSchema,
    http: httpSchema,
    dns: dnsSchema,
    queue: queueSchema,
    mtaSts: mtaStsSchema,
    reports: reportsSchema,
    limits: limitsSchema,
    auth: authSchema,
    domains: domainsSchema,
    mailauth: mailauthSchema,
  })
  .describe("Mailroom configuration.");

/** The validated configuration, defaults applied. */
export type Config = z.output<typeof configSchema>;
/** What a configuration file may hold (every field optional). */
export type ConfigInput = z.input<typeof configSchema>;

export type StaticSection = (typeof STATIC_SECTIONS)[number];
export type DynamicSection = (typeof DYNAMIC_SECTIONS)[number];
/** The hot-reloaded part of the configuration. */
export type DynamicConfig = Pick<Config, DynamicSection>;

export type LimitsConfig = Config["limits"];
export type AuthConfig = Config["auth"];
export type DomainsConfig = Config["domains"];
export type TlsConfig = Config["tls"];
export type StoreConfig = Config["store"];
export type DnsConfig = Config["dns"];
export type QueueConfig = Config["queue"];

export function dynamicPart(c: Config): DynamicConfig {
  return { limits: c.limits, auth: c.auth, domains: c.domains, mailauth: c.mailauth };
}

/** The configuration an empty file gives. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
