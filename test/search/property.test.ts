// Property: on both backends, BODY/TEXT/HEADER searches find exactly the messages whose folded
// text contains the folded needle (RFC 9051 §6.4.4 substring semantics), for random text over
// a small alphabet full of SQL, LIKE, GLOB and FTS5 metacharacters, multi-byte and astral
// characters, and needles of every length (the under-3-character path included), through the
// index and row by row (the plan for a small mailbox).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fold } from "../../src/store/search/text.ts";
import type { Dialect } from "../../src/store/sql.ts";
import type { SearchQuery } from "../../src/store/types.ts";
import { openTestDb, postgresAvailable, seed, type Seeded, type TestDb } from "./fixture.ts";

const ALPHABET = [
  "a",
  "b",
  "A",
  "ü",
  "Ü",
  "ß",
  "ж",
  "Ж",
  "東",
  "😀",
  " ",
  '"',
  "'",
  "%",
  "_",
  "\\",
  "*",
  "?",
  "[",
  "]",
  ":",
  "-",
];
const textArb = (max: number) =>
  fc.array(fc.constantFrom(...ALPHABET), { maxLength: max }).map((a) => a.join(""));

const DOCS = fc.sample(fc.record({ body: textArb(40), subject: textArb(12), tag: textArb(12) }), {
  numRuns: 40,
  seed: 7,
});

function suite(dialect: Dialect, skip: () => string | false): void {
  void describe(`search property on ${dialect}`, () => {
    let t: TestDb | undefined;
    let s: Seeded;
    before(async () => {
      if (skip()) return;
      t = await openTestDb(dialect);
      s = await seed(
        t,
        "prop",
        DOCS.map((d, i) => ({
          in: [{ mailbox: "INBOX", uid: i + 1 }],
          doc: { body: d.body, subject: d.subject, headers: `Subject: ${d.subject}\nX-Tag: ${d.tag}` },
        })),
      );
    });
    after(async () => {
      await t?.close();
    });

    // Both plans: through the index, and row by row as for a small mailbox (`rows`); they
    // must agree before the result is compared.
    const found = async (q: SearchQuery) => {
      const mailboxNum = s.mailboxNum.get("INBOX")!;
      const viaIndex = (await t!.index.search(t!.db, s.accountNum, q, { mailboxNum })).map((h) => h.uid!);
      const rowByRow = (await t!.index.search(t!.db, s.accountNum, q, { mailboxNum, rows: 1 })).map(
        (h) => h.uid!,
      );
      assert.deepEqual(rowByRow, viaIndex, `row by row vs index: ${JSON.stringify(q)}`);
      return viaIndex;
    };
    // Header values are kept without the white space around them (as after the colon).
    const expected = (pick: (d: (typeof DOCS)[number]) => string[], needle: string) =>
      DOCS.flatMap((d, i) => (pick(d).some((x) => fold(x).includes(fold(needle))) ? [i + 1] : []));

    // Needles: pieces of the indexed text (so most match) and free random strings.
    const needleArb = fc.oneof(
      fc
        .tuple(fc.nat(DOCS.length - 1), fc.nat(40), fc.integer({ min: 1, max: 6 }))
        .map(([i, start, len]) => [...DOCS[i]!.body].slice(start, start + len).join("")),
      textArb(5),
    );

    void test("BODY", { skip: skip() }, async () => {
      await fc.assert(
        fc.asyncProperty(needleArb, async (needle) => {
          assert.deepEqual(
            await found({ op: "body", text: needle }),
            expected((d) => [d.body], needle),
            `needle ${JSON.stringify(needle)}`,
          );
        }),
        { numRuns: 150, seed: 11 },
      );
    });

    void test("TEXT and HEADER", { skip: skip() }, async () => {
      await fc.assert(
        fc.asyncProperty(textArb(4), async (needle) => {
          assert.deepEqual(
            await found({ op: "text", text: needle }),
            expected((d) => [d.body, d.subject, `x-tag: ${d.tag.trim()}`], needle),
            `text ${JSON.stringify(needle)}`,
          );
          assert.deepEqual(
            await found({ op: "header", field: "x-tag", text: needle }),
            needle === "" ? DOCS.map((_, i) => i + 1) : expected((d) => [d.tag.trim()], needle),
            `x-tag ${JSON.stringify(needle)}`,
          );
          assert.deepEqual(
            await found({ op: "header", field: "subject", text: needle }),
            needle === "" ? DOCS.map((_, i) => i + 1) : expected((d) => [d.subject], needle),
            `subject ${JSON.stringify(needle)}`,
          );
        }),
        { numRuns: 100, seed: 12 },
      );
    });
  });
}

suite("sqlite", () => false);
const pgUp = await postgresAvailable();
suite("postgres", () => (pgUp ? false : "PostgreSQL is not reachable"));
