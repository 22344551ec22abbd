// `mailroom import|export mbox|maildir ADDRESS PATH`: move mail between an account and
// files. Streamed both ways: memory holds only the messages in flight, whatever the size of
// the file. Import goes through the one ingest path (source "import"), keeping INTERNALDATE
// and flags, with group commits; progress goes to stderr (a bar on a terminal, plain lines
// otherwise).
import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Command } from "commander";
import { systemClock } from "../core/clock.ts";
import { silentLogger } from "../core/logger.ts";
import { Ingest } from "../delivery/ingest.ts";
import { listMaildirFolders, maildirTotals, readMaildirFolder } from "../mail/formats/maildir.ts";
import { MaildirWriter } from "../mail/formats/maildir-writer.ts";
import { readMbox } from "../mail/formats/mbox-reader.ts";
import { MboxWriter } from "../mail/formats/mbox-writer.ts";
import { ProgressReporter } from "../mail/formats/progress.ts";
import type { Id, Mailbox, MailStore } from "../store/types.ts";
import { requireAccount, withStore } from "./directory-cmds.ts";
import { UsageError } from "./output.ts";

interface TransferOptions {
  data: string;
  mailbox?: string;
  split?: boolean;
  layout?: "maildir++" | "nested";
}

/** One message to import. */
export interface ImportItem {
  raw: Buffer;
  flags: string[];
  internalDate: number | null;
  /** Target mailbox path. */
  mailbox: string;
  /** Bytes of the source this item accounts for (progress). */
  sourceBytes: number;
}

export interface TransferSummary {
  messages: number;
  failed: number;
  bytes: number;
}

const IN_FLIGHT = 64;

/** Finds or creates a mailbox by "/"-separated path, creating missing parents. */
export async function ensureMailboxPath(store: MailStore, accountId: Id, path: string): Promise<Mailbox> {
  const existing = await store.getMailboxByPath(accountId, path);
  if (existing) return existing;
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.length === 0) throw new UsageError(`not a mailbox name: ${JSON.stringify(path)}`);
  let parentId: Id | null = null;
  let box: Mailbox | null = null;
  for (let i = 0; i < parts.length; i++) {
    const sub = parts.slice(0, i + 1).join("/");
    box =
      (await store.getMailboxByPath(accountId, sub)) ??
      (await store.createMailbox(accountId, { name: parts[i]!, parentId, subscribed: true }));
    parentId = box.id;
  }
  if (!box) throw new UsageError(`not a mailbox name: ${JSON.stringify(path)}`);
  return box;
}

/** Imports a stream of messages into an account, in order, with bounded concurrency. */
export async function importItems(
  store: MailStore,
  accountId: Id,
  items: AsyncIterable<ImportItem>,
  progress: ProgressReporter,
): Promise<TransferSummary> {
  const ingest = new Ingest({ store, clock: systemClock, logger: silentLogger(), maxMessageSize: 1024 ** 3 });
  const boxes = new Map<string, Id>();
  const inFlight = new Set<Promise<void>>();
  const summary: TransferSummary = { messages: 0, failed: 0, bytes: 0 };
  let firstError: string | null = null;
  for await (const item of items) {
    let boxId = boxes.get(item.mailbox);
    if (boxId === undefined) {
      boxId = (await ensureMailboxPath(store, accountId, item.mailbox)).id;
      boxes.set(item.mailbox, boxId);
    }
    const p: Promise<void> = ingest
      .ingest({
        accountId,
        raw: item.raw,
        source: "import",
        mailboxIds: [boxId],
        keywords: item.flags,
        ...(item.internalDate !== null ? { receivedAt: item.internalDate } : {}),
      })
      .then(
        () => {
          summary.messages++;
          summary.bytes += item.raw.length;
          progress.add(1, item.sourceBytes);
        },
        (e: unknown) => {
          summary.failed++;
          progress.fail(1);
          const msg = e instanceof Error ? e.message : String(e);
          if (firstError === null) {
            firstError = msg;
            progress.note(`a message was not imported: ${msg}`);
          }
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return summary;
}

async function* mboxItems(path: string, mailbox: string): AsyncGenerator<ImportItem> {
  for await (const m of readMbox(path)) {
    yield { raw: m.raw, flags: m.flags, internalDate: m.internalDate, mailbox, sourceBytes: m.fileLength };
  }
}

/** Every `*.mbox` file (or any file) under a folder, with the mailbox path it maps to. */
async function mboxTree(root: string): Promise<Array<{ file: string; mailbox: string; size: number }>> {
  const out: Array<{ file: string; mailbox: string; size: number }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && !e.name.startsWith(".")) {
        const rel = relative(root, full)
          .split(sep)
          .join("/")
          .replace(/\.mbox$/i, "");
        out.push({
          file: full,
          mailbox: rel.toUpperCase() === "INBOX" ? "INBOX" : rel,
          size: (await stat(full)).size,
        });
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => a.mailbox.localeCompare(b.mailbox));
}

function finishLine(s: TransferSummary, progress: ProgressReporter): void {
  progress.finish();
  if (s.failed > 0) process.exitCode = 1;
}

async function runImport(
  format: string,
  address: string,
  path: string,
  opts: TransferOptions,
): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new UsageError(`${path} does not exist`);
  await withStore(opts, async (store) => {
    const account = await requireAccount(store, address);
    const progress = new ProgressReporter({ label: "import" });
    let items: AsyncIterable<ImportItem>;
    if (format === "mbox") {
      if (info.isDirectory()) {
        if (opts.mailbox) throw new UsageError("--mailbox applies to one mbox file, not a folder of them");
        const files = await mboxTree(path);
        progress.setTotal({ bytes: files.reduce((n, f) => n + f.size, 0) });
        items = (async function* () {
          for (const f of files) yield* mboxItems(f.file, f.mailbox);
        })();
      } else {
        progress.setTotal({ bytes: info.size });
        items = mboxItems(path, opts.mailbox ?? "INBOX");
      }
    } else if (format === "maildir") {
      const folders = await listMaildirFolders(path);
      const totals = await maildirTotals(folders);
      progress.setTotal({ messages: totals.messages, bytes: totals.bytes });
      const prefix = opts.mailbox;
      items = (async function* () {
        for (const folder of folders) {
          const target = prefix
            ? folder.name === "INBOX"
              ? prefix
              : `${prefix}/${folder.name}`
            : folder.name;
          for await (const m of readMaildirFolder(folder)) {
            yield {
              raw: m.raw,
              flags: m.flags,
              internalDate: m.internalDate,
              mailbox: target,
              sourceBytes: m.fileSize,
            };
          }
        }
      })();
    } else {
      throw new UsageError(`unknown format ${format}: use mbox or maildir`);
    }
    const summary = await importItems(store, account.id, items, progress);
    finishLine(summary, progress);
  });
}

/** The sender for an mbox From line: the Return-Path of the stored message, if any. */
function envelopeSender(raw: Buffer): string | null {
  const head = raw.subarray(0, Math.min(raw.length, 8192)).toString("latin1");
  const end = head.search(/\r?\n\r?\n/);
  const m = /^Return-Path:\s*<([^>\r\n]*)>/im.exec(end >= 0 ? head.slice(0, end) : head);
  return m?.[1] ? m[1] : null;
}

async function runExport(
  format: string,
  address: string,
  path: string,
  opts: TransferOptions,
): Promise<void> {
  await withStore(opts, async (store) => {
    const account = await requireAccount(store, address);
    let boxes: Array<{ box: Mailbox; path: string }>;
    if (opts.mailbox) {
      const box = await store.getMailboxByPath(account.id, opts.mailbox);
      if (!box) throw new UsageError(`${account.name} has no mailbox ${JSON.stringify(opts.mailbox)}`);
      boxes = [{ box, path: await store.mailboxPath(account.id, box.id) }];
    } else {
      const all = await store.listMailboxes(account.id);
      boxes = await Promise.all(
        all.map(async (box) => ({ box, path: await store.mailboxPath(account.id, box.id) })),
      );
      boxes.sort((a, b) =>
        a.box.role === "inbox" ? -1 : b.box.role === "inbox" ? 1 : a.path.localeCompare(b.path),
      );
    }
    const progress = new ProgressReporter({ label: "export" });
    progress.setTotal({
      messages: boxes.reduce((n, b) => n + b.box.totalEmails, 0),
      bytes: boxes.reduce((n, b) => n + b.box.size, 0),
    });
    const summary: TransferSummary = { messages: 0, failed: 0, bytes: 0 };
    const each = async (
      box: Mailbox,
      write: (raw: Buffer, flags: string[], date: number) => Promise<void>,
    ): Promise<void> => {
      for (const row of await store.listMessages(account.id, box.id)) {
        const raw = await store.getRaw(account.id, row.emailId);
        if (!raw) {
          summary.failed++;
          progress.fail(1);
          continue;
        }
        await write(raw, row.keywords, row.receivedAt);
        summary.messages++;
        summary.bytes += raw.length;
        progress.add(1, raw.length);
      }
    };
    if (format === "mbox") {
      if (opts.split) {
        await mkdir(path, { recursive: true });
        for (const b of boxes) {
          const file = join(path, ...`${b.path}.mbox`.split("/"));
          await mkdir(dirname(file), { recursive: true });
          const w = new MboxWriter(file);
          await each(b.box, (raw, flags, date) =>
            w.write({ raw, flags, internalDate: date, envelopeSender: envelopeSender(raw) }),
          );
          await w.close();
        }
      } else {
        const w = new MboxWriter(path);
        for (const b of boxes) {
          await each(b.box, (raw, flags, date) =>
            w.write({ raw, flags, internalDate: date, envelopeSender: envelopeSender(raw) }),
          );
        }
        await w.close();
      }
    } else if (format === "maildir") {
      const w = new MaildirWriter(path, { layout: opts.layout ?? "maildir++" });
      for (const b of boxes) {
        await w.createFolder(b.path); // empty mailboxes are exported too
        await each(b.box, async (raw, flags, date) => {
          await w.write(b.path, { raw, flags, internalDate: date });
        });
      }
      await w.close();
    } else {
      throw new UsageError(`unknown format ${format}: use mbox or maildir`);
    }
    finishLine(summary, progress);
  });
}

export function registerTransferCommands(program: Command): void {
  program
    .command("import <format> <address> <path>")
    .description(
      "import mail into an account: format mbox (a file, or a folder of .mbox files, one per mailbox) or maildir (Maildir++ or nested, detected)",
    )
    .option("--data <dir>", "the data folder", "./data")
    .option(
      "--mailbox <name>",
      "mbox: the target mailbox (default INBOX); maildir: a parent for every folder",
    )
    .action(async (format: string, address: string, path: string, opts: TransferOptions) => {
      await runImport(format, address, path, opts);
    });
  program
    .command("export <format> <address> <path>")
    .description(
      "export an account's mail: format mbox (one file with every mailbox, or --split for a folder with one .mbox per mailbox) or maildir",
    )
    .option("--data <dir>", "the data folder", "./data")
    .option("--mailbox <name>", "only this mailbox")
    .option("--split", "mbox: write a folder with one file per mailbox")
    .option("--layout <layout>", "maildir: maildir++ (default) or nested")
    .action(async (format: string, address: string, path: string, opts: TransferOptions) => {
      await runExport(format, address, path, opts);
    });
}
