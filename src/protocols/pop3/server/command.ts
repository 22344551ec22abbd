// The shape of a command descriptor (DESIGN.md "One file per command"): its name, the states
// it is valid in, and the handler. The dispatcher (session.ts) checks the state once; a
// handler assumes a legal call with parsed arguments.
import type { Pop3Command, Pop3CommandName } from "../wire/command.ts";
import type { Pop3Session, Pop3State } from "./session.ts";

export interface CommandHandler<N extends Pop3CommandName> {
  readonly name: N;
  readonly states: readonly Pop3State[];
  handle(session: Pop3Session, command: Extract<Pop3Command, { name: N }>): Promise<void>;
}

export type CommandRegistry = { readonly [N in Pop3CommandName]: CommandHandler<N> };
