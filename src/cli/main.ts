// The `mailroom` command line: the server, the directory (domains, accounts, aliases),
// configuration checks, mailbox import/export, the outbound queue, received reports and the
// search index. Every command takes `--data DIR`.
import "../core/threadpool.ts";
import { Command, CommanderError } from "commander";
import { StoreError } from "../core/errors.ts";
import { ConfigError } from "../config/load.ts";
import { registerConfigCommands } from "./config-cmd.ts";
import { registerDirectoryCommands } from "./directory-cmds.ts";
import { registerQueueCommands } from "./queue-cmd.ts";
import { registerReportsCommands } from "./reports-cmd.ts";
import { registerSearchCommands } from "./search-cmd.ts";
import { UsageError } from "./output.ts";
import { registerServe } from "./serve.ts";
import { registerTransferCommands } from "./transfer.ts";

export function buildProgram(): Command {
  const program = new Command("mailroom")
    .description("Mailroom: an all-in-one mail server")
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerDirectoryCommands(program);
  registerConfigCommands(program);
  registerTransferCommands(program);
  registerQueueCommands(program);
  registerReportsCommands(program);
  registerSearchCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof UsageError || e instanceof StoreError || e instanceof ConfigError) {
      process.stderr.write(`mailroom: ${e.message}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
    process.stderr.write(`mailroom: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // `serve` keeps running: it resolves only when the server has stopped.
  process.exitCode = code;
}
