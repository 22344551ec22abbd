// POP3 (RFC 1939, CAPA RFC 2449, SASL RFC 5034, UTF8 RFC 6856, STLS RFC 2595).
export { pop3Protocol } from "./server/protocol.ts";
export type { Pop3Options } from "./server/session.ts";
export * from "./wire/command.ts";
export * from "./wire/reply.ts";
export * from "./wire/message.ts";
export { LineReader, type LineEvent } from "./wire/line-reader.ts";
