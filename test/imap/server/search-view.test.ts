// SEARCH from the selected-mailbox view (src/protocols/imap/server/search-view.ts) against the
// store's search: for random queries over flags, keywords (any case), UID sets, MODSEQ, dates,
// sizes, EMAILID and THREADID, both give the same UIDs; a query with a text key is left to the
// store (null); messages expunged elsewhere and not reported yet are not found.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { systemClock } from "../../../src/core/clock.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { MailboxChangeReader } from "../../../src/protocols/imap/server/mailbox-changes.ts";
import { searchView } from "../../../src/protocols/imap/server/search-view.ts";
import { SelectedMailbox } from "../../../src/protocols/imap/server/selected.ts";
import { openStore } from "../../../src/store/open.ts";
import type { SearchQuery } from "../../../src/store/types.ts";
import { input, ok, rawMessage } from "../../store/helpers.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const FLAGS = ["\\Seen", "\\Flagged", "\\Deleted", "\\Answered", "$Work", "$label1"];

test("the view's SEARCH answers as the store's for flags, sets, dates and sizes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-search-view-"));
  const store = await openStore({
    backend: "sqlite",
    sqlitePath: join(dir, "mail.sqlite"),
    blobs: "db",
    search: "scan",
    clock: systemClock,
    logger: silentLogger(),
  });
  try {
    const a = await store.createAccount({ name: "sv@example.org" });
    const box = (await store.createMailbox(a.id, { name: "Box" })).id;
    const emails: string[] = [];
    for (let i = 0; i < 40; i++) {
      const keywords = FLAGS.filter((_, k) => (i >> k) % 3 === 0);
      const raw = rawMessage({ subject: `m${i}`, size: 300 + ((i * 137) % 2000) });
      emails.push(
        ok(
          await store
            .appendEmails(a.id, [
              // internal dates near midnight in zones from -10:00 to +10:00 (APPEND date-times)
              {
                ...input(raw, [box], keywords, T0 + (i % 10) * DAY + ((i * 7) % 5) * 3_600_000),
                receivedTz: ((i % 5) - 2) * 300,
              },
            ])
            .then((r) => r[0]!),
        ).emailId,
      );
    }
    // later flag changes give the messages different modseqs
    await store.setKeywords(a.id, emails.slice(0, 10), { add: ["$Later"] });
    await store.setKeywords(a.id, emails.slice(5, 15), { remove: ["\\Seen"] });
    const mailbox = (await store.getMailbox(a.id, box))!;
    const view = await SelectedMailbox.open(store, a.id, mailbox, {
      readOnly: false,
      rev1: false,
      changes: new MailboxChangeReader(),
    });
    const rows = [...view.rows.values()];
    const threads = [...new Set(rows.map((r) => r.threadId))];
    const modseqs = rows.map((r) => r.modseq);
    const leaf: fc.Arbitrary<SearchQuery> = fc.oneof(
      fc.constant<SearchQuery>({ op: "all" }),
      fc
        .constantFrom(...FLAGS, "$later", "\\SEEN", "$absent")
        .map((keyword): SearchQuery => ({ op: "keyword", keyword })),
      fc
        .array(fc.tuple(fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 45 })), { maxLength: 4 })
        .map((ranges): SearchQuery => ({ op: "uid", ranges })),
      fc.constantFrom(...modseqs).map((min): SearchQuery => ({ op: "modseq", min })),
      fc
        .record({ since: fc.integer({ min: -2, max: 12 }), before: fc.integer({ min: -2, max: 12 }) })
        .chain(({ since, before }) =>
          fc.constantFrom<SearchQuery>(
            { op: "received", since: T0 + since * DAY },
            { op: "received", since: T0 + since * DAY, before: T0 + before * DAY, local: true },
            { op: "received", before: T0 + before * DAY, local: true },
            { op: "received", before: T0 + before * DAY },
            { op: "received", since: T0 + since * DAY, before: T0 + before * DAY },
            { op: "saved", since: T0 + since * DAY },
          ),
        ),
      fc
        .record({ larger: fc.integer({ min: 0, max: 2500 }), smaller: fc.integer({ min: 0, max: 2500 }) })
        .chain(({ larger, smaller }) =>
          fc.constantFrom<SearchQuery>(
            { op: "size", larger },
            { op: "size", smaller },
            { op: "size", larger, smaller },
          ),
        ),
      fc.subarray(emails, { maxLength: 3 }).map((ids): SearchQuery => ({ op: "emailIds", ids })),
      fc.subarray(threads, { maxLength: 2 }).map((ids): SearchQuery => ({ op: "threadIds", ids })),
    );
    const query = fc.letrec<{ q: SearchQuery }>((tie) => ({
      q: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.record({ op: fc.constant("not" as const), term: tie("q") }),
        fc.record({
          op: fc.constantFrom("and" as const, "or" as const),
          terms: fc.array(tie("q"), { maxLength: 3 }),
        }),
      ),
    })).q;
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const fromStore = (await store.search(a.id, q, { mailboxId: box }))
          .map((h) => h.uid!)
          .sort((x, y) => x - y);
        assert.deepEqual(searchView(view, q), fromStore);
      }),
      { numRuns: 500 },
    );
    // text keys need the store
    assert.equal(searchView(view, { op: "and", terms: [{ op: "all" }, { op: "text", text: "m1" }] }), null);
    assert.equal(searchView(view, { op: "sent", since: T0 }), null);
    // expunged elsewhere, not reported yet: not found
    const first = view.uids[0]!;
    view.removeNow([first]);
    assert.ok(!searchView(view, { op: "all" })!.includes(first));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
