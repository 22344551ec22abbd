// COPY (RFC 9051 §6.4.7) and MOVE (RFC 6851 §3.1; RFC 9051 §6.4.8), also as UID COPY/MOVE:
// "COPY" SP sequence-set SP mailbox.
import type { ArgReader } from "../args.ts";
import type { SequenceSet } from "../sequence-set.ts";

export interface CopyMoveArgs {
  type: "copy" | "move";
  uid: boolean;
  set: SequenceSet;
  mailbox: string;
}

export function parseCopyMove(type: "copy" | "move", uid: boolean, r: ArgReader): CopyMoveArgs {
  r.sp();
  const set = r.sequenceSet();
  r.sp();
  const mailbox = r.mailbox();
  r.end();
  return { type, uid, set, mailbox };
}
