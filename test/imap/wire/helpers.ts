// Shared helpers of the IMAP wire tests: run input through the reader, parse commands.
import assert from "node:assert/strict";
import type { ReaderEvent, ReaderLimits, RawCommand } from "../../../src/protocols/imap/wire/reader.ts";
import { CommandReader } from "../../../src/protocols/imap/wire/reader.ts";
import type { ParseOptions } from "../../../src/protocols/imap/wire/args.ts";
import type { CommandArgs, ParseResult } from "../../../src/protocols/imap/wire/parser.ts";
import { parseCommand } from "../../../src/protocols/imap/wire/parser.ts";

/** All events of the input fed in the given chunks. */
export function events(chunks: Array<Buffer | string>, limits: Partial<ReaderLimits> = {}): ReaderEvent[] {
  const r = new CommandReader(limits);
  const out: ReaderEvent[] = [];
  for (const c of chunks) {
    r.push(typeof c === "string" ? Buffer.from(c, "latin1") : c);
    for (let e = r.next(); e !== null; e = r.next()) out.push(e);
  }
  return out;
}

/** The one command in `input` (a string gets its final CRLF added). */
export function raw(input: string | Buffer, limits: Partial<ReaderLimits> = {}): RawCommand {
  const buf = typeof input === "string" ? Buffer.from(input + "\r\n", "utf8") : input;
  const cmds = events([buf], limits).filter((e) => e.type === "command");
  assert.equal(cmds.length, 1, "expected one command");
  const c = cmds[0];
  assert.ok(c !== undefined && c.type === "command");
  return c.command;
}

export function parse(input: string | Buffer, options: Partial<ParseOptions> = {}): ParseResult {
  return parseCommand(raw(input), options);
}

/** Parses and requires success; returns the arguments. */
export function ok(input: string | Buffer, options: Partial<ParseOptions> = {}): CommandArgs {
  const r = parse(input, options);
  if (!r.ok) assert.fail(`${String(input).slice(0, 200)}: ${r.error.message}`);
  return r.command.args;
}

/** Parses and requires a BAD; returns the message. */
export function bad(input: string | Buffer, options: Partial<ParseOptions> = {}): string {
  const r = parse(input, options);
  if (r.ok) assert.fail(`expected BAD for ${String(input).slice(0, 200)}, got ${JSON.stringify(r.command.args)}`);
  return r.error.message;
}
