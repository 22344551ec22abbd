// Writing a Maildir tree (https://cr.yp.to/proto/maildir.html): each message is written under
// tmp/ with a unique name, its mtime set to the internal date (Dovecot reads the received date
// from the mtime), then renamed into cur/ with its flags in the ":2," info, so a reader never
// sees a partial file. Folders use the Maildir++ layout by default (".Sent", ".Archive.2024",
// each with an empty "maildirfolder" file as Courier and Dovecot expect), or the nested one.
// Keywords get Dovecot's letters a-z, recorded in each folder's dovecot-keywords file.
import { hostname } from "node:os";
import { mkdir, open, readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crlfToLf, lfToCrlf } from "./eol.ts";
import {
  encodeFolderSegment,
  formatKeywordsFile,
  infoFromFlags,
  parseKeywordsFile,
  uniqueMaildirName,
} from "./maildir-info.ts";
import type { MaildirLayout } from "./maildir.ts";

export interface MaildirWriteInput {
  raw: Buffer | Uint8Array;
  flags?: readonly string[];
  /** Internal date, ms since the epoch; becomes the file's mtime. Absent: the current time. */
  internalDate?: number | null;
}

export interface MaildirWriterOptions {
  /** Folder layout. Default "maildir++". */
  layout?: MaildirLayout;
  /** Line endings of the files: "lf" (default, the Maildir convention) or "crlf". */
  eol?: "lf" | "crlf";
  /** fsync each message before renaming it into cur/ (the Maildir spec's delivery rule). Default false: an export can be run again. */
  fsync?: boolean;
  /** Host name in unique names. Default os.hostname(). */
  hostname?: string;
  /** File mode of messages. Default 0o600; directories get 0o700. */
  mode?: number;
  now?: () => number;
}

interface FolderState {
  path: string;
  keywords: (string | undefined)[];
}

/** Thrown for a folder name the chosen layout cannot hold. */
export class MaildirNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MaildirNameError";
  }
}

export class MaildirWriter {
  readonly #root: string;
  readonly #layout: MaildirLayout;
  readonly #opts: MaildirWriterOptions;
  readonly #host: string;
  readonly #folders = new Map<string, FolderState>();
  #messages = 0;
  #bytes = 0;
  #droppedKeywords = 0;

  constructor(root: string, opts: MaildirWriterOptions = {}) {
    this.#root = root;
    this.#opts = opts;
    this.#layout = opts.layout ?? "maildir++";
    this.#host = opts.hostname ?? hostname();
  }

  get messages(): number {
    return this.#messages;
  }
  get bytes(): number {
    return this.#bytes;
  }
  /** Keywords not stored because their folder already had 26 (Dovecot's letter limit). */
  get droppedKeywords(): number {
    return this.#droppedKeywords;
  }

  /** The directory a folder name maps to ("/" separates levels; "INBOX" is the root). */
  folderPath(name: string): string {
    if (name.toUpperCase() === "INBOX" || name === "") return this.#root;
    const segs = name.split("/");
    for (const s of segs) {
      if (s === "" || s === "." || s === "..")
        throw new MaildirNameError(`bad folder name: ${JSON.stringify(name)}`);
      if (this.#layout === "nested" && (s === "cur" || s === "new" || s === "tmp")) {
        throw new MaildirNameError(
          `folder name ${JSON.stringify(name)} has a level named ${s}, which the nested layout uses for messages`,
        );
      }
    }
    const enc = segs.map((s) => encodeFolderSegment(s, this.#layout));
    return this.#layout === "maildir++" ? join(this.#root, "." + enc.join(".")) : join(this.#root, ...enc);
  }

  /** Creates a folder (cur/ new/ tmp/) if needed; returns its directory. */
  async createFolder(name: string): Promise<string> {
    return (await this.#folder(name)).path;
  }

  async #folder(name: string): Promise<FolderState> {
    const key = name.toUpperCase() === "INBOX" ? "INBOX" : name;
    const known = this.#folders.get(key);
    if (known) return known;
    const path = this.folderPath(name);
    for (const sub of ["cur", "new", "tmp"]) await mkdir(join(path, sub), { recursive: true, mode: 0o700 });
    if (this.#layout === "maildir++" && path !== this.#root)
      await writeFile(join(path, "maildirfolder"), "", { mode: this.#opts.mode ?? 0o600 });
    let keywords: (string | undefined)[] = [];
    try {
      keywords = parseKeywordsFile(await readFile(join(path, "dovecot-keywords"), "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const state = { path, keywords };
    this.#folders.set(key, state);
    return state;
  }

  async #letterFor(folder: FolderState, keyword: string): Promise<string | null> {
    let i = folder.keywords.findIndex((k) => k !== undefined && k.toLowerCase() === keyword.toLowerCase());
    if (i === -1) {
      i = folder.keywords.findIndex((k) => k === undefined);
      if (i === -1) i = folder.keywords.length;
      if (i >= 26) {
        this.#droppedKeywords++;
        return null;
      }
      folder.keywords[i] = keyword;
      // written at once (atomically) so a reader of a half-written tree resolves the letters
      const tmp = join(folder.path, `dovecot-keywords.${process.pid}.tmp`);
      await writeFile(tmp, formatKeywordsFile(folder.keywords), { mode: this.#opts.mode ?? 0o600 });
      await rename(tmp, join(folder.path, "dovecot-keywords"));
    }
    return String.fromCharCode(0x61 + i);
  }

  /** Writes one message into a folder (created if needed); returns the file's final path. */
  async write(folderName: string, msg: MaildirWriteInput): Promise<string> {
    const folder = await this.#folder(folderName);
    const input = Buffer.isBuffer(msg.raw)
      ? msg.raw
      : Buffer.from(msg.raw.buffer, msg.raw.byteOffset, msg.raw.byteLength);
    const raw = this.#opts.eol === "crlf" ? lfToCrlf(input) : crlfToLf(input);
    const letters = new Map<string, string | null>();
    for (const f of msg.flags ?? []) {
      if (!f.startsWith("\\") && f.toLowerCase() !== "$forwarded")
        letters.set(f, await this.#letterFor(folder, f));
    }
    const info = infoFromFlags(msg.flags ?? [], (k) => letters.get(k) ?? null);
    const now = (this.#opts.now ?? Date.now)();
    const date = msg.internalDate ?? now;
    for (;;) {
      // Dovecot's ",S=<size>" lets it compute quota without a stat
      const name = `${uniqueMaildirName(this.#host, now)},S=${raw.length}`;
      const tmp = join(folder.path, "tmp", name);
      let fh;
      try {
        fh = await open(tmp, "wx", this.#opts.mode ?? 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") continue; // another writer took the name: next sequence number
        throw e;
      }
      const final = join(folder.path, "cur", `${name}:2,${info}`);
      try {
        try {
          await fh.writeFile(raw);
          if (this.#opts.fsync) await fh.sync();
        } finally {
          await fh.close();
        }
        await utimes(tmp, date / 1000, date / 1000);
        await rename(tmp, final);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      this.#messages++;
      this.#bytes += raw.length;
      return final;
    }
  }

  /** Nothing is buffered; present for symmetry with MboxWriter. */
  async close(): Promise<void> {}
}
