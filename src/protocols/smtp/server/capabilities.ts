// What a session advertises in its EHLO/LHLO reply, and the MAIL/RCPT parameters it accepts
// in return: only what is honoured (RFC 5321 §4.1.1.1: keywords name what the server does).
import type { EhloCapabilities } from "../wire/ehlo.ts";
import type { SmtpSession } from "./session.ts";

export function capabilities(s: SmtpSession): EhloCapabilities {
  const limits = s.limits();
  const c: EhloCapabilities = {
    pipelining: true, // RFC 2920
    size: limits.maxMessageSize, // RFC 1870
    eightBitMime: true, // RFC 6152: stored as received
    chunking: true, // RFC 3030
    binaryMime: true,
    enhancedStatusCodes: true, // RFC 2034
    dsn: true, // RFC 3461: parameters kept with the queued message
    smtputf8: true, // RFC 6531
    // RFC 6710: the priority is kept with queued messages; local delivery is immediate.
    mtPriority: {},
    // RFC 2852: local delivery is immediate; the queue keeps the deadline of relayed mail.
    deliverBy: null,
    // RFC 3865: no keyword is refused here, so none is listed.
    noSoliciting: [],
    // RFC 9422 §4.
    limits: { rcptMax: limits.maxRecipients, mailMax: s.maxTransactions },
    help: true,
  };
  if (s.info.tlsMode === "starttls" && !s.tls && s.mode !== "lmtp") c.startTls = true;
  // RFC 8689 §4: REQUIRETLS is offered on TLS connections only.
  if (s.tls) c.requireTls = true;
  if (s.mode === "submission") {
    // RFC 4954 §4 and RFC 8314 §5.4: no AUTH before TLS unless plaintext is allowed here.
    if (s.authAllowed() && s.auth === null) {
      c.auth = s.ctx.auth.mechanisms({ tls: s.tls, plaintextAllowed: s.plaintextAllowed() });
    }
    // RFC 4865 §4: FUTURERELEASE on submission (the queue holds the message).
    const max = s.maxHoldSeconds;
    c.futureRelease = {
      maxInterval: max,
      maxDateTime: new Date(s.ctx.clock.now() + max * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
  }
  return c;
}

/** MAIL/RCPT parameter names accepted on this session (params.ts names, plus BINARYMIME). */
export function allowedParams(s: SmtpSession): Set<string> {
  const p = new Set([
    "SIZE",
    "BODY",
    "BINARYMIME",
    "SMTPUTF8",
    "RET",
    "ENVID",
    "NOTIFY",
    "ORCPT",
    "MT-PRIORITY",
    "BY",
    "SOLICIT",
  ]);
  if (s.tls) p.add("REQUIRETLS");
  if (s.mode === "submission") {
    p.add("AUTH");
    p.add("HOLDFOR");
    p.add("HOLDUNTIL");
  }
  return p;
}
