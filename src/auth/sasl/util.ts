// Small helpers shared by the SASL mechanisms.
import { timingSafeEqual } from "node:crypto";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding (RFC 3629): null for ill-formed input instead of U+FFFD. */
export function decodeUtf8(data: Buffer): string | null {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/** Constant-time equality of two byte strings (the length is not hidden; digests have fixed ones). */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work either way
    return false;
  }
  return timingSafeEqual(a, b);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 4648 §4 base64 with padding, nothing else; null when the text is not canonical base64. */
export function decodeBase64Strict(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, "base64") : null;
}

/** Byte length of a string in UTF-8. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
