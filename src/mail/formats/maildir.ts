// Reading Maildir trees (https://cr.yp.to/proto/maildir.html). Two layouts of folders:
//  - Maildir++ (Courier, Dovecot's default): the root's cur/new/tmp is INBOX, other folders
//    are hidden directories under the root named with "." between levels: ".Sent",
//    ".Archive.2024";
//  - nested (Dovecot LAYOUT=fs, mbsync's default): "Sent/", "Archive/2024/", each with
//    cur/new/tmp.
// The layout is detected from what is on disk. Messages are read one file at a time.
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { lfToCrlf } from "./eol.ts";
import {
  compareMaildirNames,
  decodeFolderSegment,
  flagsFromInfo,
  parseKeywordsFile,
  parseMaildirName,
  parseUidlist,
} from "./maildir-info.ts";

export {
  MaildirNameError,
  MaildirWriter,
  type MaildirWriterOptions,
  type MaildirWriteInput,
} from "./maildir-writer.ts";

export type MaildirLayout = "maildir++" | "nested";

export interface MaildirFolder {
  /** Folder name with "/" between levels, decoded; "INBOX" for the root's own cur/new. */
  name: string;
  /** The directory holding cur/ new/ tmp/. */
  path: string;
}

export interface MaildirMessage {
  raw: Buffer;
  flags: string[];
  /** Internal date, ms since the epoch: a ",T=<seconds>" field of the name if present, else the file's mtime. */
  internalDate: number;
  /** The folder's name (as in MaildirFolder). */
  folder: string;
  /** The file's path. */
  path: string;
  /** The file's size on disk (before any CRLF conversion). */
  fileSize: number;
}

export interface MaildirReadOptions {
  /** Folder layout; default "auto" (detectMaildirLayout). */
  layout?: MaildirLayout | "auto";
  /** Convert bare LF to CRLF (RFC 5322 §2.1, what IMAP serves). Default true, as for readMbox. */
  crlf?: boolean;
}

const MAX_DEPTH = 64;
const SUBDIRS = new Set(["cur", "new", "tmp"]);

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR")
      return [];
    throw e;
  }
}

/** A directory is a mail folder when it has cur/ or new/. */
async function isMailFolder(dir: string): Promise<boolean> {
  const names = new Set((await entries(dir)).filter((e) => e.isDirectory()).map((e) => e.name));
  return names.has("cur") || names.has("new");
}

async function nestedFolders(
  dir: string,
  prefix: string[],
  depth: number,
  out: MaildirFolder[],
): Promise<void> {
  if (depth > MAX_DEPTH) return;
  for (const e of await entries(dir)) {
    // symbolic links are not followed (isDirectory() is false for them): no loops, no escapes
    if (!e.isDirectory() || e.name.startsWith(".") || SUBDIRS.has(e.name)) continue;
    const path = join(dir, e.name);
    const segs = [...prefix, decodeFolderSegment(e.name)];
    if (await isMailFolder(path)) out.push({ name: segs.join("/"), path });
    await nestedFolders(path, segs, depth + 1, out);
  }
}

async function maildirPlusPlusFolders(root: string, out: MaildirFolder[]): Promise<void> {
  for (const e of await entries(root)) {
    if (!e.isDirectory() || !e.name.startsWith(".") || e.name === "." || e.name === "..") continue;
    const path = join(root, e.name);
    if (!(await isMailFolder(path))) continue;
    const name = e.name.slice(1).split(".").map(decodeFolderSegment).join("/");
    out.push({ name, path });
  }
}

/**
 * Which layout a tree uses: hidden ".Name" mail folders under the root make it Maildir++,
 * plain "Name/" mail folders (at any depth) make it nested; with both, the more numerous
 * wins; with neither (a lone INBOX), Maildir++.
 */
export async function detectMaildirLayout(root: string): Promise<MaildirLayout> {
  const plus: MaildirFolder[] = [];
  const nested: MaildirFolder[] = [];
  await maildirPlusPlusFolders(root, plus);
  await nestedFolders(root, [], 0, nested);
  return nested.length > plus.length ? "nested" : "maildir++";
}

/** The folders of a Maildir tree, INBOX first, then by name. */
export async function listMaildirFolders(
  root: string,
  opts: Pick<MaildirReadOptions, "layout"> = {},
): Promise<MaildirFolder[]> {
  if (!(await stat(root)).isDirectory()) throw new Error(`not a directory: ${root}`);
  const layout =
    opts.layout === undefined || opts.layout === "auto" ? await detectMaildirLayout(root) : opts.layout;
  const out: MaildirFolder[] = [];
  if (layout === "maildir++") await maildirPlusPlusFolders(root, out);
  else await nestedFolders(root, [], 0, out);
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (await isMailFolder(root)) out.unshift({ name: "INBOX", path: root });
  return out;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/**
 * The messages of one folder (cur/ and new/; tmp/ holds deliveries in progress and is
 * skipped), in the order of Dovecot's dovecot-uidlist when there is one, else by delivery
 * time in the name. Flags come from the ":2," info; a message in new/ has not been seen by
 * any mail program yet (they move what they show to cur/), so it never gets \Seen, whatever
 * its name says. Keyword letters are resolved with the folder's dovecot-keywords file.
 * todo: Courier's courierimapkeywords/ directory is not read.
 * Files that vanish while reading (moved by a running server) are skipped.
 */
export async function* readMaildirFolder(
  folder: MaildirFolder,
  opts: Pick<MaildirReadOptions, "crlf"> = {},
): AsyncGenerator<MaildirMessage> {
  const keywords = parseKeywordsFile((await readOptional(join(folder.path, "dovecot-keywords"))) ?? "");
  const uidlistText = await readOptional(join(folder.path, "dovecot-uidlist"));
  const uids = uidlistText === null ? new Map<string, number>() : parseUidlist(uidlistText);
  const files: {
    sub: string;
    name: string;
    base: string;
    info: string | null;
    fields: Map<string, string>;
  }[] = [];
  for (const sub of ["cur", "new"]) {
    for (const e of await entries(join(folder.path, sub))) {
      if (e.name.startsWith(".") || !e.isFile()) continue; // symbolic links are not followed
      files.push({ sub, name: e.name, ...parseMaildirName(e.name) });
    }
  }
  files.sort((a, b) => {
    const ua = uids.get(a.base);
    const ub = uids.get(b.base);
    if (ua !== undefined && ub !== undefined) return ua - ub;
    if (ua !== undefined) return -1;
    if (ub !== undefined) return 1;
    return compareMaildirNames(a.name, b.name);
  });
  for (const f of files) {
    const path = join(folder.path, f.sub, f.name);
    let raw: Buffer;
    let mtime: number;
    try {
      [raw, mtime] = await Promise.all([readFile(path), stat(path).then((s) => Math.round(s.mtimeMs))]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    const t = f.fields.get("T");
    const internalDate = t !== undefined && /^\d+$/.test(t) ? Number(t) * 1000 : mtime;
    yield {
      raw: (opts.crlf ?? true) ? lfToCrlf(raw) : raw,
      flags:
        f.info === null ? [] : flagsFromInfo(f.sub === "new" ? f.info.replace(/S/g, "") : f.info, keywords),
      internalDate,
      folder: folder.name,
      path,
      fileSize: raw.length,
    };
  }
}

/** Every message of every folder of a tree, folder by folder (MaildirMessage.folder tells which). */
export async function* readMaildir(
  root: string,
  opts: MaildirReadOptions = {},
): AsyncGenerator<MaildirMessage> {
  for (const folder of await listMaildirFolders(root, opts)) yield* readMaildirFolder(folder, opts);
}

/** Message count and bytes on disk of a tree's folders, for a progress total. Reads no message. */
export async function maildirTotals(
  folders: readonly MaildirFolder[],
): Promise<{ messages: number; bytes: number }> {
  let messages = 0;
  let bytes = 0;
  for (const folder of folders) {
    for (const sub of ["cur", "new"]) {
      const dir = join(folder.path, sub);
      for (const e of await entries(dir)) {
        if (e.name.startsWith(".") || !e.isFile()) continue;
        try {
          bytes += (await stat(join(dir, e.name))).size;
          messages++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
      }
    }
  }
  return { messages, bytes };
}
