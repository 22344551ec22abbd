// ENABLE (RFC 5161 §3.1; RFC 9051 §6.3.1): enable = "ENABLE" 1*(SP capability).
import type { ArgReader } from "../args.ts";

export interface EnableArgs {
  type: "enable";
  /** Upper-cased capability names as sent. */
  capabilities: string[];
}

export function parseEnable(r: ArgReader): EnableArgs {
  const capabilities: string[] = [];
  r.sp();
  do capabilities.push(r.keyword("a capability"));
  while (r.trySp());
  r.end();
  return { type: "enable", capabilities };
}
