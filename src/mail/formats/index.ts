// Mailbox file formats for import and export: mbox (mboxrd/mboxo), Maildir (Maildir++ and
// nested), and a progress reporter for the long runs. The CLI imports from here.
export {
  readMbox,
  unquoteFromLines,
  MboxError,
  type MboxMessage,
  type MboxReadOptions,
} from "./mbox-reader.ts";
export {
  MboxWriter,
  formatMboxEntry,
  quoteFromLines,
  type MboxWriteInput,
  type MboxWriterOptions,
} from "./mbox-writer.ts";
export {
  parseFromLine,
  parseFromDate,
  formatFromLine,
  formatAsctime,
  type FromLine,
} from "./mbox-from-line.ts";
export {
  detectMaildirLayout,
  listMaildirFolders,
  readMaildirFolder,
  readMaildir,
  maildirTotals,
  MaildirWriter,
  MaildirNameError,
  type MaildirLayout,
  type MaildirFolder,
  type MaildirMessage,
  type MaildirReadOptions,
  type MaildirWriteInput,
  type MaildirWriterOptions,
} from "./maildir.ts";
export {
  ProgressReporter,
  formatBytes,
  formatDuration,
  type ProgressOptions,
  type ProgressStream,
} from "./progress.ts";
export { lfToCrlf, crlfToLf } from "./eol.ts";
