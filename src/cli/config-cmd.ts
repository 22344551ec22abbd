// `mailroom config check|describe`: validate a configuration file; print the reference of
// every setting (the same text as docs/config.md, generated from the one schema).
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { renderExample, renderReference } from "../config/docs.ts";
import { loadConfig } from "../config/load.ts";
import { CONFIG_FILE } from "./data-dir.ts";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("check and describe the configuration");
  config
    .command("check")
    .description("validate the configuration file and report every problem")
    .option("--data <dir>", "the data folder whose mailroom.toml is checked", "./data")
    .option("--file <path>", "check this file instead")
    .action(async (opts: { data: string; file?: string }) => {
      const path = resolve(opts.file ?? join(opts.data, CONFIG_FILE));
      // Throws ConfigError with one line per problem (field path and what was expected).
      const c = await loadConfig(path, { env: process.env });
      const listeners = Object.entries(c.listeners).filter(([, l]) => l.enabled).length;
      process.stdout.write(`${path}: configuration OK (${listeners} listeners, store ${c.store.backend})\n`);
    });
  config
    .command("describe")
    .description("print the reference of every setting, or an annotated example with --example")
    .option("--example", "print an annotated example file instead")
    .action((opts: { example?: boolean }) => {
      process.stdout.write(opts.example ? renderExample() : renderReference());
    });
}
