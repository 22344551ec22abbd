// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8): "SUBSCRIBE" SP mailbox.
import type { ArgReader } from "../args.ts";

export interface SubscribeArgs {
  type: "subscribe" | "unsubscribe";
  mailbox: string;
}

export function parseSubscribe(type: "subscribe" | "unsubscribe", r: ArgReader): SubscribeArgs {
  r.sp();
  const mailbox = r.mailbox();
  r.end();
  return { type, mailbox };
}
