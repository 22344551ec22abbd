// The parsed form of a message, computed once at ingest and stored with the email
// (DESIGN.md "The mail model"). IMAP FETCH (BODYSTRUCTURE, ENVELOPE, BODY[section]<partial>,
// BINARY), SEARCH/SORT, JMAP Email/get and the full-text index all read from this; nobody
// reparses the raw message to answer them.
//
// Offsets are byte offsets into the raw message Buffer: raw.subarray(part.headerStart,
// part.headerEnd) is the part's header block INCLUDING the blank line that ends it (what
// IMAP BODY[HEADER] and BODY[1.MIME] return), raw.subarray(part.bodyStart, part.bodyEnd) is
// its body exactly as stored (IMAP BODY[TEXT] / BODY[1]). For the root, headerStart is 0.

/** An RFC 5322 mailbox, decoded for display (RFC 2047 words decoded, quotes removed). */
export interface Address {
  /** Display name, decoded; null when absent. */
  name: string | null;
  /** The addr-spec "local@domain"; domain as written (IDN kept in Unicode if it came so). */
  address: string;
}

/** An RFC 5322 group ("Undisclosed: a@b, c@d;"); JMAP `EmailAddressGroup`. */
export interface AddressGroup {
  name: string | null;
  addresses: Address[];
}

/**
 * An address as IMAP ENVELOPE needs it (RFC 9051 §7.5.2): the raw, undecoded display name,
 * the source route, mailbox (local part) and host. A group is a start marker with
 * host=null and mailbox=group name, then its members, then an end marker with both null.
 */
export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

/** RFC 9051 §7.5.2 ENVELOPE fields, raw (encoded words kept, unfolded). */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

export interface ContentType {
  /** Lower-cased media type, e.g. "text". Default "text" (RFC 2045 §5.2). */
  type: string;
  /** Lower-cased subtype, e.g. "plain". Default "plain". */
  subtype: string;
  /** Parameters, names lower-cased, values decoded (RFC 2231 continuations joined). */
  params: Record<string, string>;
}

/** One MIME entity. The root message is a MimePart too. */
export interface MimePart {
  /** IMAP section number: "" for the root, "1", "1.2", ... (RFC 9051 §6.4.5). */
  section: string;
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  contentType: ContentType;
  /** Lower-cased Content-Transfer-Encoding; "7bit" when absent. */
  encoding: string;
  /** Content-ID without changes (angle brackets kept), or null. */
  id: string | null;
  description: string | null;
  /** RFC 2183: lower-cased disposition and its parameters, or null. */
  disposition: { type: string; params: Record<string, string> } | null;
  /** RFC 3282 Content-Language tags, or null. */
  language: string[] | null;
  location: string | null;
  md5: string | null;
  /** Number of lines in the body (IMAP body-fld-lines; for text/* and message/rfc822). */
  lines: number;
  /** Children of a multipart/* part, in order. */
  parts?: MimePart[];
  /** For message/rfc822 (and message/global): the encapsulated message's root part... */
  message?: MimePart;
  /** ...and its envelope. */
  envelope?: Envelope;
}

/** A header field as found, in order: name as written, raw value (unfolded, undecoded). */
export interface HeaderField {
  name: string;
  value: string;
}

/** Everything ingest keeps about a message. JSON-serializable. */
export interface ParsedMessage {
  /** Total size in bytes of the raw message. */
  size: number;
  root: MimePart;
  envelope: Envelope;
  /** Top-level header fields in order (raw values), for SEARCH HEADER and JMAP header:*. */
  headers: HeaderField[];
  /** Decoded convenience fields, for JMAP, SORT and threading. */
  subject: string | null;
  /** RFC 5256 §2.1 base subject (for THREAD and for thread assignment, RFC 8621 §3). */
  baseSubject: string;
  /** Date header as ms since epoch, or null when absent or unparseable. */
  sentAt: number | null;
  from: Address[];
  sender: Address[];
  replyTo: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** Message-ID, In-Reply-To, References as lists of ids without angle brackets. */
  messageId: string[];
  inReplyTo: string[];
  references: string[];
  /** RFC 8970 preview: at most 256 characters of the first text content, whitespace folded. */
  preview: string;
  /** Decoded text of every text part (HTML reduced to text), for the full-text index. */
  text: string;
  /**
   * `text` stops short of the message's text: PARSE_LIMITS cut it (a part's first
   * maxTextPartBytes decoded, maxTextChars in all), unless parsed with `fullText`.
   */
  textCapped: boolean;
  /** True when a part has Content-Disposition attachment or is a non-text, non-inline leaf. */
  hasAttachment: boolean;
}
