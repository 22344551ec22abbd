// Retention of the change history for a running server (config store.historyDays and
// store.historyCompactMinutes): every historyCompactMinutes the store drops the change rows
// and expunge tombstones older than historyDays (src/store/retention.ts). Several servers on
// one PostgreSQL database take turns through a store lease, renewed while the work goes on;
// a server that loses it stops between two transactions (the work is idempotent anyway).
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import type { ServerContext } from "../core/context.ts";
import type { MaintainedMailStore } from "../store/mail-store.ts";
import type { CompactHistoryResult } from "../store/retention.ts";

export interface HistoryAgent {
  /** One compaction now (also runs every historyCompactMinutes); null when another server holds the lease. */
  compactNow(): Promise<CompactHistoryResult | null>;
  stop(): Promise<void>;
}

const LEASE = "history-compact";
const LEASE_MS = 10 * 60_000;
/** The lease is renewed when older than this while the work goes on. */
const RENEW_MS = 60_000;

function canCompact(store: unknown): store is Pick<MaintainedMailStore, "compactHistory"> {
  return typeof (store as Partial<MaintainedMailStore>).compactHistory === "function";
}

/** Starts the periodic compaction; null when history is kept forever or the store cannot compact. */
export function startHistoryRetention(
  ctx: Pick<ServerContext, "config" | "store" | "clock" | "logger">,
): HistoryAgent | null {
  const cfg = ctx.config.current().store;
  const store = ctx.store;
  if (cfg.historyDays === 0 || !canCompact(store)) return null;
  const horizonMs = cfg.historyDays * 86_400_000;
  const logger = ctx.logger.child({ component: "history" });
  const holder = `${osHostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  let stopping = false;
  let running: Promise<CompactHistoryResult | null> | null = null;

  const run = async (): Promise<CompactHistoryResult | null> => {
    if (!(await ctx.store.leases.acquire(LEASE, holder, LEASE_MS))) return null;
    let renewed = ctx.clock.now();
    try {
      const now = ctx.clock.now();
      const res = await store.compactHistory({
        before: now - horizonMs,
        horizonMs,
        proceed: async () => {
          if (stopping) return false;
          if (ctx.clock.now() - renewed < RENEW_MS) return true;
          renewed = ctx.clock.now();
          const held = await ctx.store.leases.renew(LEASE, holder, LEASE_MS);
          if (!held) logger.warn("history compaction lease lost: another server goes on");
          return held;
        },
      });
      if (res.changes + res.tombstones > 0)
        logger.info(
          { accounts: res.accounts, changes: res.changes, tombstones: res.tombstones },
          "change history older than the horizon dropped",
        );
      return res;
    } finally {
      await ctx.store.leases.release(LEASE, holder);
    }
  };
  const compactNow = (): Promise<CompactHistoryResult | null> => {
    // one run at a time in this process: a tick during a long run joins it
    running ??= run().finally(() => (running = null));
    return running;
  };
  const tick = (): void => {
    compactNow().catch((e: unknown) => logger.error({ err: e }, "change history compaction failed"));
  };
  // A first run soon after the start (it takes the first marks of the accounts' modseqs, so
  // a server restarted more often than the interval still keeps time), then every interval.
  const intervalMs = cfg.historyCompactMinutes * 60_000;
  const first = setTimeout(tick, Math.min(intervalMs, 60_000));
  first.unref();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    compactNow,
    async stop() {
      stopping = true;
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
