// Reports arriving at our report addresses (config reports.addresses): after a message to
// one of them is committed to its mailbox (the copy stays there), the report it carries is
// parsed (extract.ts) and kept (received.ts). Called from the one ingest path for mail that
// came by SMTP, LMTP or the queue's local delivery; the delivery never waits for it, and a
// message that is no report, or one that cannot be read, is only logged.
import type { Logger } from "../../core/logger.ts";
import { extractReport } from "./extract.ts";
import { ReportParseError } from "./aggregate-parse.ts";
import type { ReceivedReports } from "./received.ts";

/** The address a delivered copy was for: its first Delivered-To field (RFC 9228), lower-cased. */
export function deliveredTo(raw: Buffer): string | null {
  const head = raw.subarray(0, 8192).toString("latin1");
  const end = head.search(/\r?\n\r?\n/);
  const m = /(?:^|\n)Delivered-To:[ \t]*<?([^\s<>]+@[^\s<>]+?)>?[ \t]*\r?(?:\n|$)/i.exec(
    end < 0 ? head : head.slice(0, end + 1),
  );
  return m?.[1]?.toLowerCase() ?? null;
}

/** Does `address` match one of the configured report addresses (bare local parts match any domain)? */
export function isReportAddress(address: string, configured: readonly string[]): boolean {
  const a = address.toLowerCase();
  const local = a.slice(0, a.lastIndexOf("@"));
  return configured.some((c) => {
    const x = c.toLowerCase();
    return x.includes("@") ? x === a : x === local;
  });
}

export class IncomingReports {
  readonly #store: ReceivedReports;
  readonly #logger: Logger;
  readonly #addresses: () => readonly string[];

  constructor(opts: { store: ReceivedReports; logger: Logger; addresses: () => readonly string[] }) {
    this.#store = opts.store;
    this.#logger = opts.logger;
    this.#addresses = opts.addresses;
  }

  /** True when this delivered copy is for a report address. */
  wants(raw: Buffer): boolean {
    const to = deliveredTo(raw);
    return to !== null && isReportAddress(to, this.#addresses());
  }

  /** Reads and keeps the report of a committed copy; resolves with the kept id, or null. */
  async receive(raw: Buffer, opts: { accountId: string | null; receivedAt: number }): Promise<string | null> {
    try {
      const found = extractReport(raw);
      if (!found) {
        this.#logger.info({ to: deliveredTo(raw) }, "mail to a report address carries no report");
        return null;
      }
      const key = /(?:^|\n)Message-ID:[ \t]*(\S+)/i.exec(raw.subarray(0, 65536).toString("latin1"))?.[1];
      const id = await this.#store.add(found, { ...opts, ...(key ? { key } : {}) });
      this.#logger.info({ kind: found.kind, id }, id ? "report received" : "report received again");
      return id;
    } catch (e) {
      if (e instanceof ReportParseError)
        this.#logger.warn({ err: e.message }, "an incoming report could not be read");
      else this.#logger.error({ err: e }, "keeping an incoming report failed");
      return null;
    }
  }
}
