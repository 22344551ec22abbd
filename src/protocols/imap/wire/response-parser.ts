// The client side of the wire: a server's responses parsed back (RFC 9051 §7, grammar §9
// "response"), for our own wire-level test client and for round-trip tests of the
// serializer. Use CommandReader with side "client" to split the byte stream, then
// parseResponse() on each unit. Values are generic: atoms, numbers, strings, literals,
// NIL and lists; callers read FETCH, LIST, STATUS... from them.
import { ArgReader, ParseError } from "./args.ts";
import type { RawCommand } from "./reader.ts";
import type { ResponseCode } from "./serializer.ts";

/** A value in a response: atom, number, string, literal bytes, NIL (null) or a list. */
export type ResponseValue = { atom: string } | number | string | Buffer | null | ResponseValue[];

export type Response =
  /** "+ text" (RFC 9051 §7.5). */
  | { kind: "continuation"; text: string }
  /** A status response: tagged, or untagged (tag null) OK/NO/BAD/BYE/PREAUTH. */
  | {
      kind: "status";
      tag: string | null;
      status: "OK" | "NO" | "BAD" | "BYE" | "PREAUTH";
      code: ResponseCode | null;
      text: string;
    }
  /** Untagged data: "* 5 FETCH (...)" has number 5, name FETCH; "* CAPABILITY ..." number null. */
  | { kind: "data"; number: number | null; name: string; values: ResponseValue[] };

const STATUS = ["OK", "NO", "BAD", "BYE", "PREAUTH"];

function value(r: ArgReader, depth: number): ResponseValue {
  if (depth > 100) r.fail("Response nested too deeply");
  if (r.tryChar("(")) {
    const items: ResponseValue[] = [];
    if (r.tryChar(")")) return items;
    for (;;) {
      items.push(value(r, depth + 1));
      if (r.tryChar(")")) return items;
      // address lists and multipart bodies put items back to back without SP
      if (r.peek() !== 0x28) r.sp();
    }
  }
  if (r.atLiteral()) return r.literal().data;
  if (r.peek() === 0x22) return r.string();
  if (r.peek() === 0x5c) {
    r.tryChar("\\");
    return { atom: "\\" + (r.tryChar("*") ? "*" : r.atom("a flag")) };
  }
  const a = r.sectionAtom("a value");
  if (/^[0-9]{1,15}$/.test(a)) return Number(a);
  if (a.toUpperCase() === "NIL") return null;
  return { atom: a };
}

/** resp-text = ["[" resp-text-code "]" SP] [text] */
function respText(r: ArgReader): { code: ResponseCode | null; text: string } {
  let code: ResponseCode | null = null;
  if (r.tryChar("[")) {
    const text = r.rest();
    const close = text.indexOf("]");
    if (close < 0) r.fail("Unterminated response code");
    const inner = text.slice(0, close);
    const sp = inner.indexOf(" ");
    code =
      sp < 0
        ? { code: inner.toUpperCase() }
        : { code: inner.slice(0, sp).toUpperCase(), args: inner.slice(sp + 1) };
    return { code, text: text.slice(close + 1).replace(/^ /, "") };
  }
  return { code, text: r.rest() };
}

/** Parses one response unit from CommandReader({ side: "client" }). Never throws. */
export function parseResponse(raw: RawCommand): Response | ParseError {
  const r = new ArgReader(raw, { maxDepth: 100 });
  try {
    const tag = raw.tag;
    if (tag === null) return new ParseError("Response without a tag");
    r.skip(tag.length);
    if (tag === "+") {
      r.trySp();
      return { kind: "continuation", text: r.rest() };
    }
    r.sp();
    let number: number | null = null;
    if (tag === "*" && r.peek() >= 0x30 && r.peek() <= 0x39) {
      number = r.number();
      r.sp();
    }
    const name = r.keyword("a response name");
    if (STATUS.includes(name) && number === null) {
      if (!r.trySp())
        return { kind: "status", tag: tag === "*" ? null : tag, status: name as "OK", code: null, text: "" };
      return { kind: "status", tag: tag === "*" ? null : tag, status: name as "OK", ...respText(r) };
    }
    if (tag !== "*") return new ParseError(`Tagged response with ${name}`);
    const values: ResponseValue[] = [];
    while (r.trySp()) values.push(value(r, 0));
    r.end();
    return { kind: "data", number, name, values };
  } catch (e) {
    return e instanceof ParseError ? e : new ParseError(String(e));
  }
}

/** Finds an item's value in a FETCH response's list by name (case-insensitive). */
export function fetchItem(values: readonly ResponseValue[], name: string): ResponseValue | undefined {
  const list = values[0];
  if (!Array.isArray(list)) return undefined;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const k = list[i];
    if (k !== null && typeof k === "object" && "atom" in k && k.atom.toUpperCase() === name.toUpperCase())
      return list[i + 1];
  }
  return undefined;
}
