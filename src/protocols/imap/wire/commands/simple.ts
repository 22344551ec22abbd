// Commands without arguments (RFC 9051 §6.1.1 CAPABILITY, §6.1.2 NOOP, §6.1.3 LOGOUT, §6.2.1
// STARTTLS, §6.4.1 CLOSE, §6.4.2 UNSELECT (RFC 3691), §6.4.3 EXPUNGE, §6.3.13 IDLE (RFC 2177),
// §6.3.10 NAMESPACE (RFC 2342)); CHECK (RFC 3501 §6.4.1), UNAUTHENTICATE (RFC 8437 §2), and
// UID EXPUNGE (RFC 4315 §2.1, RFC 9051 §6.4.9) which takes a sequence set.
import type { ArgReader } from "../args.ts";
import type { SequenceSet } from "../sequence-set.ts";

export const SIMPLE_COMMANDS = [
  "CAPABILITY",
  "NOOP",
  "LOGOUT",
  "STARTTLS",
  "CHECK",
  "CLOSE",
  "UNSELECT",
  "EXPUNGE",
  "IDLE",
  "NAMESPACE",
  "UNAUTHENTICATE",
] as const;

export type SimpleCommandName = (typeof SIMPLE_COMMANDS)[number];

/** A command without arguments; `type` is the lower-cased name. */
export interface SimpleArgs {
  type: Lowercase<SimpleCommandName>;
}

/** UID EXPUNGE sequence-set. */
export interface UidExpungeArgs {
  type: "uid expunge";
  uids: SequenceSet;
}

export function parseSimple(name: SimpleCommandName, r: ArgReader): SimpleArgs {
  r.end();
  return { type: name.toLowerCase() as Lowercase<SimpleCommandName> };
}

export function parseUidExpunge(r: ArgReader): UidExpungeArgs {
  r.sp();
  const uids = r.sequenceSet();
  r.end();
  return { type: "uid expunge", uids };
}

/** RFC 2177 §3 / RFC 9051 §6.3.13: the line that ends IDLE is "DONE" (any case). */
export function isDone(line: Buffer): boolean {
  return line.length === 4 && line.toString("latin1").toUpperCase() === "DONE";
}
