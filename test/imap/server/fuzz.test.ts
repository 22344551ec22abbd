// Random and mutated input never crashes a session or the server: after each burst a new
// connection still logs in and runs commands. Commands are drawn from the real grammar with
// random arguments, and from random bytes, sent before and after login in the selected state.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { message, PASSWORD, RawImap, startImap, type ImapFixture } from "./helpers.ts";

const VERBS = [
  "FETCH",
  "UID FETCH",
  "STORE",
  "UID STORE",
  "SEARCH",
  "UID SEARCH",
  "COPY",
  "MOVE",
  "UID MOVE",
  "EXPUNGE",
  "UID EXPUNGE",
  "LIST",
  "LSUB",
  "STATUS",
  "SELECT",
  "EXAMINE",
  "CREATE",
  "DELETE",
  "RENAME",
  "APPEND",
  "ENABLE",
  "ID",
  "NOOP",
  "CLOSE",
  "UNSELECT",
  "GETQUOTAROOT",
  "GETQUOTA",
  "NAMESPACE",
  "CAPABILITY",
  "SUBSCRIBE",
  "LOGIN",
  "AUTHENTICATE",
];
const PIECES = [
  "1",
  "*",
  "1:*",
  "$",
  "2,4:5",
  "(",
  ")",
  "[",
  "]",
  "<0.10>",
  "BODY[]",
  "BODY.PEEK[1.MIME]",
  "BINARY[2]",
  "FLAGS",
  "(\\Seen)",
  "+FLAGS",
  "-FLAGS.SILENT",
  "INBOX",
  '"a&-b"',
  '"x"',
  "NIL",
  "RETURN",
  "(MIN MAX)",
  "CHARSET",
  "UTF-8",
  "ALL",
  "OR",
  "NOT",
  "HEADER",
  "SUBJECT",
  "(CHANGEDSINCE 1)",
  "(UNCHANGEDSINCE 0)",
  "(QRESYNC (1 1))",
  "{3+}\r\nabc",
  "~{2+}\r\n\0\0",
  '""',
  "\\",
  "%",
  "Trash",
  "(USE (\\Trash))",
  "MODSEQ",
  "1-Jan-2024",
  "SINCE",
  "UID",
];

describe("IMAP fuzz", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ limits: { commandsPerMinute: 100000 } });
    for (let i = 0; i < 3; i++) await f.deliver(message(`fz ${i}`));
  });
  after(async () => f.stop());

  async function alive(): Promise<void> {
    const c = await RawImap.connect(f.port);
    await c.greeting();
    assert.match(await c.cmd(`LOGIN ${f.user} "${PASSWORD}"`), /^A1 OK/);
    assert.match(await c.cmd("SELECT INBOX"), /OK \[READ-WRITE\]/);
    assert.match(await c.cmd("FETCH 1 FLAGS"), /A3 OK/);
    c.close();
  }

  async function burst(input: Buffer, login: boolean): Promise<void> {
    const c = await RawImap.connect(f.port);
    await c.greeting();
    if (login) {
      await c.cmd(`LOGIN ${f.user} "${PASSWORD}"`);
      await c.cmd("SELECT INBOX");
    }
    c.write(input);
    await new Promise((r) => setTimeout(r, 15));
    c.close();
  }

  const grammar = fc
    .array(
      fc.tuple(
        fc.constantFrom(...VERBS),
        fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }),
        fc.constantFrom(" ", "", "  "),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((cmds) =>
      Buffer.from(
        cmds
          .map(([v, args, sep], i) => `F${i} ${v}${args.length > 0 ? " " : ""}${args.join(sep)}\r\n`)
          .join(""),
      ),
    );

  test("commands with random arguments", async () => {
    await fc.assert(
      fc.asyncProperty(grammar, fc.boolean(), async (input, login) => {
        await burst(input, login);
      }),
      { numRuns: 60 },
    );
    await alive();
  });

  test("random bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, login) => {
        await burst(Buffer.from(bytes), login);
      }),
      { numRuns: 60 },
    );
    await alive();
  });

  test("every command parses and answers with a tagged reply when well formed enough", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    for (const v of VERBS.filter((x) => !["LOGIN", "AUTHENTICATE", "APPEND"].includes(x))) {
      const r = await c.cmd(`${v} 1 2 3`);
      assert.match(r, /^A\d+ (OK|NO|BAD)/m);
    }
    c.close();
    await alive();
  });
});
