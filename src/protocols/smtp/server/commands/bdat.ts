// BDAT (RFC 3030 §2, CHUNKING; BINARYMIME §3): exactly <size> octets follow the command, any
// octets at all. A refused chunk is still read, so the next command is found where it
// starts; once a chunk of a message is refused, the rest of its chunks are refused too.
import { BdatReader } from "../../wire/bdat.ts";
import type { BdatFeedResult } from "../../wire/bdat.ts";
import type { BdatCommand } from "../../wire/commands.ts";
import { reply } from "../../wire/replies.ts";
import { deliver, replyAll } from "../delivery.ts";
import type { CommandDescriptor, SmtpSession } from "../session.ts";

export const BDAT: CommandDescriptor = {
  verbs: ["BDAT"],
  requires: ["transaction"],
  handle(s, c) {
    const cmd = c as BdatCommand;
    const txn = s.txn;
    if (txn === null) return;
    if (txn.recipients.length === 0) {
      s.errors++;
      s.readRefusedChunk(
        cmd.size,
        cmd.last,
        txn.rcptAttempts > 0 ? reply("NO_VALID_RECIPIENTS") : reply("BAD_SEQUENCE", "Send RCPT first"),
      );
      return;
    }
    const max = s.limits().maxMessageSize;
    txn.bdat ??= new BdatReader({ maxSize: max });
    if (txn.bdatError === undefined && txn.bdat.size + cmd.size > max)
      txn.bdatError = reply("MESSAGE_TOO_BIG");
    if (txn.bdatError !== undefined) {
      s.readRefusedChunk(cmd.size, cmd.last, txn.bdatError);
      return;
    }
    txn.bdat.begin(cmd.size, cmd.last);
    s.framer.startBdat(txn.bdat);
    s.pendingBdat = { last: cmd.last, refused: null };
  },
};

/** A chunk was read (the framer's "bdat" event). */
export async function bdatChunkDone(s: SmtpSession, result: BdatFeedResult): Promise<void> {
  const pending = s.pendingBdat;
  s.pendingBdat = null;
  const txn = s.txn;
  if (pending?.refused) {
    if (pending.last && txn !== null) {
      replyAll(s, txn, pending.refused);
      s.endTransaction();
    } else s.reply(pending.refused);
    return;
  }
  if (txn === null) return;
  if (result.done === undefined) {
    s.reply(reply("CHUNK_OK", `${txn.bdat?.size ?? 0} octets received`));
    return;
  }
  if (result.done.error !== undefined) {
    replyAll(s, txn, reply("MESSAGE_TOO_BIG"));
    s.endTransaction();
    return;
  }
  await deliver(s, txn, result.done.message);
}
