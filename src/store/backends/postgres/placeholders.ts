// Rewrites the portable `?` placeholders of the SQL seam (src/store/sql.ts) to PostgreSQL's
// numbered `$1..$n`. A `?` inside a string literal, a quoted identifier, a dollar-quoted
// body or a comment is left alone, so DDL with function bodies passes through unchanged.

export interface Rewritten {
  text: string;
  /** Number of placeholders found. */
  count: number;
}

const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

export function rewritePlaceholders(sql: string): Rewritten {
  let out = "";
  let count = 0;
  let i = 0;
  let last = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "?") {
      count++;
      out += sql.slice(last, i) + "$" + count;
      i++;
      last = i;
    } else if (c === "'") {
      // A standard string ('' doubles a quote); E'...' strings also take backslash escapes.
      const escapes = i > 0 && (sql[i - 1] === "E" || sql[i - 1] === "e") && !isIdentChar(sql[i - 2]);
      i++;
      while (i < n) {
        const d = sql[i];
        if (escapes && d === "\\") i += 2;
        else if (d === "'") {
          if (sql[i + 1] === "'") i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "$" && !isIdentChar(sql[i - 1])) {
      const m = DOLLAR_TAG.exec(sql.slice(i, i + 64));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? n : end + m[0].length;
      } else i++;
    } else i++;
  }
  return { text: last === 0 ? sql : out + sql.slice(last), count };
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}

/** A bounded cache of rewritten statements (the store's SQL is a small fixed set). */
export class PlaceholderCache {
  readonly #map = new Map<string, Rewritten>();
  readonly #max: number;
  constructor(max = 2000) {
    this.#max = max;
  }
  get(sql: string): Rewritten {
    let r = this.#map.get(sql);
    if (!r) {
      r = rewritePlaceholders(sql);
      // Statements built from variable-length lists can be many; start over when full.
      if (this.#map.size >= this.#max) this.#map.clear();
      this.#map.set(sql, r);
    }
    return r;
  }
}
