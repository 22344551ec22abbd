// The SMTP wire layer: pure parsing and serialization for the server and the client sides.
// Nothing here touches the store, sockets or the clock.
//
// Server loop, in short (see test/smtp/wire/smtplib-interop.test.ts for a working one):
//   framer.push(chunk); for (let e = framer.next(); e; e = framer.next()) { ... }
//   - "line": parseCommand(e.line, { lmtp, smtputf8Allowed, utf8Transaction, allowedParams });
//     an error result carries the reply (and `close` for lost BDAT framing).
//   - after answering DATA with 354: framer.startData(new DataReader({ maxSize })); the "data"
//     event brings the message or its error ("bare-lf" / "bare-cr" -> SMUGGLING, "too-big" ->
//     MESSAGE_TOO_BIG), after the real CRLF.CRLF.
//   - after a BDAT command: bdat.begin(size, last, refused); framer.startBdat(bdat); the "bdat"
//     event ends the chunk (result.done after LAST).
//   - STARTTLS: framer.discardBuffered() before the handshake.
//   - replies: formatReplyObject(reply("NAME", text?)); EHLO: formatEhlo(domain, greeting, caps).
// Client side: formatCommand, mailParamsToRaw/rcptParamsToRaw, encodeData or DotStuffer,
// encodeBdat, ReplyParser, parseEhlo.
export * from "./bdat.ts";
export * from "./commands.ts";
export * from "./data.ts";
export * from "./ehlo.ts";
export * from "./framer.ts";
export * from "./params.ts";
export * from "./path.ts";
export * from "./replies.ts";
export * from "./vrfy.ts";
export * from "./xtext.ts";
