// RFC 5322 §3.3 date-time, with the obsolete forms of §4.3 (two- and three-digit years,
// alphabetic zones, comments and folding anywhere), and the IMAP date-time of RFC 9051 §9.

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

// RFC 5322 §4.3 obs-zone; military zones "SHOULD be considered equivalent to -0000"
const ZONES: Record<string, number> = {
  ut: 0,
  gmt: 0,
  utc: 0,
  z: 0,
  edt: -4 * 60,
  est: -5 * 60,
  cdt: -5 * 60,
  cst: -6 * 60,
  mdt: -6 * 60,
  mst: -7 * 60,
  pdt: -7 * 60,
  pst: -8 * 60,
};

/**
 * Parses an RFC 5322 date-time to ms since the epoch; null when it cannot be read. Tolerant:
 * day names, comments, missing seconds or zone (taken as UTC), "." time separators, and
 * ISO 8601 ("2024-01-02T03:04:05Z") as a last resort.
 */
export function parseDate(input: string | null | undefined): number | null {
  return parseDateTime(input)?.ms ?? null;
}

const DAY_MS = 86_400_000;

/**
 * The calendar day of an RFC 5322 date-time as written, in its own zone (RFC 9051 §6.4.4
 * SENTBEFORE/SENTON/SENTSINCE: "disregarding time and timezone"), as days since 1970-01-01;
 * null when it cannot be read.
 */
export function parseDateDay(input: string | null | undefined): number | null {
  return parseDateTime(input)?.day ?? null;
}

function parseDateTime(input: string | null | undefined): { ms: number; day: number } | null {
  if (input === null || input === undefined) return null;
  // drop comments (RFC 5322 §3.2.2), one level is plenty for dates
  // RFC 5322 §4.3 obs-time allows CFWS around the colons: "09 :  55 : 06"
  const s = input
    .slice(0, 400)
    .replace(/\([^()]*\)/g, " ")
    .replace(/[ \t\r\n]*:[ \t\r\n]*/g, ":")
    .trim()
    .toLowerCase();
  if (s.length === 0) return null;
  const toks = s.split(/[\s,]+/).filter((t) => t.length > 0);
  let day: number | null = null;
  let month: number | null = null;
  let year: number | null = null;
  let h = 0;
  let mi = 0;
  let sec = 0;
  let haveTime = false;
  let zone: number | null = null;
  for (const t0 of toks) {
    let t = t0;
    // "2-Jan-2024" (IMAP style) and "2/jan/2024"
    if (/^\d{1,2}[-/][a-z]{3}[-/]\d{2,4}$/.test(t)) {
      const [d, m, y] = t.split(/[-/]/);
      day = Number(d);
      month = MONTHS.indexOf((m ?? "").slice(0, 3));
      year = Number(y);
      continue;
    }
    const tm = /^(\d{1,2})[:.](\d{1,2})(?:[:.](\d{1,2}))?(?:\.\d+)?([+-]\d{4})?$/.exec(t);
    if (tm && !haveTime) {
      h = Number(tm[1]);
      mi = Number(tm[2]);
      sec = tm[3] !== undefined ? Number(tm[3]) : 0;
      haveTime = true;
      if (tm[4] !== undefined) t = tm[4];
      else continue;
    }
    if (/^[+-]\d{4}$/.test(t) && zone === null) {
      const sign = t[0] === "-" ? -1 : 1;
      const hh = Number(t.slice(1, 3));
      const mm = Number(t.slice(3, 5));
      if (mm < 60) zone = sign * (hh * 60 + mm);
      continue;
    }
    if (/^[+-]\d{1,2}$/.test(t) && zone === null && haveTime) {
      zone = Number(t) * 60;
      continue;
    }
    const mIdx = MONTHS.indexOf(t.slice(0, 3));
    if (/^[a-z]+\.?$/.test(t)) {
      if (mIdx >= 0 && month === null && !DAY_NAMES.some((d) => t.startsWith(d.toLowerCase()))) {
        month = mIdx;
      } else if (haveTime && zone === null) {
        const z = ZONES[t];
        // RFC 5322 §4.3: military and unknown zones are -0000 (no information)
        zone = z ?? 0;
      }
      continue;
    }
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (day === null && t.length <= 2 && n >= 1 && n <= 31 && (year === null || month !== null)) day = n;
      else if (year === null) year = n;
      continue;
    }
  }
  if (day === null || month === null || month < 0 || year === null || !Number.isFinite(year)) {
    const iso = /^\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?$/.test(s)
      ? Date.parse(s.toUpperCase())
      : NaN;
    // ISO 8601: the UTC day (its zone is rarely anything else)
    return Number.isFinite(iso) ? { ms: iso, day: Math.floor(iso / DAY_MS) } : null;
  }
  // RFC 5322 §4.3: two-digit years below 50 are 20xx, others 19xx; three-digit years add 1900
  if (year < 50 && String(year).length <= 2) year += 2000;
  else if (year < 100) year += 1900;
  else if (year < 1000) year += 1900;
  if (h > 23 || mi > 59 || sec > 60 || day > 31 || year > 9999) return null;
  const ms = Date.UTC(year, month, day, h, mi, Math.min(sec, 59)) - (zone ?? 0) * 60_000;
  return Number.isFinite(ms) ? { ms, day: Math.floor(Date.UTC(year, month, day) / DAY_MS) } : null;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function zoneString(tzOffsetMinutes: number): string {
  const sign = tzOffsetMinutes < 0 ? "-" : "+";
  const a = Math.abs(Math.trunc(tzOffsetMinutes));
  return sign + pad2(Math.floor(a / 60)) + pad2(a % 60);
}

function shifted(ms: number, tzOffsetMinutes: number): Date {
  return new Date(ms + Math.trunc(tzOffsetMinutes) * 60_000);
}

/**
 * IMAP date-time (RFC 9051 §9 date-time, without the quotes): "dd-Mon-yyyy hh:mm:ss +zzzz",
 * the day as 2DIGIT. `tzOffsetMinutes` is the zone to show (east of UTC positive), default 0.
 */
export function formatImapDate(ms: number, tzOffsetMinutes = 0): string {
  const d = shifted(ms, tzOffsetMinutes);
  return (
    `${pad2(d.getUTCDate())}-${MONTH_NAMES[d.getUTCMonth()] ?? "Jan"}-${String(d.getUTCFullYear()).padStart(4, "0")} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${zoneString(tzOffsetMinutes)}`
  );
}

/** IMAP date (RFC 9051 §9 date-text, as in SEARCH SINCE): "d-Mon-yyyy". */
export function formatImapDay(ms: number, tzOffsetMinutes = 0): string {
  const d = shifted(ms, tzOffsetMinutes);
  return `${d.getUTCDate()}-${MONTH_NAMES[d.getUTCMonth()] ?? "Jan"}-${d.getUTCFullYear()}`;
}

/** RFC 5322 §3.3 date-time: "Tue, 02 Jan 2024 03:04:05 +0000", for Date and Received headers. */
export function formatRfc5322Date(ms: number, tzOffsetMinutes = 0): string {
  const d = shifted(ms, tzOffsetMinutes);
  return (
    `${DAY_NAMES[d.getUTCDay()] ?? "Sun"}, ${pad2(d.getUTCDate())} ${MONTH_NAMES[d.getUTCMonth()] ?? "Jan"} ${d.getUTCFullYear()} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${zoneString(tzOffsetMinutes)}`
  );
}

/**
 * Parses an IMAP date-time as clients send it in APPEND (RFC 9051 §6.3.12), "dd-Mon-yyyy
 * hh:mm:ss +zzzz" with the day space- or zero-padded; null when malformed.
 */
export function parseImapDateTime(s: string): number | null {
  return parseImapDateTimeZone(s)?.ms ?? null;
}

/** An IMAP date-time with its zone (minutes east of UTC); null when malformed. */
export function parseImapDateTimeZone(s: string): { ms: number; tz: number } | null {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const month = MONTHS.indexOf((m[2] ?? "").toLowerCase());
  const [day, year, h, mi, sec, zh, zm] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 0 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 || zm > 59) return null;
  const zone = (m[7] === "-" ? -1 : 1) * (zh * 60 + zm);
  return { ms: Date.UTC(year, month, day, h, mi, Math.min(sec, 59)) - zone * 60_000, tz: zone };
}
