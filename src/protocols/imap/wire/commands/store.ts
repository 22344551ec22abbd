// STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3):
//   store = "STORE" SP sequence-set [SP store-modifiers] SP store-att-flags
//   store-modifiers = "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"
//   store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
import type { ArgReader } from "../args.ts";
import type { SequenceSet } from "../sequence-set.ts";

export interface StoreArgs {
  type: "store";
  uid: boolean;
  set: SequenceSet;
  /** "set" for FLAGS, "add" for +FLAGS, "remove" for -FLAGS. */
  mode: "set" | "add" | "remove";
  silent: boolean;
  flags: string[];
  /** RFC 7162 §3.1.3 UNCHANGEDSINCE, or null. */
  unchangedSince: number | null;
}

export function parseStore(uid: boolean, r: ArgReader): StoreArgs {
  r.sp();
  const set = r.sequenceSet();
  r.sp();
  let unchangedSince: number | null = null;
  if (r.tryOpen()) {
    for (;;) {
      const m = r.keyword("a STORE modifier");
      if (m !== "UNCHANGEDSINCE") r.fail(`Unknown STORE modifier ${m}`);
      if (unchangedSince !== null) r.fail("UNCHANGEDSINCE given twice");
      r.sp();
      unchangedSince = r.number64();
      if (r.tryClose()) break;
      r.sp();
    }
    r.sp();
  }
  const mode = r.tryChar("+") ? "add" : r.tryChar("-") ? "remove" : "set";
  const item = r.word("FLAGS");
  if (item !== "FLAGS" && item !== "FLAGS.SILENT") r.fail(`Unknown STORE item ${item}`);
  r.sp();
  let flags: string[];
  if (r.peek() === 0x28) flags = r.flagList();
  else {
    flags = [];
    for (;;) {
      const f = r.flag();
      if (f === "\\*") r.fail("\\* is not a flag");
      flags.push(f);
      if (!r.trySp()) break;
    }
  }
  r.end();
  return { type: "store", uid, set, mode, silent: item === "FLAGS.SILENT", flags, unchangedSince };
}
