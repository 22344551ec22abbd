// Command parsing: the tag and command name (RFC 9051 §2.2.1, §9 command), then the command's
// own parser from the registry below, each returning typed arguments. The server's dispatcher
// may call openCommand() and then its descriptor's parse(); parseCommand() does both.
import type { ParseOptions } from "./args.ts";
import { ArgReader, ParseError } from "./args.ts";
import type { RawCommand } from "./reader.ts";
import type { AppendArgs } from "./commands/append.ts";
import { parseReplace, type ReplaceArgs } from "./commands/replace.ts";
import { parseAppend } from "./commands/append.ts";
import type { AuthenticateArgs, LoginArgs } from "./commands/auth.ts";
import { parseAuthenticate, parseLogin } from "./commands/auth.ts";
import type { CompressArgs } from "./commands/compress.ts";
import { parseCompress } from "./commands/compress.ts";
import type { CopyMoveArgs } from "./commands/copy-move.ts";
import { parseCopyMove } from "./commands/copy-move.ts";
import type { CreateArgs, DeleteArgs, RenameArgs } from "./commands/create-delete-rename.ts";
import { parseCreate, parseDelete, parseRename } from "./commands/create-delete-rename.ts";
import type { EnableArgs } from "./commands/enable.ts";
import { parseEnable } from "./commands/enable.ts";
import type { FetchArgs } from "./commands/fetch.ts";
import { parseFetch } from "./commands/fetch.ts";
import type { IdArgs } from "./commands/id.ts";
import { parseId } from "./commands/id.ts";
import type { ListArgs, LsubArgs } from "./commands/list.ts";
import { parseList, parseLsub } from "./commands/list.ts";
import type { GetQuotaArgs, GetQuotaRootArgs, SetQuotaArgs } from "./commands/quota.ts";
import { parseGetQuota, parseGetQuotaRoot, parseSetQuota } from "./commands/quota.ts";
import type { SearchArgs } from "./commands/search.ts";
import { parseSearch } from "./commands/search.ts";
import type { SelectArgs } from "./commands/select.ts";
import { parseSelect } from "./commands/select.ts";
import type { SimpleArgs, UidExpungeArgs } from "./commands/simple.ts";
import { parseSimple, parseUidExpunge, SIMPLE_COMMANDS } from "./commands/simple.ts";
import type { StatusArgs } from "./commands/status.ts";
import { parseStatus } from "./commands/status.ts";
import type { StoreArgs } from "./commands/store.ts";
import { parseStore } from "./commands/store.ts";
import type { SubscribeArgs } from "./commands/subscribe.ts";
import { parseSubscribe } from "./commands/subscribe.ts";

/** The typed arguments of every command, told apart by `type`. */
export type CommandArgs =
  | SimpleArgs
  | UidExpungeArgs
  | LoginArgs
  | AuthenticateArgs
  | EnableArgs
  | IdArgs
  | CompressArgs
  | SelectArgs
  | CreateArgs
  | DeleteArgs
  | RenameArgs
  | SubscribeArgs
  | ListArgs
  | LsubArgs
  | StatusArgs
  | AppendArgs
  | ReplaceArgs
  | FetchArgs
  | StoreArgs
  | CopyMoveArgs
  | SearchArgs
  | GetQuotaArgs
  | GetQuotaRootArgs
  | SetQuotaArgs;

/** Parses what follows the command name (starting with its SP) to typed arguments. */
export type CommandParser = (r: ArgReader) => CommandArgs;

/**
 * The registry: upper-cased command name ("FETCH", "UID FETCH") to its parser. Commands to
 * come (SORT, THREAD, ESEARCH, GETMETADATA, ...) are added here.
 */
export const COMMAND_PARSERS: ReadonlyMap<string, CommandParser> = new Map<string, CommandParser>([
  ...SIMPLE_COMMANDS.map((n): [string, CommandParser] => [n, (r) => parseSimple(n, r)]),
  ["UID EXPUNGE", parseUidExpunge],
  ["LOGIN", parseLogin],
  ["AUTHENTICATE", parseAuthenticate],
  ["ENABLE", parseEnable],
  ["ID", parseId],
  ["COMPRESS", parseCompress],
  ["SELECT", (r) => parseSelect("select", r)],
  ["EXAMINE", (r) => parseSelect("examine", r)],
  ["CREATE", parseCreate],
  ["DELETE", parseDelete],
  ["RENAME", parseRename],
  ["SUBSCRIBE", (r) => parseSubscribe("subscribe", r)],
  ["UNSUBSCRIBE", (r) => parseSubscribe("unsubscribe", r)],
  ["LIST", parseList],
  ["LSUB", parseLsub],
  ["STATUS", parseStatus],
  ["APPEND", parseAppend],
  ["REPLACE", (r) => parseReplace(false, r)],
  ["UID REPLACE", (r) => parseReplace(true, r)],
  ["FETCH", (r) => parseFetch(false, r)],
  ["UID FETCH", (r) => parseFetch(true, r)],
  ["STORE", (r) => parseStore(false, r)],
  ["UID STORE", (r) => parseStore(true, r)],
  ["COPY", (r) => parseCopyMove("copy", false, r)],
  ["UID COPY", (r) => parseCopyMove("copy", true, r)],
  ["MOVE", (r) => parseCopyMove("move", false, r)],
  ["UID MOVE", (r) => parseCopyMove("move", true, r)],
  ["SEARCH", (r) => parseSearch(false, r)],
  ["UID SEARCH", (r) => parseSearch(true, r)],
  ["GETQUOTA", parseGetQuota],
  ["GETQUOTAROOT", parseGetQuotaRoot],
  ["SETQUOTA", parseSetQuota],
]);

/** A command opened: its tag, its upper-cased name and a reader placed after the name. */
export interface OpenedCommand {
  tag: string;
  /** "FETCH", or "UID FETCH" for the UID form (RFC 9051 §6.4.9). */
  name: string;
  reader: ArgReader;
}

/** Why a command could not be parsed: answer `tag BAD [code] message` (untagged when no tag). */
export interface CommandError {
  tag: string | null;
  /** The command name when it was read, else null. */
  name: string | null;
  error: ParseError;
}

export type OpenResult = ({ ok: true } & OpenedCommand) | ({ ok: false } & CommandError);

/** A parsed command. */
export interface ParsedCommand<A = CommandArgs> {
  tag: string;
  name: string;
  args: A;
}

export type ParseResult<A = CommandArgs> =
  { ok: true; command: ParsedCommand<A> } | ({ ok: false } & CommandError);

/** Reads the tag and command name. Never throws. */
export function openCommand(raw: RawCommand, options: Partial<ParseOptions> = {}): OpenResult {
  const tag = raw.tag;
  if (tag === null) return { ok: false, tag: null, name: null, error: new ParseError("Invalid tag") };
  const reader = new ArgReader(raw, options);
  let name: string | null = null;
  try {
    reader.skip(tag.length + 1);
    name = reader.keyword("a command name");
    if (name === "UID") {
      reader.sp();
      const sub = reader.keyword("a UID command");
      name = `UID ${sub}`;
    }
    return { ok: true, tag, name, reader };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, tag, name, error: e };
    return { ok: false, tag, name, error: new ParseError("Invalid command") };
  }
}

/**
 * Runs a parser over an opened command, catching its ParseError. Never throws. A command
 * descriptor's own `parse` (returning its own argument type) fits here.
 */
export function runParser<A>(opened: OpenedCommand, parser: (r: ArgReader) => A): ParseResult<A> {
  try {
    return { ok: true, command: { tag: opened.tag, name: opened.name, args: parser(opened.reader) } };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, tag: opened.tag, name: opened.name, error: e };
    // a parser bug must not take the connection down; report it as BAD
    const message = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      tag: opened.tag,
      name: opened.name,
      error: new ParseError(`Invalid arguments (${message})`),
    };
  }
}

/** Parses a complete command with the registry. Never throws. */
export function parseCommand(raw: RawCommand, options: Partial<ParseOptions> = {}): ParseResult {
  const opened = openCommand(raw, options);
  if (!opened.ok) return opened;
  const parser = COMMAND_PARSERS.get(opened.name);
  if (parser === undefined) {
    return {
      ok: false,
      tag: opened.tag,
      name: opened.name,
      error: new ParseError(`Unknown command ${opened.name}`),
    };
  }
  return runParser(opened, parser);
}
