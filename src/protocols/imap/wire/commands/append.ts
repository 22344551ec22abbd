// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502 §6), BINARY literal8 (RFC 3516 §4.4)
// and UTF8 (RFC 6855 §4):
//   append = "APPEND" SP mailbox 1*append-message
//   append-message = append-opts SP append-data
//   append-opts = [SP flag-list] [SP date-time] *(SP append-ext)
//   append-data = literal / literal8 / "UTF8" SP "(" literal8 ")"
import type { ArgReader } from "../args.ts";

export interface AppendMessage {
  flags: string[];
  /** INTERNALDATE as ms since epoch, or null for "now". */
  date: number | null;
  /** The date-time's zone, minutes east of UTC (0 without a date-time). */
  dateTz: number;
  /** The message bytes (a view on the input, not a copy). */
  data: Buffer;
  /** Sent as literal8 (RFC 3516): may hold NUL and any octet. */
  binary: boolean;
  /** Sent as UTF8 (literal8) (RFC 6855 §4): a message with UTF-8 headers. */
  utf8: boolean;
}

export interface AppendArgs {
  type: "append";
  mailbox: string;
  /** One or more messages (several with MULTIAPPEND). */
  messages: AppendMessage[];
}

/** One append-message (RFC 9051 §9): also the message of REPLACE (RFC 8508 §6). */
export function parseAppendMessage(r: ArgReader): AppendMessage {
  let flags: string[] = [];
  let date: number | null = null;
  let dateTz = 0;
  if (r.peek() === 0x28) {
    flags = r.flagList();
    r.sp();
  }
  if (r.peek() === 0x22) {
    const d = r.dateTime();
    date = d.ms;
    dateTz = d.tz;
    r.sp();
  }
  if (r.atLiteral()) {
    const lit = r.literal();
    // RFC 9051 §9 CHAR8: a plain literal has no NUL; literal8 is for those (RFC 3516 §4.4)
    if (!lit.binary && lit.data.includes(0)) r.fail("NUL in a literal: use literal8", "UNKNOWN-CTE");
    return { flags, date, dateTz, data: lit.data, binary: lit.binary, utf8: false };
  }
  const ext = r.keyword("a message literal");
  if (ext !== "UTF8") r.fail(`Unknown APPEND data ${ext}`); // todo RFC 4469 CATENATE
  r.sp();
  r.open();
  const lit = r.literal();
  if (!lit.binary) r.fail("UTF8 needs a literal8");
  r.close();
  return { flags, date, dateTz, data: lit.data, binary: true, utf8: true };
}

export function parseAppend(r: ArgReader): AppendArgs {
  r.sp();
  const mailbox = r.mailbox();
  const messages: AppendMessage[] = [];
  while (r.trySp()) messages.push(parseAppendMessage(r));
  if (messages.length === 0) r.fail("Missing message");
  r.end();
  return { type: "append", mailbox, messages };
}
