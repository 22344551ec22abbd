// What a command is to the dispatcher (DESIGN.md "One file per command"): a descriptor with
// the states it is valid in, an optional parser (default: the wire layer's COMMAND_PARSERS
// entry of its name) and the handler. Handlers assume a legal call, throw ImapError or
// StoreError to refuse, and return how the tagged OK reads.
import type { ArgReader, ResponseCode } from "../wire/index.ts";
import type { ImapSession } from "./session.ts";

/** RFC 9051 §3: not authenticated, authenticated, selected, logout. */
export type ImapState = "notauth" | "auth" | "selected" | "logout";

export const ANY: readonly ImapState[] = ["notauth", "auth", "selected"];
export const AUTHED: readonly ImapState[] = ["auth", "selected"];
export const SELECTED: readonly ImapState[] = ["selected"];
export const NOTAUTH: readonly ImapState[] = ["notauth"];

/** How the tagged OK reads, and what runs after it is sent (STARTTLS). */
export interface Completion {
  text?: string;
  code?: ResponseCode | null;
  /** Runs once the tagged reply is written. */
  after?: () => Promise<void>;
  /** Do not flush mailbox updates before the tagged reply (SELECT: the new view is fresh). */
  skipUpdates?: boolean;
}

export interface CommandDescriptor<A> {
  /** Upper-cased name as openCommand() returns it: "FETCH", "UID FETCH". */
  name: string;
  states: readonly ImapState[];
  parse?: (r: ArgReader) => A;
  /**
   * RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH (the sequence-number
   * forms); pending expunges wait for the next command that allows them.
   */
  noExpunge?: boolean;
  handle(s: ImapSession, args: A, tag: string): Promise<Completion | void>;
}

/** A descriptor with its argument type erased, as the registry holds them. */
export interface AnyCommand {
  name: string;
  states: readonly ImapState[];
  parse?: (r: ArgReader) => unknown;
  noExpunge?: boolean;
  handle(s: ImapSession, args: unknown, tag: string): Promise<Completion | void>;
}

/** Declares a command; the dispatcher passes it the arguments its parser returned. */
export function command<A>(d: CommandDescriptor<A>): AnyCommand {
  return d as unknown as AnyCommand; // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
}
