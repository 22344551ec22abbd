// Authentication-Results (RFC 8601): parsing (to find and remove the fields that claim our
// authserv-id, §5) and composing ours (§2.2).
//
//   authres-header = "Authentication-Results:" [CFWS] authserv-id
//                    [ CFWS authres-version ] ( no-result / 1*resinfo ) [CFWS] CRLF
//   resinfo        = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//   methodspec     = [CFWS] method [CFWS] "=" [CFWS] result
//   propspec       = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//
// The parser has limits (length, comment nesting, number of results) and never throws.

export const MAX_AR_LENGTH = 16 * 1024;
export const MAX_COMMENT_DEPTH = 8;
export const MAX_RESULTS = 64;

export interface AuthResultEntry {
  method: string;
  result: string;
  reason?: string;
  /** "ptype.property" => value, e.g. "smtp.mailfrom" => "a@example.com". */
  props: Record<string, string>;
}

export interface ParsedAuthResults {
  /** Lower-cased authserv-id. */
  authservId: string;
  version?: number;
  results: AuthResultEntry[];
}

type Token = { t: "word"; v: string } | { t: "str"; v: string } | { t: "sep"; v: string };

/** Tokens of an AR value with comments and white space dropped; null past the limits. */
function tokenize(value: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    const c = value[i] as string;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === "(") {
      // RFC 5322 §3.2.2 comment: nested, with quoted-pairs.
      let depth = 0;
      for (; i < n; i++) {
        const d = value[i];
        if (d === "\\") i++;
        else if (d === "(") {
          if (++depth > MAX_COMMENT_DEPTH) return null;
        } else if (d === ")" && --depth === 0) break;
      }
      if (depth !== 0) return null;
      i++;
    } else if (c === '"') {
      let s = "";
      i++;
      for (; i < n && value[i] !== '"'; i++) {
        if (value[i] === "\\") i++;
        s += value[i] ?? "";
      }
      if (i >= n) return null;
      i++;
      out.push({ t: "str", v: s });
    } else if (c === ";" || c === "=" || c === ".") {
      out.push({ t: "sep", v: c });
      i++;
    } else {
      // A token, or a value such as an address or domain: up to a delimiter. "." stays in a
      // value (props are split on the first "." of the ptype below).
      let s = "";
      while (i < n && !' \t\r\n();="'.includes(value[i] as string)) s += value[i++];
      out.push({ t: "word", v: s });
    }
    if (out.length > MAX_RESULTS * 16) return null;
  }
  return out;
}

/** Parses an Authentication-Results field value; null when it is not one. */
export function parseAuthResults(value: string): ParsedAuthResults | null {
  if (value.length > MAX_AR_LENGTH) return null;
  const toks = tokenize(value);
  if (toks === null) return null;
  let k = 0;
  const first = toks[k++];
  if (first === undefined || first.t === "sep") return null;
  // authserv-id = value (token or quoted-string); a token may hold dots (a host name).
  let id = first.v;
  while (toks[k]?.t === "sep" && toks[k]?.v === "." && toks[k + 1]?.t === "word") {
    id += `.${toks[k + 1]?.v ?? ""}`;
    k += 2;
  }
  const out: ParsedAuthResults = { authservId: id.toLowerCase(), results: [] };
  const ver = toks[k];
  if (ver?.t === "word" && /^\d{1,5}$/.test(ver.v)) {
    out.version = Number(ver.v);
    k++;
  }
  while (k < toks.length) {
    const semi = toks[k++];
    if (semi?.t !== "sep" || semi.v !== ";") return null;
    const method = toks[k];
    if (method === undefined) break; // a trailing ";"
    if (method.t !== "word") return null;
    k++;
    if (toks[k]?.v !== "=") {
      // no-result: "none" alone (§2.2).
      if (method.v.toLowerCase() === "none" && out.results.length === 0) continue;
      return null;
    }
    k++;
    const result = toks[k++];
    if (result === undefined || result.t !== "word") return null;
    const entry: AuthResultEntry = {
      method: method.v.toLowerCase(),
      result: result.v.toLowerCase(),
      props: {},
    };
    // method may carry a version: "dkim/1" is one word.
    while (k < toks.length && !(toks[k]?.t === "sep" && toks[k]?.v === ";")) {
      const name = toks[k++];
      if (name === undefined || name.t !== "word") return null;
      if (name.v.toLowerCase() === "reason" && toks[k]?.v === "=") {
        const v = toks[k + 1];
        if (v === undefined || v.t === "sep") return null;
        entry.reason = v.v;
        k += 2;
        continue;
      }
      // propspec: ptype "." property "=" pvalue (words keep their dots: "smtp.mailfrom").
      let prop: string;
      const dot = name.v.indexOf(".");
      if (dot > 0 && dot < name.v.length - 1) {
        prop = name.v.toLowerCase();
      } else if (toks[k]?.v === "." && toks[k + 1]?.t === "word") {
        prop = `${name.v.toLowerCase()}.${(toks[k + 1] as Token).v.toLowerCase()}`;
        k += 2;
      } else return null;
      if (toks[k]?.v !== "=") return null;
      k++;
      // pvalue: a value, an addr-spec, a domain (a leading "." joins a split value).
      const v0 = toks[k];
      if (v0 === undefined || (v0.t === "sep" && v0.v !== ".")) return null;
      let pv = v0.v;
      k++;
      if (v0.t === "sep" && toks[k]?.t === "word") pv += (toks[k++] as Token).v;
      while (toks[k]?.t === "sep" && toks[k]?.v === "." && toks[k + 1]?.t === "word") {
        pv += `.${(toks[k + 1] as Token).v}`;
        k += 2;
      }
      entry.props[prop] = pv;
    }
    out.results.push(entry);
    if (out.results.length > MAX_RESULTS) return null;
  }
  return out;
}

/**
 * RFC 8601 §5: removes every Authentication-Results field of the header section whose
 * authserv-id is ours (case-insensitive): such a field on arrival is forged or stale, "to
 * prevent spoofing". Fields that do not parse are kept (they cannot claim our id... unless
 * they start with it: those go too). Returns the message unchanged when there is none.
 */
export function removeOurAuthResults(message: Buffer, authservId: string): Buffer {
  const ours = authservId.toLowerCase();
  const headEnd = message.indexOf("\r\n\r\n");
  const head = message.subarray(0, headEnd < 0 ? message.length : headEnd + 2).toString("latin1");
  if (!/(^|\r\n)authentication-results[ \t]*:/i.test(head)) return message;
  const fields = head.split(/\r\n(?![ \t])/);
  const keep: string[] = [];
  let removed = false;
  for (const f of fields) {
    const m = /^authentication-results[ \t]*:([\s\S]*)$/i.exec(f);
    if (m !== null) {
      const value = m[1] ?? "";
      const parsed = parseAuthResults(value);
      const id = parsed?.authservId ?? /^[ \t\r\n]*([^ \t\r\n;()]+)/.exec(value)?.[1]?.toLowerCase();
      if (id === ours) {
        removed = true;
        continue;
      }
    }
    keep.push(f);
  }
  if (!removed) return message;
  const rest = headEnd < 0 ? Buffer.alloc(0) : message.subarray(headEnd + 2);
  const newHead = keep.join("\r\n");
  return Buffer.concat([
    Buffer.from(newHead.endsWith("\r\n") || newHead === "" ? newHead : `${newHead}\r\n`, "latin1"),
    rest,
  ]);
}

/** RFC 8601 §2.2 / RFC 5322 §3.2.5: a value as a token, or a quoted-string when it is not one. */
export function arValue(v: string): string {
  // RFC 2045 token (no tspecials), or [local-part] "@" domain (RFC 8601 pvalue).
  if (/^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]*@?[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/.test(v)) return v;
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, " ")}"`;
}

/** A comment (RFC 5322 §3.2.2) with the characters that would end it escaped. */
export function arComment(text: string): string {
  return `(${text
    .replace(/[\\()]/g, (c) => `\\${c}`)
    .replace(/[\r\n]+/g, " ")
    .slice(0, 200)})`;
}

/**
 * Our Authentication-Results field, CRLF-ended: the authserv-id and one resinfo per line
 * (each already "method=result [reason] props"), or "none" when there is nothing (§2.2).
 */
export function formatAuthResults(authservId: string, resinfos: readonly string[]): string {
  const body = resinfos.length === 0 ? "; none" : resinfos.map((r) => `;\r\n\t${r}`).join("");
  return `Authentication-Results: ${arValue(authservId)}${body}\r\n`;
}
