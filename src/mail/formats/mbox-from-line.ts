// The mbox "From " separator line: "From <envelope-sender> <date>", the date in C asctime()
// form ("Mon Jan  1 00:00:00 2024"). The format has no formal standard; RFC 4155 (the
// application/mbox registration) describes it and its variants. Writers disagree on the date,
// so the parser accepts asctime with or without seconds and with a zone before or after the
// year, the RFC 5322 §3.3 form ("Mon, 1 Jan 2024 00:00:00 +0000") and ISO 8601.

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const WEEKDAY = /^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?$/i;

/** Zone names seen in old From lines, in minutes east of UTC; unknown names count as UTC. */
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  wet: 0,
  bst: 60,
  cet: 60,
  met: 60,
  cest: 120,
  mest: 120,
  eet: 120,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

export interface FromLine {
  /** The envelope sender as written; null when absent or "-" (Thunderbird writes "From - date"). */
  sender: string | null;
  /** The date as ms since the epoch; null when the line has none we can read. */
  date: number | null;
}

function zoneMinutes(z: string | undefined): number {
  if (!z) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(z);
  if (m) return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return ZONES[z.toLowerCase()] ?? 0;
}

function fullYear(y: string): number {
  const n = Number(y);
  if (y.length > 2) return n;
  return n < 50 ? 2000 + n : 1900 + n; // RFC 5322 §4.3 obsolete two-digit years
}

function build(
  y: number,
  mon: string,
  d: string,
  h: string,
  mi: string,
  s: string | undefined,
  zone: string | undefined,
): number | null {
  const month = MONTHS.indexOf(mon.slice(0, 3).toLowerCase());
  const day = Number(d);
  const hour = Number(h);
  const min = Number(mi);
  const sec = s === undefined ? 0 : Number(s);
  if (month < 0 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return null;
  const t = Date.UTC(y, month, day, hour, min, Math.min(sec, 59)) - zoneMinutes(zone) * 60_000;
  return Number.isFinite(t) ? t : null;
}

const ZONE = "([a-z]{1,5}|[+-]\\d{2}:?\\d{2})";
// asctime: [Www] Mmm dd hh:mm[:ss] [zone] yyyy [zone]
const ASCTIME = new RegExp(
  `^(?:[a-z]{3}[a-z]*,?\\s+)?([a-z]{3})[a-z]*\\s+(\\d{1,2})\\s+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?(?:\\s+${ZONE})?\\s+(\\d{4}|\\d{2})(?:\\s+${ZONE})?(?=\\s|$)`,
  "i",
);
// RFC 5322 §3.3: [Www,] dd Mmm yyyy hh:mm[:ss] [zone]
const RFC5322 = new RegExp(
  `^(?:[a-z]{3}[a-z]*,?\\s*)?(\\d{1,2})\\s+([a-z]{3})[a-z]*\\s+(\\d{4}|\\d{2})\\s+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?(?:\\s+${ZONE})?(?=\\s|$)`,
  "i",
);
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?(?=\s|$)/i;

/** Parses the date part of a From line (what follows the sender); null when unreadable. */
export function parseFromDate(text: string): number | null {
  const s = text.trim();
  let m = ASCTIME.exec(s);
  if (m) return build(fullYear(m[7]!), m[1]!, m[2]!, m[3]!, m[4]!, m[5], m[6] ?? m[8]);
  m = RFC5322.exec(s);
  if (m) return build(fullYear(m[3]!), m[2]!, m[1]!, m[4]!, m[5]!, m[6], m[7]);
  m = ISO.exec(s);
  if (m) {
    const mon = MONTHS[Number(m[2]) - 1];
    return mon === undefined ? null : build(Number(m[1]), mon, m[3]!, m[4]!, m[5]!, m[6], m[7]);
  }
  return null;
}

/** Splits the sender token off: a quoted local part may hold spaces ("a b"@example.org). */
function splitSender(rest: string): [string, string] {
  let i = 0;
  if (rest.startsWith('"')) {
    i = 1;
    while (i < rest.length && rest[i] !== '"') i += rest[i] === "\\" ? 2 : 1;
    i++;
  }
  while (i < rest.length && rest[i] !== " " && rest[i] !== "\t") i++;
  return [rest.slice(0, i), rest.slice(i)];
}

/**
 * Parses a "From " line (without its line ending). Returns null when the line is not a
 * separator: a From line must carry a readable date, which tells it apart from a body line
 * "From here on..." left unquoted by an mboxo writer. With `lenient` (the first line of a
 * file), a From line without a readable date is accepted too.
 */
export function parseFromLine(line: string, lenient = false): FromLine | null {
  if (!line.startsWith("From ")) return null;
  const rest = line
    .slice(5)
    .replace(/\r$/, "")
    .replace(/^[ \t]+/, "");
  const split = splitSender(rest);
  let sender = split[0];
  let date = parseFromDate(split[1]);
  if (WEEKDAY.test(sender)) {
    // "From Mon Jan  1 00:00:00 2024": no sender at all
    const whole = parseFromDate(rest);
    if (whole !== null) [sender, date] = ["", whole];
  }
  if (date === null && !lenient) return null;
  return { sender: sender === "" || sender === "-" ? null : sender, date };
}

/** C asctime() form of a time, in UTC: "Mon Jan  1 00:00:00 2024" (day padded with a space). */
export function formatAsctime(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  return (
    `${DAY_NAMES[d.getUTCDay()]} ${MONTH_NAMES[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}

/**
 * The From line for a message, without line ending. A null or empty sender is written as
 * MAILER-DAEMON (what Dovecot, Postfix and mutt write for an unknown or null reverse path);
 * whitespace and control characters outside quotes become "_" so the line stays parseable.
 */
export function formatFromLine(
  sender: string | null | undefined,
  date: number | null | undefined,
  now: number = Date.now(),
): string {
  let s = sender === null || sender === undefined || sender === "" ? "MAILER-DAEMON" : sender;
  // keep a quoted local part's spaces (the reader reads it back), replace the rest
  const [token] = splitSender(s);
  s = token === s ? s.replace(/[\x00-\x1f\x7f]/g, "_") : s.replace(/[\s\x00-\x1f\x7f]/g, "_");
  let t = date ?? now;
  const year = new Date(t).getUTCFullYear();
  if (!Number.isFinite(t) || year < 1000 || year > 9999) t = now;
  return `From ${s} ${formatAsctime(t)}`;
}
