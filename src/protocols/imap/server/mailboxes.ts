// Mailbox names for IMAP: full "/"-separated paths built from the store's parent links
// (RFC 9051 §5.1: the hierarchy delimiter is "/"), special-use attributes (RFC 6154 §2) and
// LIST pattern matching (RFC 9051 §6.3.9: "*" matches anything, "%" anything but "/").
import type { Mailbox, MailboxRole, MailStore } from "../../../store/types.ts";

export const DELIMITER = "/";

export interface NamedMailbox {
  mailbox: Mailbox;
  path: string;
}

/** Every mailbox of the account with its full path, sorted by path (INBOX first). */
export async function namedMailboxes(store: MailStore, accountId: string): Promise<NamedMailbox[]> {
  const all = await store.listMailboxes(accountId);
  const byId = new Map(all.map((m) => [m.id, m]));
  const pathOf = (m: Mailbox, depth = 0): string => {
    const parent = m.parentId === null ? undefined : byId.get(m.parentId);
    if (parent === undefined || depth > 100)
      return m.role === "inbox" && m.parentId === null ? "INBOX" : m.name;
    return pathOf(parent, depth + 1) + DELIMITER + m.name;
  };
  return all
    .map((m) => ({ mailbox: m, path: pathOf(m) }))
    .sort((a, b) =>
      a.path === "INBOX" ? -1 : b.path === "INBOX" ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    );
}

const SPECIAL_USE: Partial<Record<MailboxRole, string>> = {
  drafts: "\\Drafts",
  sent: "\\Sent",
  junk: "\\Junk",
  trash: "\\Trash",
  archive: "\\Archive",
  all: "\\All",
  flagged: "\\Flagged",
  important: "\\Important",
};

/** RFC 6154 §2 attribute of a role, or null. */
export function specialUse(role: MailboxRole | null): string | null {
  return role === null ? null : (SPECIAL_USE[role] ?? null);
}

/** The role a CREATE-SPECIAL-USE attribute asks for (RFC 6154 §3), or undefined when unknown. */
export function roleOfAttribute(attr: string): MailboxRole | undefined {
  const a = attr.toLowerCase();
  for (const [role, name] of Object.entries(SPECIAL_USE))
    if (name.toLowerCase() === a) return role as MailboxRole;
  return undefined;
}

/** Normalises a name from a command: INBOX in any case, no trailing delimiter. */
export function normalizePath(name: string): string {
  let n = name;
  while (n.endsWith(DELIMITER) && n.length > 1) n = n.slice(0, -1);
  if (n.toUpperCase() === "INBOX") return "INBOX";
  if (n.toUpperCase().startsWith("INBOX" + DELIMITER)) return "INBOX" + n.slice(5);
  return n;
}

/** RFC 9051 §6.3.9: a LIST pattern as a RegExp ("*" any, "%" any but the delimiter). */
export function patternRegExp(pattern: string): RegExp {
  let re = "";
  for (const ch of pattern) {
    if (ch === "*") re += ".*";
    else if (ch === "%") re += "[^/]*";
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  // INBOX matches case-insensitively (RFC 9051 §5.1)
  if (/^inbox/i.test(pattern)) re = "(?:INBOX|" + re + ")" + "";
  return new RegExp("^" + re + "$", "s");
}

/** True when `path` matches `pattern` (INBOX case-insensitively). */
export function matchesPattern(path: string, pattern: string): boolean {
  if (path === "INBOX" || path.startsWith("INBOX/")) {
    const up =
      pattern.length >= 5 && pattern.slice(0, 5).toUpperCase() === "INBOX"
        ? "INBOX" + pattern.slice(5)
        : pattern;
    return patternRegExp(up).test(path);
  }
  return patternRegExp(pattern).test(path);
}
