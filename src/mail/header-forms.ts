// The parsed forms of header values that JMAP (RFC 8621 §4.1.2) and Sieve/SEARCH use:
// asText, asAddresses, asGroupedAddresses, asMessageIds, asDate, asURLs. Inputs are raw
// values as HeaderField holds them (unfolded, undecoded).
import { parseAddressGroups, parseAddressList } from "./address.ts";
import { parseDate } from "./date.ts";
import { decodeWords } from "./headers.ts";
import { parseMessageIds } from "./parse.ts";
import type { Address, AddressGroup } from "./types.ts";

/** RFC 8621 §4.1.2.2 asText: unfolded, leading spaces removed, RFC 2047 decoded, NFC. */
export function asText(value: string): string {
  const unfolded = value.replace(/\r?\n(?=[ \t])/g, "").replace(/^ +/, "");
  // RFC 8621: NUL and control characters decoded from encoded words are dropped
  return decodeWords(unfolded)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "")
    .normalize("NFC");
}

/** RFC 8621 §4.1.2.3 asAddresses. */
export function asAddresses(value: string): Address[] {
  return parseAddressList(value);
}

/** RFC 8621 §4.1.2.4 asGroupedAddresses. */
export function asGroupedAddresses(value: string): AddressGroup[] {
  return parseAddressGroups(value);
}

/** RFC 8621 §4.1.2.5 asMessageIds: ids without brackets, or null when none parse. */
export function asMessageIds(value: string): string[] | null {
  const ids = parseMessageIds(value);
  return ids.length > 0 ? ids : null;
}

/** RFC 8621 §4.1.2.6 asDate: ms since the epoch, or null (format it as RFC 3339 for JMAP). */
export function asDate(value: string): number | null {
  return parseDate(value);
}

/** RFC 8621 §4.1.2.7 asURLs (RFC 2369 List-* fields): the URLs in angle brackets, or null. */
export function asURLs(value: string): string[] | null {
  const out: string[] = [];
  const re = /<([^<>]*)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && out.length < 1000) out.push((m[1] ?? "").replace(/\s+/g, ""));
  return out.length > 0 ? out : null;
}
