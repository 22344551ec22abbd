// The literal registry of SMTP/LMTP command handlers, by verb (DESIGN.md: one file per
// command or close family; the dispatcher in session.ts checks the requirements once).
import type { Verb } from "../../wire/commands.ts";
import type { CommandDescriptor } from "../session.ts";
import { AUTH } from "./auth.ts";
import { BDAT } from "./bdat.ts";
import { DATA } from "./data.ts";
import { HELLO } from "./ehlo.ts";
import { MAIL } from "./mail.ts";
import { RCPT } from "./rcpt.ts";
import { SIMPLE } from "./simple.ts";
import { STARTTLS } from "./starttls.ts";
import { VRFY } from "./vrfy.ts";

const ALL: readonly CommandDescriptor[] = [HELLO, MAIL, RCPT, DATA, BDAT, AUTH, STARTTLS, VRFY, ...SIMPLE];

export const COMMANDS: ReadonlyMap<Verb, CommandDescriptor> = new Map(
  ALL.flatMap((d) => d.verbs.map((v) => [v, d] as const)),
);
