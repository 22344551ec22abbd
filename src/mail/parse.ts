// The MIME structure parser (RFC 5322, RFC 2045 §5-6, RFC 2046 §5, RFC 6532): one pass over
// the raw Buffer that records the byte offsets of every part, numbers parts as IMAP sections
// (RFC 9051 §6.4.5) and builds the envelope and the decoded fields ingest keeps. It never
// throws and stays linear: limits on depth, part count and header sizes bound the work.
import { parseAddressList, parseEnvelopeAddresses } from "./address.ts";
import { parseDate } from "./date.ts";
import { decodePartBody, partText } from "./decode.ts";
import {
  decodeWords,
  findHeaderEnd,
  getHeader,
  looksLikeField,
  parseContentType,
  parseParams,
  splitHeaderFields,
} from "./headers.ts";
import { htmlToText } from "./html-text.ts";
import { baseSubject } from "./subject.ts";
import type { Envelope, HeaderField, MimePart, ParsedMessage } from "./types.ts";

export const PARSE_LIMITS = {
  /** Deepest nesting of multipart and message parts that is followed. */
  maxDepth: 50,
  /** Most parts in one message; past it, parts are left unparsed (leaves). */
  maxParts: 10_000,
  /** Most characters kept in ParsedMessage.text. */
  maxTextChars: 2 * 1024 * 1024,
  /** Most bytes of one part decoded for text extraction. */
  maxTextPartBytes: 8 * 1024 * 1024,
};

interface Ctx {
  raw: Buffer;
  parts: number;
  /** Header fields of message roots (top level and encapsulated), kept for envelopes. */
  rootFields: Map<MimePart, HeaderField[]>;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * body-fld-lines (RFC 9051 §7.5.2, "size of the body in text lines"): the number of line
 * breaks (LF) in raw[start, end), as Dovecot counts them; an unterminated last line (the
 * usual case before a boundary, whose CRLF belongs to the boundary) adds none.
 */
function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  let pos = start;
  for (;;) {
    const nl = raw.indexOf(LF, pos);
    if (nl < 0 || nl >= end) break;
    n++;
    pos = nl + 1;
  }
  return n;
}

/** Builds the envelope from top-level (or encapsulated) header fields (RFC 9051 §7.5.2). */
export function buildEnvelope(fields: readonly HeaderField[]): Envelope {
  const from = parseEnvelopeAddresses(getHeader(fields, "from"));
  const senderRaw = parseEnvelopeAddresses(getHeader(fields, "sender"));
  const replyToRaw = parseEnvelopeAddresses(getHeader(fields, "reply-to"));
  return {
    date: getHeader(fields, "date"),
    subject: getHeader(fields, "subject"),
    from,
    // RFC 9051 §7.5.2: absent or empty Sender / Reply-To take the value of From
    sender: senderRaw.length > 0 ? senderRaw : from,
    replyTo: replyToRaw.length > 0 ? replyToRaw : from,
    to: parseEnvelopeAddresses(getHeader(fields, "to")),
    cc: parseEnvelopeAddresses(getHeader(fields, "cc")),
    bcc: parseEnvelopeAddresses(getHeader(fields, "bcc")),
    inReplyTo: getHeader(fields, "in-reply-to"),
    messageId: getHeader(fields, "message-id"),
  };
}

/** Finds the header block of the entity at raw[start, end): its end and its fields. */
function headerBlock(raw: Buffer, start: number, end: number): { headerEnd: number; fields: HeaderField[] } {
  if (start >= end) return { headerEnd: start, fields: [] };
  const blank = raw[start] === LF || (raw[start] === CR && raw[start + 1] === LF && start + 1 < end);
  const headerEnd = findHeaderEnd(raw, start, end);
  // An entity with no field before its first blank line has no header block: the body
  // starts right away (RFC 2046 §5.1.1 lets a part omit its headers). A junk first line
  // (an mbox "From " line) is tolerated when fields follow it.
  if (!blank && !looksLikeField(raw, start, end) && !hasFieldLine(raw, start, headerEnd)) {
    return { headerEnd: start, fields: [] };
  }
  return { headerEnd, fields: splitHeaderFields(raw, start, headerEnd) };
}

/** True when a line in raw[start, end) (the first 200 lines at most) looks like a field. */
function hasFieldLine(raw: Buffer, start: number, end: number): boolean {
  let pos = start;
  for (let n = 0; n < 200 && pos < end; n++) {
    if (looksLikeField(raw, pos, end)) return true;
    const nl = raw.indexOf(LF, pos);
    if (nl < 0 || nl >= end) return false;
    pos = nl + 1;
  }
  return false;
}

/** A new part with the fields of its header block applied. */
function makePart(
  section: string,
  headerStart: number,
  headerEnd: number,
  bodyEnd: number,
  fields: HeaderField[],
  defaultType: string,
): MimePart {
  const ct = parseContentType(getHeader(fields, "content-type"), defaultType);
  const dispValue = getHeader(fields, "content-disposition");
  let disposition: MimePart["disposition"] = null;
  if (dispValue !== null) {
    const d = parseParams(dispValue);
    const type = d.value.toLowerCase();
    if (type.length > 0) disposition = { type, params: d.params };
  }
  const lang = getHeader(fields, "content-language");
  const language = lang === null ? null : lang.split(/[\s,]+/).filter((t) => t.length > 0);
  // RFC 2045 §6.1: mechanism is a token; anything else is taken as 7bit (as Dovecot does)
  const cte = (getHeader(fields, "content-transfer-encoding") ?? "").split(/[\s;(]/)[0]?.toLowerCase() ?? "";
  const encoding = /^[!#$%&'*+\-.^_`{|}~0-9a-z]+$/.test(cte) ? cte : "7bit";
  return {
    section,
    headerStart,
    headerEnd,
    bodyStart: headerEnd,
    bodyEnd,
    contentType: ct,
    encoding,
    id: getHeader(fields, "content-id"),
    description: getHeader(fields, "content-description"),
    disposition,
    language: language !== null && language.length > 0 ? language : null,
    location: getHeader(fields, "content-location"),
    md5: getHeader(fields, "content-md5"),
    lines: 0,
  };
}

function childSection(parent: string, n: number): string {
  return parent === "" ? String(n) : `${parent}.${n}`;
}

/** Returns the position of the line break before `pos` (CRLF or LF), clamped to `min`. */
function lineBreakBefore(raw: Buffer, pos: number, min: number): number {
  let p = pos;
  if (p > min && raw[p - 1] === LF) {
    p--;
    if (p > min && raw[p - 1] === CR) p--;
  }
  return p;
}

/**
 * Finds the boundary delimiter lines of a multipart body raw[start, end) (RFC 2046 §5.1.1):
 * "--" boundary at the start of a line, then optional "--" (close), then only transport
 * padding (space, tab) up to the line break. Returns the line starts, the line ends (after
 * the line break) and whether each is the close delimiter. Stops at the first close delimiter.
 */
function findDelimiters(
  raw: Buffer,
  start: number,
  end: number,
  boundary: Buffer,
  maxCount: number,
): { at: number; next: number; close: boolean }[] {
  const found: { at: number; next: number; close: boolean }[] = [];
  let pos = start;
  while (pos < end && found.length < maxCount) {
    const at = raw.indexOf(boundary, pos);
    if (at < 0 || at + boundary.length > end) break;
    pos = at + 1;
    if (at !== start && raw[at - 1] !== LF) continue;
    let i = at + boundary.length;
    let close = false;
    if (i + 1 < end && raw[i] === 0x2d && raw[i + 1] === 0x2d) {
      close = true;
      i += 2;
    }
    while (i < end && (raw[i] === 0x20 || raw[i] === 0x09)) i++;
    let next: number;
    if (i >= end) next = end;
    else if (raw[i] === LF) next = i + 1;
    else if (raw[i] === CR && i + 1 < end && raw[i + 1] === LF) next = i + 2;
    else if (raw[i] === CR && i + 1 >= end) next = end;
    else continue; // "--boundaryX": a longer boundary or text, not ours
    found.push({ at, next, close });
    if (close) break;
    pos = next;
  }
  return found;
}

/**
 * Parses the entity at raw[start, end) into a MimePart; `section` is its IMAP section
 * number, `defaultType` its Content-Type when it has none.
 */
function parseEntity(
  ctx: Ctx,
  start: number,
  end: number,
  section: string,
  depth: number,
  defaultType: string,
  isRoot: boolean,
): MimePart {
  const raw = ctx.raw;
  ctx.parts++;
  const { headerEnd, fields } = headerBlock(raw, start, end);
  const part = makePart(section, start, headerEnd, end, fields, defaultType);
  if (isRoot) ctx.rootFields.set(part, fields);
  const ct = part.contentType;
  const canNest = depth < PARSE_LIMITS.maxDepth && ctx.parts < PARSE_LIMITS.maxParts;
  if (ct.type === "multipart") {
    part.parts = canNest ? parseMultipart(ctx, part, depth) : [];
    if (part.parts.length === 0) {
      // RFC 9051 §7.5.2 needs 1*body: a multipart without parts (no or a wrong boundary, or
      // past the limits) gets one headerless text/plain part holding the whole body
      part.parts = [leafPart(ctx, childSection(section, 1), part.bodyStart, part.bodyEnd)];
    }
  } else if (
    ct.type === "message" &&
    (ct.subtype === "rfc822" || ct.subtype === "global") &&
    (part.encoding === "7bit" || part.encoding === "8bit" || part.encoding === "binary")
  ) {
    // RFC 9051 §6.4.5: an encapsulated message's parts are numbered under its own section;
    // when this entity is itself a message root and not multipart, its body is section "1"
    part.lines = countLines(raw, part.bodyStart, part.bodyEnd);
    if (canNest) {
      const prefix = isRoot ? childSection(section, 1) : section;
      const inner = parseEntity(ctx, part.bodyStart, part.bodyEnd, prefix, depth + 1, "text/plain", true);
      part.message = inner;
      part.envelope = buildEnvelope(ctx.rootFields.get(inner) ?? []);
    }
  } else if (ct.type === "text" || ct.type === "message") {
    part.lines = countLines(raw, part.bodyStart, part.bodyEnd);
  }
  return part;
}

function leafPart(ctx: Ctx, section: string, start: number, end: number): MimePart {
  ctx.parts++;
  const p = makePart(section, start, start, end, [], "text/plain");
  p.lines = countLines(ctx.raw, start, end);
  return p;
}

/** Splits a multipart body at its boundaries and parses each body part. */
function parseMultipart(ctx: Ctx, part: MimePart, depth: number): MimePart[] {
  const raw = ctx.raw;
  const boundary = part.contentType.params.boundary;
  // RFC 2046 §5.1.1: boundaries are 1 to 70 characters; longer ones are accepted, empty not
  if (boundary === undefined || boundary.length === 0 || boundary.length > 200) return [];
  const delim = Buffer.from("--" + boundary, "utf8");
  const childDefault = part.contentType.subtype === "digest" ? "message/rfc822" : "text/plain";
  // one delimiter more than parts may still be made: the last part then runs to the end
  const found = findDelimiters(
    raw,
    part.bodyStart,
    part.bodyEnd,
    delim,
    PARSE_LIMITS.maxParts - ctx.parts + 1,
  );
  const out: MimePart[] = [];
  for (let k = 0; k < found.length; k++) {
    const d = found[k];
    if (d === undefined || d.close || ctx.parts >= PARSE_LIMITS.maxParts) break;
    // at the part limit the last part takes the rest of the body
    const last = ctx.parts + 1 >= PARSE_LIMITS.maxParts;
    const nextD = last ? undefined : found[k + 1];
    // RFC 2046 §5.1.1: the line break before a delimiter belongs to the delimiter. A missing
    // close delimiter leaves the last part running to the end of the multipart body.
    const partEnd =
      nextD === undefined ? part.bodyEnd : Math.max(d.next, lineBreakBefore(raw, nextD.at, d.next));
    out.push(
      parseEntity(
        ctx,
        d.next,
        partEnd,
        childSection(part.section, out.length + 1),
        depth + 1,
        childDefault,
        false,
      ),
    );
    if (last) break;
  }
  return out;
}

/** Ids in a Message-ID / In-Reply-To / References value, without angle brackets. */
export function parseMessageIds(value: string | null): string[] {
  if (value === null) return [];
  const out: string[] = [];
  const re = /<([^<>\s]{1,998})>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && out.length < 1000) out.push(m[1] ?? "");
  if (out.length > 0) return out;
  // no brackets: take bare tokens that look like ids
  for (const t of value.split(/[\s,]+/))
    if (t.includes("@") && out.length < 1000) out.push(t.replace(/^<|>$/g, ""));
  return out;
}

function isAttachment(p: MimePart, parentSubtype: string | null): boolean {
  const disp = p.disposition?.type ?? null;
  if (disp === "attachment") return true;
  if (p.parts !== undefined) return false;
  if (p.contentType.type === "text" || disp === "inline") return false;
  // inline images of multipart/related are part of the HTML (RFC 2387)
  if (parentSubtype === "related" && p.id !== null) return false;
  return true;
}

/** The text parts to show and index: one per multipart/alternative (plain preferred). */
function textParts(root: MimePart, withAttachments: boolean): MimePart[] {
  const out: MimePart[] = [];
  let visited = 0;
  const walk = (p: MimePart): void => {
    if (visited++ > PARSE_LIMITS.maxParts) return;
    if (p.parts !== undefined) {
      if (p.contentType.subtype === "alternative") {
        const kids = p.parts;
        const pick =
          kids.find((k) => k.contentType.type === "text" && k.contentType.subtype === "plain") ??
          kids.find((k) => k.contentType.type === "text" && k.contentType.subtype === "html") ??
          kids.find((k) => k.parts !== undefined) ??
          kids[0];
        if (pick) walk(pick);
        return;
      }
      for (const k of p.parts) walk(k);
      return;
    }
    if (p.message !== undefined) {
      if (withAttachments) walk(p.message);
      return;
    }
    if (p.contentType.type !== "text") return;
    if (!withAttachments && p.disposition?.type === "attachment") return;
    if (!withAttachments && p.contentType.subtype !== "plain" && p.contentType.subtype !== "html") return;
    out.push(p);
  };
  walk(root);
  return out;
}

function textOf(raw: Buffer, p: MimePart, full = false): string {
  let q = p;
  if (!full && p.bodyEnd - p.bodyStart > PARSE_LIMITS.maxTextPartBytes)
    q = { ...p, bodyEnd: p.bodyStart + PARSE_LIMITS.maxTextPartBytes };
  const t = partText(raw, q);
  return q.contentType.subtype === "html" ? htmlToText(t) : t;
}

/** JavaScript's `\s`: what the preview folds into one space. */
function isSpace(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

const PREVIEW_CHARS = 256;
/** How far into the text the preview looks. */
const PREVIEW_SCAN = 4096;

/**
 * RFC 8970 §3: at most 256 characters (code points, a surrogate pair never split), runs of
 * whitespace folded into one space, none leading or trailing. One pass over the start of the
 * text: a regular expression over 4 KB cost more than the rest of the parse.
 */
export function makePreview(text: string): string {
  const end = Math.min(text.length, PREVIEW_SCAN);
  let out = "";
  let count = 0;
  let i = 0;
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  let start = i;
  let inSpace = false;
  while (i < end && count < PREVIEW_CHARS) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      if (!inSpace) out += text.slice(start, i);
      inSpace = true;
      i++;
      continue;
    }
    if (inSpace) {
      inSpace = false;
      start = i;
      if (++count >= PREVIEW_CHARS) break;
      out += " ";
    }
    const d = i + 1 < end ? text.charCodeAt(i + 1) : 0;
    i += c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
    count++;
  }
  if (!inSpace) out += text.slice(start, i);
  return out;
}

export interface ParseOptions {
  /** Fill ParsedMessage.text (the full-text index input); default true. The preview is always made. */
  extractText?: boolean;
  /**
   * The whole text, past PARSE_LIMITS' text limits (searching what the index left out, RFC
   * 9051 §6.4.4); bounded by the message's size alone.
   */
  fullText?: boolean;
}

/** Parses a raw message. Never throws; always returns a structure covering [0, size]. */
export function parseMessage(raw: Buffer, options: ParseOptions = {}): ParsedMessage {
  const ctx: Ctx = { raw, parts: 0, rootFields: new Map() };
  let root: MimePart;
  let headers: HeaderField[];
  try {
    root = parseEntity(ctx, 0, raw.length, "", 0, "text/plain", true);
    headers = ctx.rootFields.get(root) ?? [];
  } catch {
    // defensive: a bug must not reject mail; fall back to one opaque text part
    root = makePart("", 0, findHeaderEnd(raw, 0, raw.length), raw.length, [], "text/plain");
    headers = [];
  }
  const envelope = buildEnvelope(headers);
  const subjectRaw = getHeader(headers, "subject");
  const subject = subjectRaw === null ? null : safe(() => decodeWords(subjectRaw), subjectRaw);
  let hasAttachment = false;
  let visited = 0;
  const scan = (p: MimePart, parentSubtype: string | null): void => {
    if (hasAttachment || visited++ > PARSE_LIMITS.maxParts) return;
    if (p !== root && isAttachment(p, parentSubtype)) hasAttachment = true;
    for (const k of p.parts ?? []) scan(k, p.contentType.subtype);
  };
  scan(root, null);
  let text = "";
  let preview = "";
  const full = options.fullText === true;
  const maxChars = full ? Infinity : PARSE_LIMITS.maxTextChars;
  let textCapped = false;
  const texts = options.extractText === false ? [] : safe(() => textParts(root, true), []);
  // the preview's part is one of these, decoded once
  const decoded = new Map<MimePart, string>();
  const textOfPart = (p: MimePart): string => {
    let t = decoded.get(p);
    if (t === undefined) decoded.set(p, (t = safe(() => textOf(raw, p, full), "")));
    return t;
  };
  for (const [i, p] of texts.entries()) {
    if (text.length >= maxChars) {
      textCapped ||= texts.slice(i).some((q) => q.bodyEnd > q.bodyStart);
      break;
    }
    if (!full && p.bodyEnd - p.bodyStart > PARSE_LIMITS.maxTextPartBytes) textCapped = true;
    const t = textOfPart(p);
    if (t.length === 0) continue;
    text += (text.length > 0 ? "\n" : "") + t;
  }
  if (text.length > maxChars) {
    text = text.slice(0, maxChars);
    textCapped = true;
  }
  const first = safe(() => textParts(root, false), [])[0];
  if (first) preview = makePreview(textOfPart(first));
  return {
    size: raw.length,
    root,
    envelope,
    headers,
    subject,
    baseSubject: baseSubject(subject),
    sentAt: parseDate(envelope.date),
    from: parseAddressList(getHeader(headers, "from")),
    sender: parseAddressList(getHeader(headers, "sender")),
    replyTo: parseAddressList(getHeader(headers, "reply-to")),
    to: parseAddressList(getHeader(headers, "to")),
    cc: parseAddressList(getHeader(headers, "cc")),
    bcc: parseAddressList(getHeader(headers, "bcc")),
    messageId: parseMessageIds(envelope.messageId).slice(0, 1),
    inReplyTo: parseMessageIds(envelope.inReplyTo),
    references: parseMessageIds(getHeader(headers, "references")),
    preview,
    text,
    textCapped,
    hasAttachment,
  };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/**
 * Finds the part an IMAP section number names (RFC 9051 §6.4.5): in a message that is not
 * multipart, "1" is the message itself; inside a message/rfc822 part "N", "N.1" is the
 * encapsulated message's body (or its first part when it is multipart). Returns null when
 * the section does not exist. "" returns the root.
 */
export function findSection(root: MimePart, section: string): MimePart | null {
  if (section === "") return root;
  let container: MimePart = root; // a message: the root or an encapsulated message
  let cur: MimePart | null = null;
  for (const s of section.split(".")) {
    if (!/^[1-9][0-9]{0,8}$/.test(s)) return null;
    const n = Number(s);
    let kids: MimePart[];
    if (cur === null) kids = container.parts ?? [container];
    else if (cur.parts !== undefined) kids = cur.parts;
    else if (cur.message !== undefined) {
      container = cur.message;
      kids = container.parts ?? [container];
    } else return null;
    cur = kids[n - 1] ?? null;
    if (cur === null) return null;
  }
  return cur;
}

/** Re-export for consumers that decode what findSection returned. */
export { decodePartBody, partText };
