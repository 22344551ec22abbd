// The outbound SMTP client: SmtpClient.connect(options) then send() per transaction (see
// client.ts), with the types the queue runner uses.
export { BDAT_CHUNK, SmtpClient, tcpDialer } from "./client.ts";
export * from "./types.ts";
