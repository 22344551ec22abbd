// DATA (RFC 5321 §4.1.1.4): 354, then the body through the wire layer's DataReader, which
// removes dot-stuffing and refuses bare CR/LF (SMTP smuggling) and text lines over
// limits.smtpMaxTextLineLength (RFC 5321 §4.5.3.1.6) while reading on to the real CRLF.CRLF,
// so nothing is ever split into a second message or read as commands.
import { DataReader } from "../../wire/data.ts";
import type { DataDone, DataError } from "../../wire/data.ts";
import type { ReplyName } from "../../wire/replies.ts";
import { reply } from "../../wire/replies.ts";
import { deliver, replyAll } from "../delivery.ts";
import type { CommandDescriptor, SmtpSession } from "../session.ts";

export const DATA: CommandDescriptor = {
  verbs: ["DATA"],
  requires: ["transaction"],
  handle(s) {
    const txn = s.txn;
    if (txn === null) return;
    // RFC 3030 §2: DATA may not follow BDAT in one transaction.
    if (txn.bdat !== undefined) {
      s.error(reply("BAD_SEQUENCE", "DATA not allowed after BDAT"));
      return;
    }
    // RFC 3030 §3: BINARYMIME bodies must use BDAT.
    if (txn.params.body === "BINARYMIME") {
      s.error(reply("BINARY_NEEDS_BDAT"));
      return;
    }
    if (txn.recipients.length === 0) {
      // RFC 2920 §3.1: with pipelined RCPTs all refused, DATA answers 554.
      if (txn.rcptAttempts > 0) s.reply(reply("NO_VALID_RECIPIENTS"));
      else s.error(reply("BAD_SEQUENCE", "Send RCPT first"));
      return;
    }
    // RFC 5321 §4.5.3.1.6: the text line limit applies to DATA. BDAT chunks have no line
    // structure on the wire (RFC 3030 §2), so BDAT messages are not held to it.
    const limits = s.limits();
    s.reply(reply("START_DATA"));
    s.framer.startData(
      new DataReader({ maxSize: limits.maxMessageSize, maxLineLength: limits.smtpMaxTextLineLength }),
    );
  },
};

const DATA_ERROR_REPLY: Record<DataError, ReplyName> = {
  "bare-cr": "SMUGGLING",
  "bare-lf": "SMUGGLING",
  "line-too-long": "TEXT_LINE_TOO_LONG",
  "too-big": "MESSAGE_TOO_BIG",
};

/** The body ended (the framer's "data" event). */
export async function dataDone(s: SmtpSession, done: DataDone): Promise<void> {
  const txn = s.txn;
  if (txn === null) return;
  if (done.error !== undefined) {
    s.log.info({ error: done.error, size: done.size }, "message refused");
    const r =
      done.error === "line-too-long"
        ? reply(
            "TEXT_LINE_TOO_LONG",
            `Message refused: a text line is longer than ${s.limits().smtpMaxTextLineLength} octets`,
          )
        : reply(DATA_ERROR_REPLY[done.error]);
    replyAll(s, txn, r);
    s.endTransaction();
    return;
  }
  await deliver(s, txn, done.message);
}
