// DATA (RFC 5321 §4.1.1.4): 354, then the body through the wire layer's DataReader, which
// removes dot-stuffing and refuses bare CR/LF (SMTP smuggling) while reading on to the real
// CRLF.CRLF, so nothing is ever split into a second message or read as commands.
import { DataReader } from "../../wire/data.ts";
import type { DataDone } from "../../wire/data.ts";
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
    // todo RFC 5321 §4.5.3.1.6: text lines past limits.smtpMaxTextLineLength are accepted as
    // they come (BINARYMIME has no line limit; refusing long lines is left to policy hooks).
    s.reply(reply("START_DATA"));
    s.framer.startData(new DataReader({ maxSize: s.limits().maxMessageSize }));
  },
};

/** The body ended (the framer's "data" event). */
export async function dataDone(s: SmtpSession, done: DataDone): Promise<void> {
  const txn = s.txn;
  if (txn === null) return;
  if (done.error !== undefined) {
    s.log.info({ error: done.error, size: done.size }, "message refused");
    replyAll(s, txn, reply(done.error === "too-big" ? "MESSAGE_TOO_BIG" : "SMUGGLING"));
    s.endTransaction();
    return;
  }
  await deliver(s, txn, done.message);
}
