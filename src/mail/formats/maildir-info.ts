// Maildir file and folder names (https://cr.yp.to/proto/maildir.html, Courier's Maildir++ and
// Dovecot's extensions, https://doc.dovecot.org/admin_manual/mailbox_formats/maildir/):
//  - a message file is "<unique>[,key=value...][:2,<flags>]"; the flags are the letters
//    D draft, F flagged, P passed (forwarded), R replied, S seen, T trashed, in ASCII order,
//    then Dovecot's keyword letters a-z, indexes into the folder's "dovecot-keywords" file;
//  - Dovecot adds ",S=<file size>" and ",W=<CRLF size>" fields to the unique part;
//  - folder names are IMAP modified UTF-7 (RFC 3501 §5.1.3) as Dovecot writes them.
import { decodeMailboxName, encodeMailboxName } from "../utf7.ts";

const LETTER_FLAGS: ReadonlyArray<[string, string]> = [
  ["D", "\\Draft"],
  ["F", "\\Flagged"],
  ["P", "$Forwarded"],
  ["R", "\\Answered"],
  ["S", "\\Seen"],
  ["T", "\\Deleted"],
];

/** Splits a message file name into its unique part and the letters of its ":2," info. */
export function parseMaildirName(filename: string): {
  base: string;
  info: string | null;
  fields: Map<string, string>;
} {
  // ":" is the separator; "!" and ";" stand in for it where ":" cannot be in a file name
  const m = /[:;!]2,([^:;!]*)$/.exec(filename);
  const base = m ? filename.slice(0, m.index) : filename;
  const fields = new Map<string, string>();
  for (const part of base.split(",").slice(1)) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return { base, info: m ? (m[1] ?? "") : null, fields };
}

/** IMAP flags for info letters; lower-case letters are looked up in `keywords` (index 0 = "a"). */
export function flagsFromInfo(info: string, keywords: readonly (string | undefined)[]): string[] {
  const flags: string[] = [];
  for (const [letter, flag] of LETTER_FLAGS) if (info.includes(letter)) flags.push(flag);
  for (const ch of info) {
    const i = ch.charCodeAt(0) - 0x61;
    if (i < 0 || i >= 26) continue;
    const k = keywords[i];
    if (k !== undefined && !flags.includes(k)) flags.push(k);
  }
  return flags;
}

/**
 * Info letters for IMAP flags, in ASCII order as the Maildir spec asks. `letterFor` gives the
 * letter of a keyword (or null when it has none: more than 26 keywords in the folder).
 * \Recent is session state and is not stored.
 */
export function infoFromFlags(
  flags: readonly string[],
  letterFor: (keyword: string) => string | null,
): string {
  const letters = new Set<string>();
  for (const f of flags) {
    const known = LETTER_FLAGS.find(([, flag]) => flag.toLowerCase() === f.toLowerCase());
    if (known) letters.add(known[0]);
    else if (!f.startsWith("\\")) {
      const l = letterFor(f);
      if (l !== null) letters.add(l);
    }
  }
  return [...letters].sort().join("");
}

/** Dovecot's dovecot-keywords file: lines "<index> <keyword>". */
export function parseKeywordsFile(text: string): (string | undefined)[] {
  const list: (string | undefined)[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\S+)/.exec(line);
    if (m && Number(m[1]) < 26) list[Number(m[1])] = m[2];
  }
  return list;
}

export function formatKeywordsFile(list: readonly (string | undefined)[]): string {
  let out = "";
  list.forEach((k, i) => {
    if (k !== undefined) out += `${i} ${k}\n`;
  });
  return out;
}

/**
 * Dovecot's dovecot-uidlist (version 3): a header line, then "<uid> [<ext>...] :<base name>".
 * Returns base name → UID, which orders a folder's messages as the server numbered them.
 */
export function parseUidlist(text: string): Map<string, number> {
  const map = new Map<string, number>();
  const lines = text.split("\n");
  for (const line of lines.slice(1)) {
    const m = /^(\d+)\b.*? :(.+)$/.exec(line);
    if (m) map.set(m[2]!, Number(m[1]));
  }
  return map;
}

/**
 * Decodes one folder-name segment as found on disk: Dovecot's "\xx" hex escapes (what our
 * writer uses for a "." inside a Maildir++ segment), then modified UTF-7 when the name is
 * valid modified UTF-7; otherwise the name is kept as it is (UTF-8 names, as Dovecot's UTF8
 * option writes them).
 */
export function decodeFolderSegment(seg: string): string {
  const unescaped = seg.replace(/\\([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  try {
    return decodeMailboxName(unescaped);
  } catch {
    return unescaped;
  }
}

/** Encodes one segment for the disk: modified UTF-7, with "\" and (Maildir++) "." hex-escaped. */
export function encodeFolderSegment(seg: string, layout: "maildir++" | "nested"): string {
  let s = encodeMailboxName(seg).replace(/\\/g, "\\5c");
  if (layout === "maildir++") s = s.replace(/\./g, "\\2e");
  else if (s.startsWith(".")) s = "\\2e" + s.slice(1); // a hidden directory would not be read back
  return s;
}

let sequence = 0;

/**
 * A unique name per the Maildir spec: "<seconds>.M<usec>P<pid>Q<n>.<host>", the host with "/"
 * and ":" written as "\057" and "\072". Microseconds are zero-padded so names sort in
 * writing order within a second.
 */
export function uniqueMaildirName(host: string, nowMs: number, pid: number = process.pid): string {
  sequence++;
  const sec = Math.floor(nowMs / 1000);
  const usec = String(Math.floor((nowMs % 1000) * 1000)).padStart(6, "0");
  const h = host.replace(/\//g, "\\057").replace(/:/g, "\\072");
  return `${sec}.M${usec}P${pid}Q${sequence}.${h}`;
}

/**
 * Delivery order when there is no uidlist: names compared with their digit runs as numbers,
 * so "<seconds>.M<usec>P<pid>Q<n>" sorts by time, then microseconds, then sequence number.
 */
export function compareMaildirNames(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    }
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}
