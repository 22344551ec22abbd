// FETCH (RFC 9051 §6.4.5) with BINARY (RFC 3516 §4.2), CONDSTORE/QRESYNC modifiers and MODSEQ
// (RFC 7162 §3.1.4, §3.2.6), OBJECTID (RFC 8474 §4.1, §5.1), PREVIEW (RFC 8970 §3) and SAVEDATE
// (RFC 8514 §4.1):
//   fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
//           "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
//   fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
import type { ArgReader } from "../args.ts";
import type { SequenceSet } from "../sequence-set.ts";

/** RFC 9051 §9 section-msgtext / section-text. */
export type SectionText = "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";

/** BODY[section]: a part path ([] for the message) and what of it. */
export interface Section {
  part: number[];
  text: SectionText | null;
  /** Field names for HEADER.FIELDS(.NOT), as sent. */
  fields: string[];
}

/**
 * partial = "<" number "." nz-number ">". `length` is null for "<number>" alone, which RFC 9051
 * §9 does not have and Dovecot reads as "from there to the end"; so do we.
 */
export interface FetchPartial {
  offset: number;
  length: number | null;
}

export const SIMPLE_FETCH_ITEMS = [
  "ENVELOPE",
  "FLAGS",
  "INTERNALDATE",
  "RFC822",
  "RFC822.HEADER",
  "RFC822.SIZE",
  "RFC822.TEXT",
  "BODY",
  "BODYSTRUCTURE",
  "UID",
  "MODSEQ",
  "EMAILID",
  "THREADID",
  "SAVEDATE",
] as const;

export type SimpleFetchItem = (typeof SIMPLE_FETCH_ITEMS)[number];

export type FetchItem =
  | { kind: "simple"; name: SimpleFetchItem }
  /** BODY[section]<partial> and BODY.PEEK[...] */
  | { kind: "body"; peek: boolean; section: Section; partial: FetchPartial | null }
  /**
   * BINARY[part]<partial> and BINARY.PEEK[...] (RFC 3516 §4.2). RFC 3516 has part numbers only;
   * as Dovecot, a section text (TEXT, HEADER, n.MIME, ...) is accepted too and gives the bytes
   * BODY[section] gives: no content transfer encoding applies to them.
   */
  | { kind: "binary"; peek: boolean; section: Section; partial: FetchPartial | null }
  /** BINARY.SIZE[section] */
  | { kind: "binary.size"; section: Section }
  /** PREVIEW (LAZY) (RFC 8970 §3) */
  | { kind: "preview"; lazy: boolean };

export interface FetchArgs {
  type: "fetch";
  uid: boolean;
  set: SequenceSet;
  items: FetchItem[];
  /** The macro name when ALL, FAST or FULL was used (items holds its expansion). */
  macro: "ALL" | "FAST" | "FULL" | null;
  /** RFC 7162 §3.1.4.1 CHANGEDSINCE, or null. */
  changedSince: number | null;
  /** RFC 7162 §3.2.6 VANISHED (UID FETCH with CHANGEDSINCE only). */
  vanished: boolean;
}

function simple(name: SimpleFetchItem): FetchItem {
  return { kind: "simple", name };
}

// RFC 9051 §6.4.5: the macros
const MACROS: Record<"ALL" | "FAST" | "FULL", FetchItem[]> = {
  FAST: [simple("FLAGS"), simple("INTERNALDATE"), simple("RFC822.SIZE")],
  ALL: [simple("FLAGS"), simple("INTERNALDATE"), simple("RFC822.SIZE"), simple("ENVELOPE")],
  FULL: [simple("FLAGS"), simple("INTERNALDATE"), simple("RFC822.SIZE"), simple("ENVELOPE"), simple("BODY")],
};

function parsePart(r: ArgReader, spec: string): number[] {
  if (spec === "") return [];
  return spec.split(".").map((p) => {
    if (!/^[1-9][0-9]{0,9}$/.test(p)) r.fail(`Invalid section part "${spec}"`);
    return Number(p);
  });
}

/** section = "[" [section-spec] "]" (the "[" already read). */
function parseSection(r: ArgReader): Section {
  const section: Section = { part: [], text: null, fields: [] };
  if (r.tryChar("]")) return section;
  const spec = r.word("a section");
  const m = /^((?:[0-9]+\.)*[0-9]+)?(?:\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME))?$/.exec(
    spec,
  );
  if (m === null || (m[1] === undefined && m[2] === undefined)) return r.fail(`Invalid section "${spec}"`);
  if (m[1] !== undefined && m[2] !== undefined && spec[m[1].length] !== ".")
    r.fail(`Invalid section "${spec}"`);
  section.part = parsePart(r, m[1] ?? "");
  section.text = (m[2] as SectionText | undefined) ?? null;
  // RFC 9051 §9: MIME only after a part number
  if (section.text === "MIME" && section.part.length === 0) r.fail("MIME needs a part number");
  if (section.text === "HEADER.FIELDS" || section.text === "HEADER.FIELDS.NOT") {
    // header-list = "(" header-fld-name *(SP header-fld-name) ")"
    r.sp();
    r.open();
    for (;;) {
      section.fields.push(r.astring("a header field name"));
      if (r.tryClose()) break;
      r.sp();
    }
  }
  r.expectChar("]");
  return section;
}

function parsePartial(r: ArgReader): FetchPartial | null {
  if (!r.tryChar("<")) return null;
  const offset = r.number("a partial offset");
  if (r.tryChar(">")) return { offset, length: null };
  r.expectChar(".");
  const length = r.nzNumber("a partial length");
  r.expectChar(">");
  return { offset, length };
}

function parseItem(r: ArgReader, name: string): FetchItem {
  if (name === "BODY" || name === "BODY.PEEK") {
    if (r.tryChar("[")) {
      const section = parseSection(r);
      return { kind: "body", peek: name === "BODY.PEEK", section, partial: parsePartial(r) };
    }
    if (name === "BODY.PEEK") r.fail("BODY.PEEK needs a section");
    return simple("BODY");
  }
  if (name === "BINARY" || name === "BINARY.PEEK" || name === "BINARY.SIZE") {
    // section-binary = "[" [section-part] "]", and the section texts of BODY[] (see FetchItem)
    r.expectChar("[");
    const section = parseSection(r);
    if (name === "BINARY.SIZE") return { kind: "binary.size", section };
    return { kind: "binary", peek: name === "BINARY.PEEK", section, partial: parsePartial(r) };
  }
  if (name === "PREVIEW") {
    // RFC 8970 §7: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY"
    let lazy = false;
    // a " (" after PREVIEW holds its modifiers only when LAZY follows (else fetch-modifiers)
    if (r.lookingAt(" (LAZY") && (r.peekAt(6) === 0x29 || r.peekAt(6) === 0x20)) {
      r.sp();
      r.open();
      for (;;) {
        const mod = r.keyword("a preview modifier");
        if (mod !== "LAZY") r.fail(`Unknown PREVIEW modifier ${mod}`);
        lazy = true;
        if (r.tryClose()) break;
        r.sp();
      }
    }
    return { kind: "preview", lazy };
  }
  if ((SIMPLE_FETCH_ITEMS as readonly string[]).includes(name)) return simple(name as SimpleFetchItem);
  return r.fail(`Unknown fetch item ${name}`);
}

export function parseFetch(uid: boolean, r: ArgReader): FetchArgs {
  r.sp();
  const set = r.sequenceSet();
  r.sp();
  const out: FetchArgs = {
    type: "fetch",
    uid,
    set,
    items: [],
    macro: null,
    changedSince: null,
    vanished: false,
  };
  if (r.tryOpen()) {
    for (;;) {
      out.items.push(parseItem(r, r.word("a fetch item")));
      if (r.tryClose()) break;
      r.sp();
    }
  } else {
    const name = r.word("a fetch item");
    if (name === "ALL" || name === "FAST" || name === "FULL") {
      out.macro = name;
      out.items = MACROS[name].map((i) => ({ ...i }));
    } else out.items.push(parseItem(r, name));
  }
  if (r.trySp()) {
    // fetch-modifiers
    r.open();
    for (;;) {
      const m = r.keyword("a FETCH modifier");
      if (m === "CHANGEDSINCE") {
        if (out.changedSince !== null) r.fail("CHANGEDSINCE given twice");
        r.sp();
        out.changedSince = r.number64();
      } else if (m === "VANISHED") out.vanished = true;
      else r.fail(`Unknown FETCH modifier ${m}`);
      if (r.tryClose()) break;
      r.sp();
    }
    // RFC 7162 §3.2.6: VANISHED only in UID FETCH and with CHANGEDSINCE, else BAD
    if (out.vanished && (!uid || out.changedSince === null))
      r.fail("VANISHED needs UID FETCH with CHANGEDSINCE");
  }
  r.end();
  return out;
}
