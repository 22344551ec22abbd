// Fixtures of the queue tests: a SQLite store in a temporary folder with the local domain
// local.test and its sender, and the pieces the runner takes from the delivery layer.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { Ingest } from "../../src/delivery/ingest.ts";
import { localDelivery, returnMail } from "../../src/delivery/queue-local.ts";
import { QueueStore } from "../../src/queue/queue-store.ts";
import type { LocalDelivery } from "../../src/queue/transport.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";
import type { Id } from "../../src/store/types.ts";

export interface QueueFixture {
  dir: string;
  store: MaintainedMailStore;
  /** sender@local.test */
  sender: Id;
  cleanup(): Promise<void>;
}

export async function queueFixture(prefix: string, now: number): Promise<QueueFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "mail.sqlite"),
    blobs: "auto",
    clock: new ManualClock(now),
    logger: silentLogger(),
  });
  await store.createDomain("local.test");
  const sender = (await store.createAccount({ name: "sender@local.test" })).id;
  return {
    dir,
    store,
    sender,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The queue of the store on `clock`, local delivery through a real ingest path, DSN return. */
export function localParts(
  store: MaintainedMailStore,
  clock: Clock,
): { queue: QueueStore; local: LocalDelivery; returnMail: (to: string, m: Buffer) => Promise<void> } {
  const queue = QueueStore.fromStore(store, clock);
  if (!queue) throw new Error("the store has no queue");
  const ingest = new Ingest({ store, clock, logger: silentLogger(), maxMessageSize: 10_000_000 });
  const local = localDelivery(store, ingest);
  return { queue, local, returnMail: returnMail(queue, local) };
}
