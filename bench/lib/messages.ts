// Deterministic test messages for the store benchmarks: message i of seed s is always the
// same bytes. "quokka" appears in the body of ~1% of messages and ~4% come from an "olivia"
// sender (the same search targets as the protocol workloads), dates spread over 2023-2024.

const WORDS = (
  "the of and to in is you that it he was for on are as with his they at be this have from or one had by " +
  "word but not what all were we when your can said there use an each which she do how their if will up " +
  "other about out many then them these so some her would make like him into time has look two more write " +
  "meeting invoice project report budget schedule review quarterly update release deadline customer server " +
  "network contract agenda minutes draft approval shipment order payment account office team Grüße déjà"
).split(" ");
const FIRST = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
  "judy",
  "mallory",
  "niaj",
  "olivia",
  "peggy",
  "rupert",
  "sybil",
  "trent",
  "victor",
  "walter",
  "zoe",
];
const LAST = [
  "smith",
  "jones",
  "brown",
  "taylor",
  "wilson",
  "evans",
  "thomas",
  "roberts",
  "walker",
  "wright",
];
export const MARKER = "quokka";
const T0 = Date.UTC(2023, 0, 1);
const SPAN = Date.UTC(2025, 0, 1) - T0;

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function prose(r: () => number, bytes: number, marker: boolean): string {
  const lines: string[] = [];
  let len = 0;
  let line = "";
  let markAt = marker ? Math.floor(r() * bytes) : -1;
  while (len < bytes) {
    let w = pick(r, WORDS);
    if (markAt >= 0 && len + line.length >= markAt) {
      w = MARKER;
      markAt = -1;
    }
    if (line.length + w.length + 1 > 72) {
      lines.push(line);
      len += line.length + 2;
      line = "";
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join("\r\n");
}

export interface GeneratedMessage {
  raw: Buffer;
  date: number;
}

/** A message of about `size` bytes: text/plain under 4 KB, multipart/alternative above. */
export function message(i: number, opts: { seed?: number; size?: number } = {}): GeneratedMessage {
  const r = rng(((opts.seed ?? 1) * 1000003 + i) >>> 0);
  const size = opts.size ?? 20480;
  const f = pick(r, FIRST);
  const l = pick(r, LAST);
  const to = `${pick(r, FIRST)}@example.net`;
  const date = T0 + Math.floor(r() * SPAN);
  const marker = r() < 0.01;
  const subject = `${pick(r, WORDS)} ${pick(r, WORDS)} ${pick(r, WORDS)} #${i}`;
  const head =
    `From: "${f[0]!.toUpperCase()}${f.slice(1)} ${l}" <${f}.${l}@example.org>\r\n` +
    `To: ${to}\r\nSubject: ${subject}\r\nDate: ${new Date(date).toUTCString().replace("GMT", "+0000")}\r\n` +
    `Message-ID: <bench.${opts.seed ?? 1}.${i}@example.org>\r\nMIME-Version: 1.0\r\n`;
  let body: string;
  if (size < 4096) {
    body = `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${prose(r, size - 400, marker)}\r\n`;
  } else {
    const text = prose(r, Math.floor(size * 0.3), marker);
    const html = `<html><body><p>${prose(r, Math.floor(size * 0.6), false).replace(/\r\n/g, "</p>\r\n<p>")}</p></body></html>`;
    const b = `b${i}x${opts.seed ?? 1}`;
    body =
      `Content-Type: multipart/alternative; boundary="${b}"\r\n\r\n` +
      `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}\r\n` +
      `--${b}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}\r\n` +
      `--${b}--\r\n`;
  }
  return { raw: Buffer.from(head + body, "utf8"), date };
}
