// One transaction's envelope, checked against the peer's EHLO capabilities before anything is
// sent: the MAIL FROM and RCPT TO lines with the ESMTP parameters the peer offers, and the
// local refusals that retrying cannot cure (SIZE, 8BITMIME, SMTPUTF8, REQUIRETLS). Pure: no
// sockets; throws SmtpClientError for a whole-message refusal.
import { isAscii } from "node:buffer";
import type { EhloCapabilities } from "../wire/ehlo.ts";
import {
  mailParamsToRaw,
  rcptParamsToRaw,
  type MailParams,
  type RawParam,
  type RcptParams,
} from "../wire/params.ts";
import { formatPath, isDomain, parseAddressLiteral } from "../wire/path.ts";
import { encodeUtf8AddrUnitext, encodeUtf8AddrXtext, encodeXtext } from "../wire/xtext.ts";
import { normalizeLineEnds } from "../wire/data.ts";
import type { OutboundParams, OutboundRecipient, ReplyInfo } from "./types.ts";
import { SmtpClientError } from "./types.ts";

/** What the session knows that the envelope depends on. */
export interface SessionFacts {
  capabilities: EhloCapabilities;
  /** TLS is up and the policy was "required" (verified by CA, DANE or MTA-STS). */
  verifiedTls: boolean;
}

export interface PreparedTransaction {
  mailLine: string;
  /** RCPT lines to send, with the index of their recipient. */
  rcpts: { index: number; line: string }[];
  /** Recipients answered locally (bad syntax, over RCPTMAX), by index. */
  local: Map<number, ReplyInfo>;
  /** The message as it goes on the wire before dot-stuffing or chunking. */
  body: Buffer;
  /** RFC 3030: BDAT when the peer offers CHUNKING, DATA otherwise. */
  useBdat: boolean;
}

const CONTROL_RE = /[\x00-\x1f\x7f]/;
const ADDR_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

function nonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** True when any octet has the high bit set (RFC 6152: an 8-bit body). Native scan. */
function has8bit(b: Buffer): boolean {
  return !isAscii(b);
}

const CR = 13;
const LF = 10;

/** True when a CR or LF stands alone (RFC 5321 §2.3.8); native searches, no copy. */
function hasBareLineEnd(b: Buffer): boolean {
  for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) if (i === 0 || b[i - 1] !== CR) return true;
  for (let i = b.indexOf(CR); i !== -1; i = b.indexOf(CR, i + 1)) if (b[i + 1] !== LF) return true;
  return false;
}

function refuse(code: number, enhanced: string, text: string): SmtpClientError {
  return new SmtpClientError("mail", text, { reply: { code, enhanced, text }, permanent: true });
}

/**
 * Splits "local@domain" for formatPath. The local part is quoted by formatPath when it is not a
 * Dot-string; CR, LF and other controls are refused anywhere, so no address can inject a
 * command (RFC 5321 §4.1.2 has no place for them).
 */
export function splitAddress(address: string, utf8: boolean): { localPart: string; domain: string } | null {
  if (CONTROL_RE.test(address)) return null;
  const at = address.lastIndexOf("@");
  if (at <= 0) return null;
  const localPart = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (domain.startsWith("[") && domain.endsWith("]")) {
    if (parseAddressLiteral(domain.slice(1, -1)) === null) return null;
  } else if (!isDomain(domain, utf8)) return null;
  return { localPart, domain };
}

function orcptValue(o: NonNullable<RcptParams["orcpt"]>, utf8: boolean): string {
  // RFC 3461 §4.2: xtext for rfc822; RFC 6533 §3: utf-8-addr-unitext only in an SMTPUTF8
  // transaction, utf-8-addr-xtext otherwise.
  if (o.addrType.toLowerCase() === "utf-8")
    return utf8 ? encodeUtf8AddrUnitext(o.address) : encodeUtf8AddrXtext(o.address);
  return encodeXtext(o.address);
}

function paramText(raw: RawParam[]): string {
  let s = "";
  for (const p of raw) s += p.value === null ? ` ${p.name}` : ` ${p.name}=${p.value}`;
  return s;
}

/** Builds the transaction or throws the permanent refusal that applies. */
export function prepareTransaction(
  facts: SessionFacts,
  from: string,
  recipients: readonly OutboundRecipient[],
  params: OutboundParams,
  message: Buffer,
): PreparedTransaction {
  const c = facts.capabilities;
  // RFC 6531 §3.2/§3.4: an internationalized envelope needs SMTPUTF8 at the peer; it is not
  // downgraded here, the message is refused with X.6.7 (RFC 6531 §3.5, RFC 5248).
  const utf8 = params.smtputf8 === true || nonAscii(from) || recipients.some((r) => nonAscii(r.address));
  if (utf8 && c.smtputf8 !== true)
    throw refuse(553, "5.6.7", "The peer does not support SMTPUTF8, needed for this message");

  // RFC 8689 §4.2.1: REQUIRETLS mail goes only over TLS verified by DANE, MTA-STS or a CA
  // store, to a peer that offers REQUIRETLS; else it is returned with 5.7.30 (RFC 8689 §5).
  if (params.requireTls === true && (!facts.verifiedTls || c.requireTls !== true))
    throw refuse(550, "5.7.30", "REQUIRETLS: the peer does not offer REQUIRETLS over verified TLS");

  const fromPath = from === "" ? null : splitAddress(from, utf8);
  if (from !== "" && fromPath === null) throw refuse(553, "5.1.7", "Bad sender address syntax");

  // RFC 6152 §3 and RFC 3030 §3: the body type. A BINARYMIME body is sent unchanged with BDAT;
  // a text body gets its line ends made CRLF (RFC 5321 §2.3.8) before any size is taken.
  const binary = params.body === "BINARYMIME";
  const body = binary || !hasBareLineEnd(message) ? message : normalizeLineEnds(message);
  const eightBit = binary || params.body === "8BITMIME" || has8bit(body);
  if (binary && (c.binaryMime !== true || c.chunking !== true))
    throw refuse(554, "5.6.3", "The peer does not support BINARYMIME with CHUNKING, needed for this message");
  // RFC 6152 §3 allows a downgrade to 7 bits or a return; Mailroom returns the message
  // (X.6.3 conversion required and not supported, RFC 3463 §3.7) rather than rewrite it.
  if (eightBit && !binary && c.eightBitMime !== true)
    throw refuse(554, "5.6.3", "The peer does not support 8BITMIME; the 8-bit message is not downgraded");

  // RFC 1870 §4-§6: a message over the peer's fixed maximum is not sent (X.3.4).
  if (typeof c.size === "number" && c.size > 0 && body.length > c.size)
    throw refuse(552, "5.3.4", `Message size ${body.length} exceeds the peer's limit of ${c.size}`);

  const mp: MailParams = {};
  if (c.size !== undefined) mp.size = body.length;
  if (c.eightBitMime === true || binary) {
    if (binary) mp.body = "BINARYMIME";
    else if (eightBit) mp.body = "8BITMIME";
    else if (params.body === "7BIT") mp.body = "7BIT";
  }
  if (utf8) mp.smtputf8 = true; // RFC 6531 §3.4
  // RFC 3461 §5.2: DSN parameters go on to a peer that offers DSN, and are dropped otherwise.
  if (c.dsn === true) {
    if (params.ret !== undefined) mp.ret = params.ret;
    if (params.envid !== undefined) mp.envid = params.envid;
  }
  // RFC 4954 §5: AUTH= only to a peer that offers AUTH.
  if (c.auth !== undefined && c.auth.length > 0 && params.auth !== undefined) mp.auth = params.auth;
  if (params.requireTls === true) mp.requireTls = true; // RFC 8689 §4.2.1
  // RFC 6710 §4: the priority goes on to a peer that offers MT-PRIORITY (a peer without it
  // would refuse the parameter); profiles are not translated.
  if (params.mtPriority !== undefined && params.mtPriority !== 0 && c.mtPriority !== undefined)
    mp.mtPriority = params.mtPriority;
  // RFC 2852 §4: BY goes on to a DELIVERBY peer with the time left. A peer without DELIVERBY
  // cannot keep an R (return) deadline, so such mail is returned rather than relayed there;
  // in N mode it is relayed (the caller sends the "relayed" DSN the trace asks for).
  if (params.by !== undefined) {
    if (c.deliverBy !== undefined) mp.by = params.by;
    else if (params.by.mode === "R")
      throw refuse(
        554,
        "5.4.7",
        "BY ...;R: the peer does not support DELIVERBY, so the deadline cannot be kept",
      );
  }
  // RFC 3461 §4.4 ENVID and RFC 4954 §5 AUTH= are xtext.
  const mailLine = `MAIL FROM:${formatPath(fromPath)}${paramText(mailParamsToRaw(mp, encodeXtext))}\r\n`;

  const rcpts: PreparedTransaction["rcpts"] = [];
  const local = new Map<number, ReplyInfo>();
  // RFC 9422 §4.2: no more RCPTs in one transaction than the peer's RCPTMAX; the rest are
  // answered as a temporary 452 4.5.3 for the caller to send in a later transaction.
  const rcptMax = c.limits?.rcptMax !== undefined && c.limits.rcptMax > 0 ? c.limits.rcptMax : Infinity;
  recipients.forEach((r, index) => {
    const to = splitAddress(r.address, utf8);
    if (to === null) {
      local.set(index, { code: 553, enhanced: "5.1.3", text: "Bad recipient address syntax" });
      return;
    }
    if (rcpts.length >= rcptMax) {
      local.set(index, { code: 452, enhanced: "4.5.3", text: "Too many recipients for one transaction" });
      return;
    }
    const rp: RcptParams = {};
    if (c.dsn === true) {
      if (r.notify !== undefined) rp.notify = r.notify;
      if (r.orcpt !== undefined && ADDR_TYPE_RE.test(r.orcpt.addrType) && !CONTROL_RE.test(r.orcpt.address))
        rp.orcpt = r.orcpt;
    }
    const raw = rcptParamsToRaw(rp, (o) => orcptValue(o, utf8));
    rcpts.push({ index, line: `RCPT TO:${formatPath(to)}${paramText(raw)}\r\n` });
  });
  return { mailLine, rcpts, local, body, useBdat: c.chunking === true };
}
