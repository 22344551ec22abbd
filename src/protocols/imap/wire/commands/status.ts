// STATUS (RFC 9051 §6.3.11): status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")",
// with SIZE (RFC 8438), HIGHESTMODSEQ (RFC 7162 §3.1.9), APPENDLIMIT (RFC 7889 §5),
// MAILBOXID (RFC 8474 §4.2), RECENT (RFC 3501 §6.3.10), DELETED (RFC 9051) and
// DELETED-STORAGE (RFC 9208 §4.1.4).
import type { ArgReader } from "../args.ts";

export const STATUS_ITEMS = [
  "MESSAGES",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "DELETED",
  "DELETED-STORAGE",
  "SIZE",
  "RECENT",
  "HIGHESTMODSEQ",
  "APPENDLIMIT",
  "MAILBOXID",
] as const;

export type StatusItem = (typeof STATUS_ITEMS)[number];

export interface StatusArgs {
  type: "status";
  mailbox: string;
  items: StatusItem[];
}

function isStatusItem(s: string): s is StatusItem {
  return (STATUS_ITEMS as readonly string[]).includes(s);
}

/** "(" status-att *(SP status-att) ")"; shared with LIST RETURN (STATUS ...) (RFC 5819). */
export function parseStatusItems(r: ArgReader): StatusItem[] {
  r.open();
  const items: StatusItem[] = [];
  for (;;) {
    const k = r.keyword("a status item");
    if (!isStatusItem(k)) r.fail(`Unknown status item ${k}`);
    if (!items.includes(k)) items.push(k);
    if (r.tryClose()) break;
    r.sp();
  }
  return items;
}

export function parseStatus(r: ArgReader): StatusArgs {
  r.sp();
  const mailbox = r.mailbox();
  r.sp();
  const items = parseStatusItems(r);
  r.end();
  return { type: "status", mailbox, items };
}
