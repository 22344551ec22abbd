// JMAP views of a parsed message: the textBody / htmlBody / attachments lists of RFC 8621
// §4.1.4 and the per-part properties of EmailBodyPart (§4.1.4), computed from MimePart.
import { decodePartBody } from "./decode.ts";
import type { MimePart } from "./types.ts";

export interface BodyLists {
  textBody: MimePart[];
  htmlBody: MimePart[];
  attachments: MimePart[];
}

function mediaType(p: MimePart): string {
  return `${p.contentType.type}/${p.contentType.subtype}`;
}

function isInlineMediaType(type: string): boolean {
  return type.startsWith("image/") || type.startsWith("audio/") || type.startsWith("video/");
}

/** EmailBodyPart.name: the disposition filename, else the Content-Type name (decoded). */
export function partName(p: MimePart): string | null {
  return p.disposition?.params.filename ?? p.contentType.params.name ?? null;
}

/**
 * EmailBodyPart.partId: the IMAP section number (opaque to JMAP clients), "1" for the body of
 * a message that is not multipart, null for multipart parts (RFC 8621 §4.1.4).
 */
export function partId(p: MimePart): string | null {
  if (p.parts !== undefined) return null;
  return p.section === "" ? "1" : p.section;
}

/** EmailBodyPart.cid: Content-ID without its angle brackets, or null. */
export function partCid(p: MimePart): string | null {
  if (p.id === null) return null;
  const m = /<([^<>]*)>/.exec(p.id);
  const v = (m?.[1] ?? p.id).trim();
  return v.length > 0 ? v : null;
}

/** EmailBodyPart.charset: the charset parameter; "us-ascii" for text/* without one; else null. */
export function partCharset(p: MimePart): string | null {
  return p.contentType.params.charset ?? (p.contentType.type === "text" ? "us-ascii" : null);
}

/** EmailBodyPart.size: octets after transfer decoding (RFC 8621 §4.1.4). */
export function decodedSize(raw: Buffer, p: MimePart): number {
  const enc = p.encoding;
  if (enc !== "base64" && enc !== "quoted-printable") return Math.max(0, p.bodyEnd - p.bodyStart);
  return decodePartBody(raw, p).length;
}

/**
 * RFC 8621 §4.1.4 parseStructure: which leaf parts make up the text and HTML bodies and which
 * are attachments. message/* parts are leaves here (JMAP does not descend into them).
 */
export function jmapBodyLists(root: MimePart): BodyLists {
  const textBody: MimePart[] = [];
  const htmlBody: MimePart[] = [];
  const attachments: MimePart[] = [];
  walk([root], "mixed", false, htmlBody, textBody, attachments, 0);
  return { textBody, htmlBody, attachments };
}

function walk(
  parts: MimePart[],
  multipartType: string,
  inAlternative: boolean,
  htmlIn: MimePart[] | null,
  textIn: MimePart[] | null,
  attachments: MimePart[],
  depth: number,
): void {
  let htmlBody = htmlIn;
  let textBody = textIn;
  const textLength = textBody ? textBody.length : -1;
  const htmlLength = htmlBody ? htmlBody.length : -1;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === undefined) continue;
    const type = mediaType(part);
    const isMultipart = part.parts !== undefined;
    // a body part rather than an attachment: one of the body types, not "attachment", and in
    // multipart/related only the first; a named text part after the first is an attachment
    const isInline =
      part.disposition?.type !== "attachment" &&
      (type === "text/plain" || type === "text/html" || isInlineMediaType(type)) &&
      (i === 0 || (multipartType !== "related" && (isInlineMediaType(type) || partName(part) === null)));
    if (isMultipart) {
      const sub = part.contentType.subtype;
      if (depth < 100)
        walk(
          part.parts ?? [],
          sub,
          inAlternative || sub === "alternative",
          htmlBody,
          textBody,
          attachments,
          depth + 1,
        );
    } else if (isInline) {
      if (multipartType === "alternative") {
        if (type === "text/plain") textBody?.push(part);
        else if (type === "text/html") htmlBody?.push(part);
        else attachments.push(part);
        continue;
      } else if (inAlternative) {
        if (type === "text/plain") htmlBody = null;
        if (type === "text/html") textBody = null;
      }
      textBody?.push(part);
      htmlBody?.push(part);
      if ((!textBody || !htmlBody) && isInlineMediaType(type)) attachments.push(part);
    } else {
      attachments.push(part);
    }
  }
  if (multipartType === "alternative" && textBody && htmlBody) {
    // only an HTML part was found: it serves as the text body too, and the other way round
    if (textLength === textBody.length && htmlLength !== htmlBody.length) {
      for (let i = htmlLength; i < htmlBody.length; i++) textBody.push(htmlBody[i] as MimePart);
    }
    if (htmlLength === htmlBody.length && textLength !== textBody.length) {
      for (let i = textLength; i < textBody.length; i++) htmlBody.push(textBody[i] as MimePart);
    }
  }
}
