// The search index on both backends with the same cases: substring semantics (RFC 9051
// §6.4.4), Unicode, short needles, LIKE/FTS metacharacters, headers by name, and every
// non-text criterion, combined with AND/OR/NOT.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Dialect } from "../../src/store/sql.ts";
import type { SearchQuery } from "../../src/store/types.ts";
import {
  openTestDb,
  postgresAvailable,
  seed,
  type SeedMessage,
  type Seeded,
  type TestDb,
} from "./fixture.ts";

const day = (m: number, d: number) => Date.UTC(2024, m - 1, d);

const headers = (lines: string[]) => lines.join("\n");

// INBOX uids 1..6 (uid 3 is absent: expunged), Archive holds 7 and a copy of 1.
const CORPUS: SeedMessage[] = [
  {
    // INBOX 1
    in: [
      { mailbox: "INBOX", uid: 1, savedAt: day(1, 2) },
      { mailbox: "Archive", uid: 10, savedAt: day(6, 1), modseq: 40 },
    ],
    keywords: ["\\Seen"],
    size: 1_000,
    receivedAt: day(1, 1),
    sentAt: day(12, 31) - 366 * 86_400_000,
    modseq: 5,
    thread: "apple",
    doc: {
      from: "Alice Apple <alice@example.com>",
      to: "bob@example.com",
      subject: "Apple pie recipe",
      headers: headers([
        "From: Alice Apple <alice@example.com>",
        "To: bob@example.com",
        "Subject: Apple pie recipe",
        "Message-ID: <pie-1@example.com>",
      ]),
      body: "Take three apples and bake them.",
    },
  },
  {
    // INBOX 2
    in: [{ mailbox: "INBOX", uid: 2 }],
    keywords: ["$Forwarded", "\\Seen"],
    size: 5_000,
    receivedAt: day(2, 1),
    sentAt: null,
    modseq: 12,
    doc: {
      from: "Jürgen Groß <j@example.de>",
      to: "alice@example.com",
      subject: "Grüße aus München",
      headers: headers([
        "From: =?utf-8?q?J=C3=BCrgen_Gro=C3=9F?= <j@example.de>",
        "To: alice@example.com",
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=",
        "X-Mailer: Umlaut-O-Matic",
        "X-Greeting: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
      ]),
      body: "Viele GRÜSSE und bis bald",
    },
  },
  {
    // INBOX 4: its keywords changed while elsewhere (the email's modseq is above the membership's)
    in: [{ mailbox: "INBOX", uid: 4, modseq: 15 }],
    keywords: [],
    size: 20_000,
    receivedAt: day(3, 1),
    modseq: 45,
    doc: {
      from: "Иван Петров <ivan@example.ru>",
      to: "alice@example.com",
      subject: "Привет, мир",
      headers: headers([
        "From: =?utf-8?b?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>",
        "Subject: Privet",
      ]),
      body: "Съешь же ещё этих мягких французских булок",
    },
  },
  {
    // INBOX 5
    in: [{ mailbox: "INBOX", uid: 5 }],
    keywords: ["\\Flagged"],
    size: 300,
    receivedAt: day(4, 1),
    modseq: 30,
    doc: {
      from: "田中 <tanaka@example.jp>",
      to: "alice@example.com",
      subject: "日本語のテスト",
      headers: headers(["From: tanaka@example.jp", "Subject: test"]),
      body: "東京で会いましょう",
    },
  },
  {
    // INBOX 6
    in: [{ mailbox: "INBOX", uid: 6, modseq: 50 }],
    keywords: ["$Junk"],
    size: 40_000,
    receivedAt: day(5, 1),
    modseq: 31,
    doc: {
      from: "bob@example.com",
      to: "alice@example.com",
      cc: "Carol <carol@example.org>",
      subject: 'Re: 100% "discount_code"',
      headers: headers([
        "From: bob@example.com",
        "Cc: Carol <carol@example.org>",
        'Subject: Re: 100% "discount_code"',
        "X-Spam-Flag: YES",
        "X-Long: first part",
        "  continued second part",
      ]),
      body: "Use code A_B%C now. Pay 5 € only. Pattern [x] a*b ok?",
    },
  },
  {
    // Archive 11
    in: [{ mailbox: "Archive", uid: 11 }],
    size: 100,
    receivedAt: day(6, 1),
    modseq: 32,
    thread: "apple",
    doc: {
      from: "Alice <alice@example.com>",
      subject: "archived apple",
      headers: "Subject: archived apple",
      body: "old",
    },
  },
];

interface Case {
  name: string;
  q: SearchQuery;
  /** INBOX uids. */
  uids: number[];
}

const text = (t: string): SearchQuery => ({ op: "text", text: t });
const body = (t: string): SearchQuery => ({ op: "body", text: t });
const header = (field: string, t: string): SearchQuery => ({ op: "header", field, text: t });
const not = (term: SearchQuery): SearchQuery => ({ op: "not", term });
const and = (...terms: SearchQuery[]): SearchQuery => ({ op: "and", terms });
const or = (...terms: SearchQuery[]): SearchQuery => ({ op: "or", terms });
const kw = (keyword: string): SearchQuery => ({ op: "keyword", keyword });

const CASES: Case[] = [
  { name: "all", q: { op: "all" }, uids: [1, 2, 4, 5, 6] },
  { name: "substring in the middle of a word", q: body("ppl"), uids: [1] },
  { name: "case-insensitive ASCII", q: text("APPLE PIE"), uids: [1] },
  { name: "case-insensitive Unicode, ß = ss", q: body("grüsse"), uids: [2] },
  { name: "decoded subject, ß in the needle", q: header("subject", "GRÜßE"), uids: [2] },
  { name: "decoded encoded-word in a raw header via TEXT", q: text("jürgen"), uids: [2] },
  { name: "Cyrillic, other case", q: body("ФРАНЦУЗСКИХ"), uids: [4] },
  { name: "Cyrillic subject", q: header("subject", "привет"), uids: [4] },
  { name: "CJK three characters", q: body("東京で"), uids: [5] },
  { name: "CJK two characters", q: body("東京"), uids: [5] },
  { name: "CJK one character in FROM", q: header("from", "田"), uids: [5] },
  { name: "one ASCII character", q: body("z"), uids: [] },
  { name: "one character found", q: body("e"), uids: [1, 2, 6] },
  { name: "two characters", q: body("ap"), uids: [1] },
  { name: "empty text matches all", q: body(""), uids: [1, 2, 4, 5, 6] },
  { name: "LIKE metacharacters are literal: %", q: body("b%c"), uids: [6] },
  { name: "LIKE metacharacters are literal: _", q: text("_"), uids: [6] },
  { name: "underscore inside a longer needle", q: text("t_c"), uids: [6] },
  { name: "percent alone", q: text("%"), uids: [6] },
  { name: "double quote in the needle", q: text('"discount'), uids: [6] },
  { name: "GLOB metacharacters are literal", q: body("[x] a*b"), uids: [6] },
  { name: "* is not a wildcard", q: body("b*c"), uids: [] },
  { name: "? is not a wildcard", q: body("b?c"), uids: [] },
  { name: "[ is not a class", q: body("[%]"), uids: [] },
  { name: "trailing ?", q: body("ok?"), uids: [6] },
  { name: "euro sign", q: body("5 €"), uids: [6] },
  { name: "FROM address", q: header("from", "example.com"), uids: [1, 6] },
  { name: "FROM display name", q: header("from", "alice apple"), uids: [1] },
  { name: "TO", q: header("to", "bob@"), uids: [1] },
  { name: "CC", q: header("cc", "carol"), uids: [6] },
  { name: "BCC none", q: header("bcc", "a"), uids: [] },
  { name: "header by name", q: header("x-spam-flag", "yes"), uids: [6] },
  { name: "header by name, mixed-case field", q: header("X-Mailer", "o-mat"), uids: [2] },
  { name: "encoded words decoded in any header", q: header("x-greeting", "GRÜSSE"), uids: [2] },
  { name: "header presence", q: header("x-spam-flag", ""), uids: [6] },
  { name: "header presence of cc", q: header("cc", ""), uids: [6] },
  { name: "folded header value", q: header("x-long", "part continued"), uids: [6] },
  { name: "value of another field does not match", q: header("x-mailer", "example"), uids: [] },
  { name: "message-id header", q: header("message-id", "pie-1@"), uids: [1] },
  { name: "body excludes headers", q: body("alice"), uids: [] },
  { name: "text includes headers", q: text("alice"), uids: [1, 2, 4, 5, 6] },
  { name: "text includes the body", q: text("bake"), uids: [1] },
  { name: "keyword", q: kw("\\Seen"), uids: [1, 2] },
  { name: "keyword, other case", q: kw("\\SEEN"), uids: [1, 2] },
  { name: "keyword $Forwarded", q: kw("$forwarded"), uids: [2] },
  { name: "NOT keyword", q: not(kw("\\Seen")), uids: [4, 5, 6] },
  { name: "keyword prefix does not match", q: kw("\\See"), uids: [] },
  { name: "AND", q: and(kw("\\Seen"), text("apple")), uids: [1] },
  { name: "OR", q: or(body("ppl"), body("東京")), uids: [1, 5] },
  { name: "NOT text", q: not(header("from", "example.com")), uids: [2, 4, 5] },
  { name: "nested", q: or(and(kw("\\Seen"), not(body("apple"))), header("cc", "carol")), uids: [2, 6] },
  { name: "empty AND", q: and(), uids: [1, 2, 4, 5, 6] },
  { name: "empty OR", q: or(), uids: [] },
  {
    name: "uid ranges",
    q: {
      op: "uid",
      ranges: [
        [1, 2],
        [5, 5],
      ],
    },
    uids: [1, 2, 5],
  },
  { name: "uid range reversed", q: { op: "uid", ranges: [[6, 4]] }, uids: [4, 5, 6] },
  { name: "NOT uid", q: not({ op: "uid", ranges: [[1, 4]] }), uids: [5, 6] },
  {
    name: "many uids",
    q: { op: "uid", ranges: Array.from({ length: 300 }, (_, i): [number, number] => [2 * i + 2, 2 * i + 2]) },
    uids: [2, 4, 6],
  },
  {
    name: "many uid ranges",
    q: {
      op: "uid",
      ranges: Array.from({ length: 300 }, (_, i): [number, number] => [100 * i + 1, 100 * i + 2]),
    },
    uids: [1, 2],
  },
  {
    name: "many uid spans",
    q: {
      op: "uid",
      ranges: Array.from({ length: 300 }, (_, i): [number, number] => [100 * i + 5, 100 * i + 15]),
    },
    uids: [5, 6],
  },
  { name: "received since", q: { op: "received", since: day(3, 1) }, uids: [4, 5, 6] },
  { name: "received before", q: { op: "received", before: day(3, 1) }, uids: [1, 2] },
  { name: "received on", q: { op: "received", since: day(2, 1), before: day(2, 2) }, uids: [2] },
  { name: "sent before (no Date: internal date)", q: { op: "sent", before: day(1, 1) }, uids: [1] },
  { name: "sent since", q: { op: "sent", since: day(2, 1) }, uids: [2, 4, 5, 6] },
  { name: "saved since", q: { op: "saved", since: day(1, 2) }, uids: [1, 2, 4, 5, 6] },
  { name: "saved before", q: { op: "saved", before: day(1, 3) }, uids: [1] },
  { name: "larger", q: { op: "size", larger: 1_000 }, uids: [2, 4, 6] },
  { name: "smaller", q: { op: "size", smaller: 1_000 }, uids: [5] },
  { name: "larger and smaller", q: { op: "size", larger: 300, smaller: 20_001 }, uids: [1, 2, 4] },
  { name: "modseq in a mailbox is the membership's", q: { op: "modseq", min: 31 }, uids: [6] },
  { name: "modseq in a mailbox ignores the email's own", q: { op: "modseq", min: 40 }, uids: [6] },
  { name: "modseq inclusive", q: { op: "modseq", min: 30 }, uids: [5, 6] },
  { name: "NOT modseq", q: not({ op: "modseq", min: 12 }), uids: [1] },
];

function suite(dialect: Dialect, skip: () => string | false): void {
  void describe(`search on ${dialect}`, () => {
    let t: TestDb | undefined;
    let s: Seeded;
    let other: Seeded;

    before(async () => {
      if (skip()) return;
      t = await openTestDb(dialect);
      s = await seed(t, "alice", CORPUS);
      // Another account with matching text: never found from alice's.
      other = await seed(t, "mallory", [
        {
          in: [{ mailbox: "INBOX", uid: 1 }],
          keywords: ["\\Seen"],
          doc: { body: "apple apples", subject: "apple" },
        },
      ]);
    });
    after(async () => {
      await t?.close();
    });

    const inbox = async (q: SearchQuery, limit?: number) => {
      const hits = await t!.index.search(t!.db, s.accountNum, q, {
        mailboxNum: s.mailboxNum.get("INBOX")!,
        ...(limit === undefined ? {} : { limit }),
      });
      for (const h of hits) assert.equal(typeof h.uid, "number");
      return hits.map((h) => h.uid);
    };

    for (const c of CASES) {
      void test(c.name, { skip: skip() }, async () => {
        assert.deepEqual(await inbox(c.q), c.uids);
      });
    }

    void test("hits carry the email num, ascending by uid", { skip: skip() }, async () => {
      const hits = await t!.index.search(t!.db, s.accountNum, text("example"), {
        mailboxNum: s.mailboxNum.get("INBOX")!,
      });
      assert.deepEqual(
        hits.map((h) => h.emailNum),
        [0, 1, 2, 3, 4].map((i) => s.emailNums[i]),
      );
    });

    void test("limit", { skip: skip() }, async () => {
      assert.deepEqual(await inbox({ op: "all" }, 2), [1, 2]);
    });

    void test(
      "without a mailbox: every email of the account, by num, with its id, no uid",
      { skip: skip() },
      async () => {
        const hits = await t!.index.search(t!.db, s.accountNum, text("apple"), {});
        assert.deepEqual(hits, [
          { emailNum: s.emailNums[0], emailId: s.emailIds[0] },
          { emailNum: s.emailNums[5], emailId: s.emailIds[5] },
        ]);
        const mine = await t!.index.search(t!.db, other.accountNum, text("apple"), {});
        assert.deepEqual(mine, [{ emailNum: other.emailNums[0], emailId: other.emailIds[0] }]);
      },
    );

    void test("uid and saved without a mailbox use any membership", { skip: skip() }, async () => {
      const byUid = await t!.index.search(t!.db, s.accountNum, { op: "uid", ranges: [[10, 11]] }, {});
      assert.deepEqual(
        byUid.map((h) => h.emailNum),
        [s.emailNums[0], s.emailNums[5]],
      );
      const bySaved = await t!.index.search(t!.db, s.accountNum, { op: "saved", since: day(6, 1) }, {});
      assert.deepEqual(
        bySaved.map((h) => h.emailNum),
        [s.emailNums[0], s.emailNums[5]],
      );
    });

    void test("inMailbox, emailIds, threadIds", { skip: skip() }, async () => {
      const nums = async (q: SearchQuery) =>
        (await t!.index.search(t!.db, s.accountNum, q, {})).map((h) => h.emailNum);
      assert.deepEqual(await nums({ op: "inMailbox", mailboxId: s.mailboxId.get("Archive")! }), [
        s.emailNums[0],
        s.emailNums[5],
      ]);
      assert.deepEqual(await nums({ op: "inMailbox", mailboxId: other.mailboxId.get("INBOX")! }), []);
      assert.deepEqual(
        await nums({ op: "emailIds", ids: [s.emailIds[1]!, s.emailIds[3]!, other.emailIds[0]!] }),
        [s.emailNums[1], s.emailNums[3]],
      );
      const many = [...Array.from({ length: 200 }, (_, i) => `nope${i}`), s.emailIds[2]!];
      assert.deepEqual(await nums({ op: "emailIds", ids: many }), [s.emailNums[2]]);
      assert.deepEqual(await nums({ op: "threadIds", ids: [s.threadIds.get("apple")!] }), [
        s.emailNums[0],
        s.emailNums[5],
      ]);
      assert.deepEqual(
        await nums(and({ op: "inMailbox", mailboxId: s.mailboxId.get("Archive")! }, not(kw("\\Seen")))),
        [s.emailNums[5]],
      );
      // A mailbox query combined with inMailbox of another mailbox.
      const both = await t!.index.search(
        t!.db,
        s.accountNum,
        { op: "inMailbox", mailboxId: s.mailboxId.get("Archive")! },
        {
          mailboxNum: s.mailboxNum.get("INBOX")!,
        },
      );
      assert.deepEqual(both, [{ emailNum: s.emailNums[0], emailId: s.emailIds[0], uid: 1 }]);
    });

    void test("modseq in another mailbox uses that membership", { skip: skip() }, async () => {
      const hits = await t!.index.search(
        t!.db,
        s.accountNum,
        { op: "modseq", min: 40 },
        { mailboxNum: s.mailboxNum.get("Archive")! },
      );
      assert.deepEqual(hits, [{ emailNum: s.emailNums[0], emailId: s.emailIds[0], uid: 10 }]);
      const wide = await t!.index.search(t!.db, s.accountNum, { op: "modseq", min: 45 }, {});
      assert.deepEqual(
        wide.map((h) => h.emailNum),
        [s.emailNums[2]],
        "account-wide: the email's modseq",
      );
    });

    void test("copy indexes the new email like the source; remove drops it", { skip: skip() }, async () => {
      const copyNum = await t!.db.transaction(async (tx) => {
        const row = await tx.get<{ num: number }>(
          `INSERT INTO emails (id, account_num, thread_num, blob_id, size, received_at, sent_at, keywords, modseq,
             base_subject, envelope, meta)
           SELECT 'E-copy', account_num, thread_num, blob_id, size, received_at, sent_at, keywords, modseq, base_subject,
             envelope, meta FROM emails WHERE num = ? RETURNING num`,
          [s.emailNums[1]!],
        );
        await t!.index.copy(tx, s.accountNum, s.emailNums[1]!, Number(row!.num));
        return Number(row!.num);
      });
      const find = async (q: SearchQuery) =>
        (await t!.index.search(t!.db, s.accountNum, q, {})).map((h) => h.emailNum);
      assert.deepEqual(await find(body("grüsse")), [s.emailNums[1], copyNum]);
      assert.deepEqual(await find(header("x-mailer", "umlaut")), [s.emailNums[1], copyNum]);
      await t!.db.transaction(async (tx) => {
        await t!.index.remove(tx, [copyNum]);
        await tx.run("DELETE FROM emails WHERE num = ?", [copyNum]);
      });
      assert.deepEqual(await find(body("grüsse")), [s.emailNums[1]]);
      assert.deepEqual(await find(header("x-mailer", "umlaut")), [s.emailNums[1]]);
    });

    void test(
      "a field that did not parse is searched by its raw, decoded value",
      { skip: skip() },
      async () => {
        const eve = await seed(t!, "eve", [
          {
            in: [{ mailbox: "INBOX", uid: 1 }],
            doc: { headers: "From: =?utf-8?q?K=C3=A4the?= <<broken", subject: "x" },
          },
        ]);
        const find = async (q: SearchQuery) => (await t!.index.search(t!.db, eve.accountNum, q, {})).length;
        assert.equal(await find(header("from", "KÄTHE <<")), 1);
        assert.equal(await find(text("käthe")), 1);
        assert.equal(await find(header("from", "")), 1);
        assert.equal(await find(header("subject", "")), 0, "only fields present in the header count");
      },
    );

    void test("deep nesting is refused, wide lists are fine", { skip: skip() }, async () => {
      let q: SearchQuery = { op: "all" };
      for (let i = 0; i < 150; i++) q = not(q);
      await assert.rejects(() => inbox(q), { code: "LIMIT" });
      const wide = or(...Array.from({ length: 500 }, (_, i) => body(`nomatch${i}`)), body("bake"));
      assert.deepEqual(await inbox(wide), [1]);
    });
  });
}

suite("sqlite", () => false);

const pgUp = await postgresAvailable();
suite("postgres", () => (pgUp ? false : "PostgreSQL is not reachable"));
