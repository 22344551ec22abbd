// REPLACE and UID REPLACE (RFC 8508 §6):
//   replace = "REPLACE" SP seq-number SP mailbox append-message
//   uid-replace = "UID" SP replace
// seq-number is one message number (or UID), "*" for the last one.
import type { ArgReader } from "../args.ts";
import type { SequenceSet } from "../sequence-set.ts";
import { parseAppendMessage, type AppendMessage } from "./append.ts";

export interface ReplaceArgs {
  type: "replace";
  uid: boolean;
  /** One message: a set of one number (or "*"). */
  target: SequenceSet;
  mailbox: string;
  message: AppendMessage;
}

export function parseReplace(uid: boolean, r: ArgReader): ReplaceArgs {
  r.sp();
  const target = r.sequenceSet();
  const one =
    target.kind === "ranges" &&
    target.ranges.length === 1 &&
    target.ranges[0]?.start === target.ranges[0]?.end;
  if (!one) r.fail("REPLACE takes one message number");
  r.sp();
  const mailbox = r.mailbox();
  r.sp();
  const message = parseAppendMessage(r);
  r.end();
  return { type: "replace", uid, target, mailbox, message };
}
