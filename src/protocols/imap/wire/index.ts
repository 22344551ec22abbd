// The IMAP wire layer in one import for the server and for test clients: the streaming
// reader (reader.ts), argument parsing (args.ts, parser.ts, commands/), sequence sets,
// values and responses (values.ts, serializer.ts) and the client-side response parser.
// Pure: nothing here knows about the store or sessions.
export * from "./reader.ts";
export * from "./args.ts";
export * from "./parser.ts";
export * from "./sequence-set.ts";
export * from "./values.ts";
export * from "./serializer.ts";
export * from "./response-parser.ts";
export type { AppendArgs, AppendMessage } from "./commands/append.ts";
export type { ReplaceArgs } from "./commands/replace.ts";
export type { AuthenticateArgs, LoginArgs } from "./commands/auth.ts";
export { decodeBase64, parseSaslResponse } from "./commands/auth.ts";
export type { CompressArgs } from "./commands/compress.ts";
export type { CopyMoveArgs } from "./commands/copy-move.ts";
export type { CreateArgs, DeleteArgs, RenameArgs } from "./commands/create-delete-rename.ts";
export type { EnableArgs } from "./commands/enable.ts";
export type {
  FetchArgs,
  FetchItem,
  FetchPartial,
  Section,
  SectionText,
  SimpleFetchItem,
} from "./commands/fetch.ts";
export type { IdArgs } from "./commands/id.ts";
export type { ListArgs, ListReturnOptions, ListSelectOption, LsubArgs } from "./commands/list.ts";
export type { GetQuotaArgs, GetQuotaRootArgs, SetQuotaArgs } from "./commands/quota.ts";
export type {
  SearchArgs,
  SearchDateKey,
  SearchFlagKey,
  SearchKey,
  SearchReturnOption,
  SearchTextKey,
} from "./commands/search.ts";
export type { QresyncParams, SelectArgs } from "./commands/select.ts";
export type { SimpleArgs, SimpleCommandName, UidExpungeArgs } from "./commands/simple.ts";
export { isDone, SIMPLE_COMMANDS } from "./commands/simple.ts";
export type { StatusArgs, StatusItem } from "./commands/status.ts";
export { STATUS_ITEMS } from "./commands/status.ts";
export type { StoreArgs } from "./commands/store.ts";
export type { SubscribeArgs } from "./commands/subscribe.ts";
