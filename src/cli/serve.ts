// `mailroom serve --data DIR [--host H] [--port-offset N]`: run the server on a data folder,
// creating it with defaults on first start. Prints one `listening <service> <host>:<port>`
// line per listener once it is ready (scripts wait for these lines), and stops gracefully on
// SIGINT/SIGTERM.
import type { Command } from "commander";
import { createLogger } from "../core/logger.ts";
import { startServer, stopOnSignals, type RunningServer } from "../core/server.ts";
import { RelayChangeBus } from "../store/bus/relay.ts";
import { bootstrapStore, dataStoreOptions, openDataDir, openDataStore } from "./data-dir.ts";
import { UsageError } from "./output.ts";
import { protocolFactories } from "./protocols.ts";

interface ServeOptions {
  data: string;
  host?: string;
  portOffset?: string;
}

export interface ServeResult {
  server: RunningServer;
  /** Resolves when the server has stopped. */
  stopped: Promise<void>;
}

export async function serve(
  opts: ServeOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<ServeResult> {
  let portOffset: number | undefined;
  if (opts.portOffset !== undefined) {
    portOffset = Number(opts.portOffset);
    if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 60000) {
      throw new UsageError(`--port-offset must be a whole number from 0 to 60000, not ${opts.portOffset}`);
    }
  }
  const dd = await openDataDir({
    dir: opts.data,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(portOffset !== undefined ? { portOffset } : {}),
  });
  const cfg = dd.config.current();
  const logger = createLogger({ level: cfg.logging.level, unredacted: cfg.logging.unredacted });
  // Session processes (server.workers) share this process's change bus.
  const bus =
    cfg.server.workers > 0
      ? new RelayChangeBus({ onError: (e) => logger.error({ err: e }, "change listener failed") })
      : undefined;
  const store = await openDataStore(cfg, logger, { watch: true, ...(bus ? { bus } : {}) });
  const boot = await bootstrapStore(store);
  if (store.searchIndexStale) {
    // The search backend changed (or an older version indexed differently): rebuild it.
    logger.info("search index incomplete: reindexing");
    out.write(`search index: reindexed ${await store.reindex()} messages\n`);
  }
  if (dd.created) out.write(`created the data folder ${dd.dir}\n`);
  if (boot) {
    out.write(
      `admin account: ${boot.admin}\nadmin password: ${boot.password}\n(shown once; change it with: mailroom account passwd ${boot.admin} --data ${dd.dir})\n`,
    );
  }
  if (dd.autoPortOffset !== undefined) {
    out.write(
      `port offset ${dd.autoPortOffset}: this process may not bind ports below 1024, so every listener uses its standard port + ${dd.autoPortOffset} (set --port-offset to choose)\n`,
    );
  }
  let server: RunningServer;
  try {
    server = await startServer({
      config: dd.config,
      store,
      logger,
      processMetrics: true,
      protocols: protocolFactories(),
      workers: { store: dataStoreOptions(cfg) },
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  // Blobs no email refers to any more (expunged, deleted accounts) are removed hourly.
  const gc = setInterval(() => {
    store.collectGarbage().then(
      (n) => n > 0 && logger.info({ blobs: n }, "unreferenced blobs removed"),
      (e: unknown) => logger.warn({ err: String(e) }, "blob garbage collection failed"),
    );
  }, 3600_000);
  gc.unref();
  const bound = Object.values(server.ports()).sort((a, b) => a.port - b.port);
  for (const l of bound) out.write(`listening ${l.service} ${l.host}:${l.port}\n`);
  const workers = server.workerPids();
  if (workers.length > 0)
    out.write(`IMAP sessions served by ${workers.length} processes (pids ${workers.join(", ")})\n`);
  out.write(`ready (pid ${process.pid}; Ctrl-C stops)\n`);
  let done!: () => void;
  const stopped = new Promise<void>((r) => (done = r));
  const origStop = server.stop.bind(server);
  return {
    server: {
      ...server,
      stop: async (o) => {
        clearInterval(gc);
        await origStop(o);
        done();
      },
    },
    stopped,
  };
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the server on a data folder (created with defaults when missing)")
    .option("--data <dir>", "the data folder", "./data")
    .option("--host <address>", "bind every listener to this address (default: all addresses)")
    .option(
      "--port-offset <n>",
      "add N to every standard port (default 0 when ports below 1024 may be bound, else 10000)",
    )
    .action(async (opts: ServeOptions) => {
      const { server } = await serve(opts);
      await new Promise<void>((resolveStop) => {
        stopOnSignals(server, {
          exit: (code) => {
            process.stdout.write("stopped\n");
            process.exitCode = code;
            resolveStop();
          },
        });
      });
    });
}
