// `mailroom search reindex`: rebuilds the search index from the stored messages. The server
// does it by itself when the index is missing or was built by another backend; this is for
// the rest: after an upgrade that indexes more of a message (the names of address groups,
// for one), so that mail stored before is found the same way. It runs beside a running
// server (each store hands its entries to the one index), in batches of 200 messages.
import type { Command } from "commander";
import { silentLogger } from "../core/logger.ts";
import { openDataDir, openDataStore } from "./data-dir.ts";

export function registerSearchCommands(program: Command): void {
  const search = program.command("search").description("the search index");
  search
    .command("reindex")
    .description("index every stored message again")
    .requiredOption("--data <dir>", "the data folder", "./data")
    .action(async (opts: { data: string }) => {
      const dd = await openDataDir({ dir: opts.data });
      const store = await openDataStore(dd.config.current(), silentLogger());
      try {
        const t0 = Date.now();
        const n = await store.reindex();
        process.stdout.write(`reindexed ${n} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      } finally {
        await store.close();
      }
    });
}
