// ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2 esmtp-param), typed and validated per
// extension. Parameter names are case-insensitive; each may appear once.

import type { Reply } from "./replies.ts";
import { reply } from "./replies.ts";
import { decodeUtf8AddrUnitext, decodeUtf8AddrXtext, decodeXtext } from "./xtext.ts";

export type BodyType = "7BIT" | "8BITMIME" | "BINARYMIME";
export type NotifyCondition = "SUCCESS" | "FAILURE" | "DELAY";

/** RFC 2852 §4 DELIVERBY: BY=by-time;by-mode[by-trace]. */
export interface DeliverBy {
  /** Seconds (may be zero or negative in mode N). */
  time: number;
  /** R: return the message when the deadline passes; N: notify. */
  mode: "R" | "N";
  /** by-trace "T": ask for delay/success DSNs along the way. */
  trace: boolean;
}

/** RFC 3461 §4.2 ORCPT: original recipient. */
export interface OriginalRecipient {
  /** addr-type as written ("rfc822", "utf-8"); compare case-insensitively. */
  addrType: string;
  /** The decoded address (xtext, or RFC 6533 utf-8-addr-xtext/unitext for "utf-8"). */
  address: string;
}

export interface MailParams {
  /** RFC 1870 SIZE: declared message size in octets. */
  size?: number;
  /** RFC 6152 / RFC 3030 BODY. */
  body?: BodyType;
  /** RFC 6531 SMTPUTF8. */
  smtputf8?: true;
  /** RFC 3461 §4.3 RET. */
  ret?: "FULL" | "HDRS";
  /** RFC 3461 §4.4 ENVID, xtext-decoded. */
  envid?: string;
  /** RFC 4954 §5 AUTH=: the xtext-decoded mailbox, or null for AUTH=<>. */
  auth?: string | null;
  /** RFC 4865 HOLDFOR: seconds to hold the message. */
  holdFor?: number;
  /** RFC 4865 HOLDUNTIL: release time. */
  holdUntil?: Date;
  /** RFC 6710 MT-PRIORITY: -9..9. */
  mtPriority?: number;
  /** RFC 8689 REQUIRETLS. */
  requireTls?: true;
  /** RFC 2852 BY. */
  by?: DeliverBy;
  /** RFC 3865 SOLICIT= keywords (the NO-SOLICITING extension). */
  solicit?: string[];
}

export interface RcptParams {
  /** RFC 3461 §4.1 NOTIFY. */
  notify?: "NEVER" | NotifyCondition[];
  /** RFC 3461 §4.2 ORCPT. */
  orcpt?: OriginalRecipient;
}

/** The parameter names this module knows, per command. */
export const MAIL_PARAMS = [
  "SIZE",
  "BODY",
  "SMTPUTF8",
  "RET",
  "ENVID",
  "AUTH",
  "HOLDFOR",
  "HOLDUNTIL",
  "MT-PRIORITY",
  "REQUIRETLS",
  "BY",
  "SOLICIT",
] as const;
export const RCPT_PARAMS = ["NOTIFY", "ORCPT"] as const;

/** One raw parameter as written: name upper-cased, value null when absent. */
export interface RawParam {
  name: string;
  value: string | null;
}

export type ParamsResult<T> = { ok: true; params: T; raw: RawParam[] } | { ok: false; reply: Reply };

export interface ParamOptions {
  /**
   * Parameter names the server accepts (advertised); others are 555. Default: all known. Holds
   * "BINARYMIME" too when BODY=BINARYMIME is accepted.
   */
  allowed?: ReadonlySet<string>;
  /** SMTPUTF8 advertised (RFC 6531). */
  smtputf8Allowed: boolean;
  /** The transaction uses SMTPUTF8: UTF-8 allowed in values (RFC 6531 §3.3 esmtp-value). */
  utf8: boolean;
}

const KEYWORD_RE = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * Splits "k=v k2" into raw parameters (RFC 5321 §4.1.2): esmtp-keyword = (ALPHA / DIGIT)
 * *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126), plus UTF8-non-ascii (RFC 6531).
 */
export function splitParams(text: string): RawParam[] | null {
  const out: RawParam[] = [];
  for (const tok of text.split(" ")) {
    if (tok === "") continue; // several spaces: be liberal
    const eq = tok.indexOf("=");
    const name = eq < 0 ? tok : tok.slice(0, eq);
    if (!KEYWORD_RE.test(name)) return null;
    let value: string | null = null;
    if (eq >= 0) {
      value = tok.slice(eq + 1);
      if (value.length === 0) return null;
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c < 33 || c === 61 || (c > 126 && c < 0x80)) return null;
      }
    }
    out.push({ name: name.toUpperCase(), value });
  }
  return out;
}

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return true;
  return false;
}

const bad = (text: string): { ok: false; reply: Reply } => ({
  ok: false,
  reply: reply("PARAM_SYNTAX", text),
});
const unknown = (name: string): { ok: false; reply: Reply } => ({
  ok: false,
  reply: reply("PARAM_NOT_RECOGNIZED", `Parameter ${name} not recognized`),
});

/** Common checks: duplicates refused, unknown or unadvertised names 555, UTF-8 only when allowed. */
function precheck(
  raw: RawParam[],
  known: readonly string[],
  opts: ParamOptions,
): { ok: false; reply: Reply } | null {
  const seen = new Set<string>();
  for (const p of raw) {
    if (!known.includes(p.name)) return unknown(p.name);
    if (opts.allowed && !opts.allowed.has(p.name)) return unknown(p.name);
    if (p.name === "SMTPUTF8" && !opts.smtputf8Allowed) return unknown(p.name);
    if (seen.has(p.name)) return bad(`Duplicate parameter ${p.name}`);
    seen.add(p.name);
    if (p.value !== null && hasNonAscii(p.value) && !opts.utf8)
      return bad(`Non-ASCII value of ${p.name} needs SMTPUTF8`);
  }
  return null;
}

// RFC 3339 §5.6 date-time.
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseDateTime(v: string): Date | null {
  const m = DATE_TIME_RE.exec(v);
  if (!m) return null;
  const [mo, d, h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const t = Date.parse(v.toUpperCase());
  return Number.isNaN(t) ? null : new Date(t);
}

// RFC 3865 §3: Solicitation-keywords = word *("," word); word = ALPHA *(wordchar);
// wordchar = "." / "-" / "_" / ":" / ALPHA / DIGIT; at most 1000 characters.
const SOLICIT_RE = /^[A-Za-z][A-Za-z0-9._:-]*(,[A-Za-z][A-Za-z0-9._:-]*)*$/;

/** Parses and validates MAIL FROM parameters. */
export function parseMailParams(raw: RawParam[], opts: ParamOptions): ParamsResult<MailParams> {
  const pre = precheck(raw, MAIL_PARAMS, opts);
  if (pre) return pre;
  const params: MailParams = {};
  for (const { name, value } of raw) {
    const noValue = name === "SMTPUTF8" || name === "REQUIRETLS";
    if (noValue && value !== null) return bad(`${name} takes no value`);
    if (!noValue && value === null) return bad(`${name} needs a value`);
    const v = value ?? "";
    switch (name) {
      case "SIZE":
        // RFC 1870 §4: size-value = 1*20DIGIT.
        if (!/^\d{1,20}$/.test(v)) return bad("Bad SIZE value");
        params.size = Number(v);
        break;
      case "BODY": {
        // RFC 6152 §2 and RFC 3030 §3.
        const b = v.toUpperCase();
        if (b !== "7BIT" && b !== "8BITMIME" && b !== "BINARYMIME") return bad("Bad BODY value");
        // RFC 3030 §3: BODY=BINARYMIME only when BINARYMIME is advertised.
        if (opts.allowed && b === "BINARYMIME" && !opts.allowed.has("BINARYMIME"))
          return bad("BINARYMIME not supported");
        params.body = b;
        break;
      }
      case "SMTPUTF8":
        params.smtputf8 = true;
        break;
      case "RET": {
        // RFC 3461 §4.3: ret-value = "FULL" / "HDRS".
        const r = v.toUpperCase();
        if (r !== "FULL" && r !== "HDRS") return bad("Bad RET value");
        params.ret = r;
        break;
      }
      case "ENVID": {
        // RFC 3461 §4.4: xtext, at most 100 characters.
        if (v.length > 100) return bad("ENVID too long");
        const d = decodeXtext(v);
        if (d === null) return bad("Bad ENVID value");
        params.envid = d;
        break;
      }
      case "AUTH": {
        // RFC 4954 §5: AUTH=<> or AUTH=xtext(mailbox).
        if (v === "<>") params.auth = null;
        else {
          const d = decodeXtext(v);
          if (d === null || d.length === 0) return bad("Bad AUTH value");
          params.auth = d;
        }
        break;
      }
      case "HOLDFOR":
        // RFC 4865 §5.1: holdfor-value = 1*9DIGIT (seconds).
        if (!/^\d{1,9}$/.test(v)) return bad("Bad HOLDFOR value");
        params.holdFor = Number(v);
        break;
      case "HOLDUNTIL": {
        // RFC 4865 §5.1: holduntil-value = date-time (RFC 3339).
        const d = parseDateTime(v);
        if (d === null) return bad("Bad HOLDUNTIL value");
        params.holdUntil = d;
        break;
      }
      case "MT-PRIORITY":
        // RFC 6710 §6: priority-value in -9..9.
        if (!/^[+-]?\d$/.test(v)) return bad("Bad MT-PRIORITY value");
        params.mtPriority = Number(v) === 0 ? 0 : Number(v);
        break;
      case "REQUIRETLS":
        params.requireTls = true;
        break;
      case "BY": {
        // RFC 2852 §4: by-value = by-time ";" by-mode [by-trace]; by-time = ["-" / "+"] 1*9DIGIT.
        const m = /^([+-]?\d{1,9});([NnRr])([Tt]?)$/.exec(v);
        if (!m) return bad("Bad BY value");
        const time = Number(m[1]);
        const mode = (m[2] ?? "N").toUpperCase() === "R" ? "R" : "N";
        // RFC 2852 §4: with by-mode R the by-time must be greater than zero.
        if (mode === "R" && time <= 0) return bad("BY time must be positive with mode R");
        params.by = { time: time === 0 ? 0 : time, mode, trace: m[3] !== "" };
        break;
      }
      case "SOLICIT":
        if (v.length > 1000 || !SOLICIT_RE.test(v)) return bad("Bad SOLICIT value");
        params.solicit = v.split(",");
        break;
    }
  }
  // RFC 4865 §5.1: HOLDFOR and HOLDUNTIL are exclusive.
  if (params.holdFor !== undefined && params.holdUntil !== undefined)
    return bad("HOLDFOR and HOLDUNTIL are exclusive");
  return { ok: true, params, raw };
}

/** Parses and validates RCPT TO parameters. */
export function parseRcptParams(raw: RawParam[], opts: ParamOptions): ParamsResult<RcptParams> {
  const pre = precheck(raw, RCPT_PARAMS, opts);
  if (pre) return pre;
  const params: RcptParams = {};
  for (const { name, value } of raw) {
    if (value === null) return bad(`${name} needs a value`);
    if (name === "NOTIFY") {
      // RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
      const items = value.toUpperCase().split(",");
      if (items.length === 1 && items[0] === "NEVER") params.notify = "NEVER";
      else {
        const list: NotifyCondition[] = [];
        for (const it of items) {
          if (it !== "SUCCESS" && it !== "FAILURE" && it !== "DELAY") return bad("Bad NOTIFY value");
          if (list.includes(it)) return bad("Bad NOTIFY value");
          list.push(it);
        }
        params.notify = list;
      }
    } else {
      // RFC 3461 §4.2: ORCPT=addr-type ";" xtext, at most 500 characters.
      if (value.length > 500) return bad("ORCPT too long");
      const semi = value.indexOf(";");
      if (semi <= 0) return bad("Bad ORCPT value");
      const addrType = value.slice(0, semi);
      const enc = value.slice(semi + 1);
      // addr-type = atom (RFC 5322 atext).
      if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/.test(addrType)) return bad("Bad ORCPT address type");
      let address: string | null;
      if (addrType.toLowerCase() === "utf-8") {
        // RFC 6533 §3: utf-8-addr-xtext, or utf-8-addr-unitext in an SMTPUTF8 transaction.
        address = opts.utf8 ? decodeUtf8AddrUnitext(enc) : decodeUtf8AddrXtext(enc);
      } else address = decodeXtext(enc);
      if (address === null || address.length === 0) return bad("Bad ORCPT value");
      params.orcpt = { addrType, address };
    }
  }
  return { ok: true, params, raw };
}

// ---------------------------------------------------------------------------------------------
// Client side: typed parameters back to their wire form.

/** MAIL parameters as written on the wire (xtext-encoding ENVID and AUTH). */
export function mailParamsToRaw(p: MailParams, encode: (s: string) => string): RawParam[] {
  const out: RawParam[] = [];
  if (p.size !== undefined) out.push({ name: "SIZE", value: String(p.size) });
  if (p.body !== undefined) out.push({ name: "BODY", value: p.body });
  if (p.smtputf8) out.push({ name: "SMTPUTF8", value: null });
  if (p.ret !== undefined) out.push({ name: "RET", value: p.ret });
  if (p.envid !== undefined) out.push({ name: "ENVID", value: encode(p.envid) });
  if (p.auth !== undefined) out.push({ name: "AUTH", value: p.auth === null ? "<>" : encode(p.auth) });
  if (p.holdFor !== undefined) out.push({ name: "HOLDFOR", value: String(p.holdFor) });
  if (p.holdUntil !== undefined) out.push({ name: "HOLDUNTIL", value: p.holdUntil.toISOString() });
  if (p.mtPriority !== undefined) out.push({ name: "MT-PRIORITY", value: String(p.mtPriority) });
  if (p.requireTls) out.push({ name: "REQUIRETLS", value: null });
  if (p.by !== undefined)
    out.push({ name: "BY", value: `${p.by.time};${p.by.mode}${p.by.trace ? "T" : ""}` });
  if (p.solicit !== undefined) out.push({ name: "SOLICIT", value: p.solicit.join(",") });
  return out;
}

/**
 * RCPT parameters as written on the wire. `encodeOrcpt` writes the ORCPT address: encodeXtext
 * for "rfc822", encodeUtf8AddrXtext or encodeUtf8AddrUnitext for "utf-8" (RFC 6533 §3).
 */
export function rcptParamsToRaw(p: RcptParams, encodeOrcpt: (o: OriginalRecipient) => string): RawParam[] {
  const out: RawParam[] = [];
  if (p.notify !== undefined)
    out.push({ name: "NOTIFY", value: p.notify === "NEVER" ? "NEVER" : p.notify.join(",") });
  if (p.orcpt !== undefined)
    out.push({ name: "ORCPT", value: `${p.orcpt.addrType};${encodeOrcpt(p.orcpt)}` });
  return out;
}
