// HTML reduced to plain text for previews (RFC 8970 §3) and the full-text index: tags,
// comments, scripts and styles removed, block elements become line breaks, character
// references decoded (HTML Living Standard §13.5). One linear pass, no DOM.

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  sbquo: "‚",
  bdquo: "„",
  laquo: "«",
  raquo: "»",
  bull: "•",
  middot: "·",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  sect: "§",
  para: "¶",
  deg: "°",
  plusmn: "±",
  times: "×",
  divide: "÷",
  frac12: "½",
  frac14: "¼",
  frac34: "¾",
  sup2: "²",
  sup3: "³",
  iexcl: "¡",
  iquest: "¿",
  shy: "\u00ad",
  zwnj: "\u200c",
  zwj: "\u200d",
  ensp: "\u2002",
  emsp: "\u2003",
  thinsp: "\u2009",
  dagger: "†",
  Dagger: "‡",
  permil: "‰",
  prime: "′",
  larr: "←",
  rarr: "→",
  uarr: "↑",
  darr: "↓",
  harr: "↔",
  hearts: "♥",
  check: "✓",
  auml: "ä",
  ouml: "ö",
  uuml: "ü",
  Auml: "Ä",
  Ouml: "Ö",
  Uuml: "Ü",
  szlig: "ß",
  aacute: "á",
  eacute: "é",
  iacute: "í",
  oacute: "ó",
  uacute: "ú",
  Aacute: "Á",
  Eacute: "É",
  Iacute: "Í",
  Oacute: "Ó",
  Uacute: "Ú",
  agrave: "à",
  egrave: "è",
  igrave: "ì",
  ograve: "ò",
  ugrave: "ù",
  Agrave: "À",
  Egrave: "È",
  acirc: "â",
  ecirc: "ê",
  icirc: "î",
  ocirc: "ô",
  ucirc: "û",
  ccedil: "ç",
  Ccedil: "Ç",
  ntilde: "ñ",
  Ntilde: "Ñ",
  aring: "å",
  Aring: "Å",
  aelig: "æ",
  AElig: "Æ",
  oslash: "ø",
  Oslash: "Ø",
  euml: "ë",
  iuml: "ï",
  yuml: "ÿ",
  atilde: "ã",
  otilde: "õ",
};

const BLOCK = new Set([
  "p",
  "div",
  "br",
  "li",
  "tr",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "table",
  "ul",
  "ol",
  "blockquote",
  "pre",
  "hr",
  "section",
  "article",
  "header",
  "footer",
  "dd",
  "dt",
  "dl",
  "address",
  "form",
  "fieldset",
  "title",
]);
// elements whose content is not text
const SKIP = new Set(["script", "style", "head", "template", "noscript", "svg", "object"]);

/** Decodes HTML character references in `s` (named, decimal and hex). */
export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});?/g, (m, ref: string) => {
    if (ref.startsWith("#")) {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(cp);
    }
    return ENTITIES[ref] ?? m;
  });
}

function isNameChar(c: number, first: boolean): boolean {
  const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
  return first ? letter : letter || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x3a;
}

function nextIndex(s: string, ch: string, from: number): number {
  const i = s.indexOf(ch, from);
  return i < 0 ? s.length : i;
}

/** Reduces HTML to text. Bounded: linear in the input. */
export function htmlToText(html: string): string {
  const parts: string[] = [];
  let i = 0;
  const n = html.length;
  let skipUntil: string | null = null; // closing tag name while inside script/style/...
  // next double and single quote at or after some position (searched once each, linear)
  let dq = -1;
  let sq = -1;
  let gt = -1;
  while (i < n) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      if (skipUntil === null) parts.push(html.slice(i));
      break;
    }
    if (skipUntil === null && lt > i) parts.push(html.slice(i, lt));
    // comment, CDATA, doctype
    if (html.startsWith("<!--", lt)) {
      const e = html.indexOf("-->", lt + 4);
      i = e < 0 ? n : e + 3;
      continue;
    }
    if (html[lt + 1] === "!" || html[lt + 1] === "?") {
      const e = html.indexOf(">", lt + 2);
      i = e < 0 ? n : e + 1;
      continue;
    }
    const closing = html.charCodeAt(lt + 1) === 0x2f;
    const nameStart = lt + (closing ? 2 : 1);
    let k = nameStart;
    while (k < n && k - nameStart < 41 && isNameChar(html.charCodeAt(k), k === nameStart)) k++;
    if (k === nameStart) {
      if (skipUntil === null) parts.push("<");
      i = lt + 1;
      continue;
    }
    const name = html.slice(nameStart, k).toLowerCase();
    // the tag ends at the next ">" outside quoted attribute values; the next ">", '"' and
    // "'" positions are cached and only move forward, so the scan stays linear
    let j = n;
    let pos = k;
    for (;;) {
      if (gt < pos) gt = nextIndex(html, ">", pos);
      if (dq < pos) dq = nextIndex(html, '"', pos);
      if (sq < pos) sq = nextIndex(html, "'", pos);
      const q = dq < sq ? dq : sq;
      if (gt <= q) {
        j = gt;
        break;
      }
      const close = html.indexOf(q === dq ? '"' : "'", q + 1);
      if (close < 0) break;
      pos = close + 1;
    }
    i = j + 1;
    if (skipUntil !== null) {
      if (closing && name === skipUntil) skipUntil = null;
      continue;
    }
    if (!closing && SKIP.has(name) && html[j - 1] !== "/") {
      skipUntil = name;
      continue;
    }
    if (BLOCK.has(name)) parts.push("\n");
    else if (name === "td" || name === "th") parts.push("\t");
    else if (name === "img" && !closing) {
      const alt = /\balt\s*=\s*(?:"([^"]*)"|'([^']*)')/i.exec(html.slice(lt, Math.min(j, lt + 2000)));
      const text = alt?.[1] ?? alt?.[2];
      if (text) parts.push(" " + text + " ");
    }
  }
  return decodeEntities(parts.join(""))
    .replace(/[ \t\u00a0]+/g, " ")
    .replace(/ ?\n[ \n]*/g, "\n")
    .trim();
}
