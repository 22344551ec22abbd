// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258 §3: selection options, several patterns,
// return options), SPECIAL-USE (RFC 6154 §5.1), CHILDREN (RFC 3348) and LIST-STATUS
// (RFC 5819 §2); LSUB (RFC 3501 §6.3.9).
//   list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
import type { ArgReader } from "../args.ts";
import type { StatusItem } from "./status.ts";
import { parseStatusItems } from "./status.ts";

export type ListSelectOption = "SUBSCRIBED" | "REMOTE" | "RECURSIVEMATCH" | "SPECIAL-USE";

export interface ListReturnOptions {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  /** RFC 5819: STATUS items to send with each listed mailbox, or null. */
  status: StatusItem[] | null;
}

export interface ListArgs {
  type: "list";
  selection: ListSelectOption[];
  /** The reference name, decoded as a mailbox name. */
  reference: string;
  /** One or more patterns with "%" and "*" kept. */
  patterns: string[];
  returns: ListReturnOptions;
  /** True when the command used LIST-EXTENDED syntax (selection, patterns list or RETURN). */
  extended: boolean;
}

export interface LsubArgs {
  type: "lsub";
  reference: string;
  pattern: string;
}

const SELECT_OPTIONS: readonly string[] = ["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"];

export function parseList(r: ArgReader): ListArgs {
  r.sp();
  const selection: ListSelectOption[] = [];
  let extended = false;
  if (r.tryOpen()) {
    extended = true;
    if (!r.tryClose()) {
      for (;;) {
        const o = r.keyword("a selection option");
        if (!SELECT_OPTIONS.includes(o)) r.fail(`Unknown LIST selection option ${o}`);
        if (!selection.includes(o as ListSelectOption)) selection.push(o as ListSelectOption);
        if (r.tryClose()) break;
        r.sp();
      }
    }
    // RFC 5258 §3: RECURSIVEMATCH alone (or with only REMOTE) is BAD
    if (
      selection.includes("RECURSIVEMATCH") &&
      !selection.some((s) => s === "SUBSCRIBED" || s === "SPECIAL-USE")
    )
      r.fail("RECURSIVEMATCH needs another selection option");
    r.sp();
  }
  const reference = r.listMailbox();
  r.sp();
  const patterns: string[] = [];
  if (r.tryOpen()) {
    extended = true;
    for (;;) {
      patterns.push(r.listMailbox());
      if (r.tryClose()) break;
      r.sp();
    }
  } else patterns.push(r.listMailbox());
  const returns: ListReturnOptions = { subscribed: false, children: false, specialUse: false, status: null };
  if (r.trySp()) {
    extended = true;
    if (r.keyword("RETURN") !== "RETURN") r.fail("Expected RETURN");
    r.sp();
    r.open();
    if (!r.tryClose()) {
      for (;;) {
        const o = r.keyword("a return option");
        if (o === "SUBSCRIBED") returns.subscribed = true;
        else if (o === "CHILDREN") returns.children = true;
        else if (o === "SPECIAL-USE") returns.specialUse = true;
        else if (o === "STATUS") {
          r.sp();
          returns.status = parseStatusItems(r);
        } else r.fail(`Unknown LIST return option ${o}`);
        if (r.tryClose()) break;
        r.sp();
      }
    }
  }
  r.end();
  return { type: "list", selection, reference, patterns, returns, extended };
}

export function parseLsub(r: ArgReader): LsubArgs {
  r.sp();
  const reference = r.listMailbox();
  r.sp();
  const pattern = r.listMailbox();
  r.end();
  return { type: "lsub", reference, pattern };
}
