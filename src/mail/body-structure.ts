// IMAP BODYSTRUCTURE / BODY and ENVELOPE data items (RFC 9051 §7.5.2, grammar in §9) as a pure
// nested value that a wire serializer prints. Conventions of the value:
//   null        NIL
//   string      a string (quoted or literal as the serializer sees fit), "" is the empty string
//   number      a number
//   array       a parenthesized list, elements separated by SP
//   ImapConcat  elements printed back to back with no separator: the grammar's "1*body" in a
//               multipart and "1*address" in an address list have no SP between items.
import type { Envelope, EnvelopeAddress, MimePart } from "./types.ts";

export interface ImapConcat {
  concat: ImapValue[];
}
export type ImapValue = string | number | null | ImapValue[] | ImapConcat;

/** True when the value is an ImapConcat run. */
export function isConcat(v: ImapValue): v is ImapConcat {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Options of the BODYSTRUCTURE value. */
export interface BodyStructureOptions {
  /**
   * The client enabled UTF8=ACCEPT (RFC 9051 §6.3.1 / RFC 6855): parameter values go out as
   * decoded Unicode. Otherwise a non-ASCII value is sent in RFC 2231 §4 form ("name*" =
   * "utf-8''%E2%82%AC"), which stays 7-bit and which clients decode.
   */
  utf8?: boolean;
}

// RFC 2231 §7 attribute-char: any CHAR except SPACE, CTLs, "*", "'", "%", or tspecials
const ATTRIBUTE_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

function rfc2231Encode(v: string): string {
  let out = "utf-8''";
  for (const b of Buffer.from(v, "utf8")) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && ATTRIBUTE_CHAR.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** body-fld-param: ("name" "value" ...) or NIL when there are none. */
function params(p: Record<string, string>, utf8: boolean): ImapValue {
  const out: ImapValue[] = [];
  for (const [k, v] of Object.entries(p)) {
    if (!utf8 && /[^\x00-\x7f]/.test(v)) out.push(k + "*", rfc2231Encode(v));
    else out.push(k, v);
  }
  return out.length > 0 ? out : null;
}

/** body-fld-dsp: ("type" params) or NIL. */
function disposition(part: MimePart, utf8: boolean): ImapValue {
  return part.disposition === null ? null : [part.disposition.type, params(part.disposition.params, utf8)];
}

/** body-fld-lang: NIL, one string, or a list of strings. */
function language(part: MimePart): ImapValue {
  if (part.language === null || part.language.length === 0) return null;
  return part.language.length === 1 ? (part.language[0] ?? null) : [...part.language];
}

function address(a: EnvelopeAddress): ImapValue {
  return [a.name, a.adl, a.mailbox, a.host];
}

/** An address list: "(" 1*address ")" or NIL when empty. */
function addressList(list: readonly EnvelopeAddress[]): ImapValue {
  return list.length === 0 ? null : [{ concat: list.map(address) }];
}

/** RFC 9051 §7.5.2 ENVELOPE: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. */
export function envelopeValue(env: Envelope): ImapValue {
  return [
    env.date,
    env.subject,
    addressList(env.from),
    addressList(env.sender),
    addressList(env.replyTo),
    addressList(env.to),
    addressList(env.cc),
    addressList(env.bcc),
    env.inReplyTo,
    env.messageId,
  ];
}

const EMPTY_ENVELOPE: Envelope = {
  date: null,
  subject: null,
  from: [],
  sender: [],
  replyTo: [],
  to: [],
  cc: [],
  bcc: [],
  inReplyTo: null,
  messageId: null,
};

/** Body of a message/rfc822 that was not parsed (encoded, or past the limits). */
const EMPTY_BODY: ImapValue = ["text", "plain", ["charset", "us-ascii"], null, null, "7bit", 0, 0];

/**
 * The BODYSTRUCTURE (extended = true) or BODY (extended = false) value of a part
 * (RFC 9051 §7.5.2). Pass the root part for the whole message.
 */
export function bodyStructure(
  part: MimePart,
  extended = true,
  options: BodyStructureOptions = {},
): ImapValue {
  return body(part, extended, options.utf8 === true, 0);
}

function body(part: MimePart, extended: boolean, utf8: boolean, depth: number): ImapValue {
  const ct = part.contentType;
  if (part.parts !== undefined && depth < 200) {
    // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    const kids =
      part.parts.length > 0 ? part.parts.map((k) => body(k, extended, utf8, depth + 1)) : [EMPTY_BODY];
    const out: ImapValue[] = [{ concat: kids }, ct.subtype];
    // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
    if (extended) out.push(params(ct.params, utf8), disposition(part, utf8), language(part), part.location);
    return out;
  }
  // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
  // RFC 2046 §4.1.2: text without a charset is us-ascii; say so, as Dovecot does
  const p =
    ct.type === "text" && ct.params.charset === undefined ? { charset: "us-ascii", ...ct.params } : ct.params;
  const out: ImapValue[] = [
    ct.type,
    ct.subtype,
    params(p, utf8),
    part.id,
    part.description,
    part.encoding,
    Math.max(0, part.bodyEnd - part.bodyStart),
  ];
  if (ct.type === "message" && (ct.subtype === "rfc822" || ct.subtype === "global")) {
    // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
    const inner = part.message;
    out.push(
      envelopeValue(part.envelope ?? EMPTY_ENVELOPE),
      inner !== undefined && depth < 200 ? body(inner, extended, utf8, depth + 1) : EMPTY_BODY,
      part.lines,
    );
  } else if (ct.type === "text") {
    // body-type-text = media-text SP body-fields SP body-fld-lines
    out.push(part.lines);
  }
  // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
  if (extended) out.push(part.md5, disposition(part, utf8), language(part), part.location);
  return out;
}
