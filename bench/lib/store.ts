// Opens a fresh store for a benchmark: SQLite in a temporary folder, or PostgreSQL in a
// schema of its own in the `test` database.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openStore } from "../../src/store/open.ts";
import type { MailStore } from "../../src/store/types.ts";

export interface BenchStore {
  store: MailStore;
  dir: string;
  cleanup(): Promise<void>;
}

export async function benchStore(opts: {
  backend: string;
  fts: boolean;
  dir?: string;
  blobs?: "auto" | "fs" | "db";
}): Promise<BenchStore> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "mailroom-bench-")));
  const schema = `bench_${process.pid}_${Date.now()}`;
  const store = await openStore({
    backend: opts.backend === "postgres" ? "postgres" : "sqlite",
    sqlitePath: join(dir, "mailroom.sqlite"),
    postgresUrl: process.env["BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test",
    postgresSchema: schema,
    blobs: opts.blobs ?? "auto",
    blobDir: join(dir, "blobs"),
    search: opts.fts,
    clock: systemClock,
    logger: silentLogger(),
  });
  return {
    store,
    dir,
    cleanup: async () => {
      await store.close();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
