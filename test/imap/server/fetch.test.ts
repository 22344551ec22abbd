// FETCH served from stored metadata: flags, dates, sizes, ENVELOPE, BODYSTRUCTURE, sections
// with partials, BINARY, MODSEQ/CHANGEDSINCE, object ids, PREVIEW, SAVEDATE; \Seen by
// non-PEEK fetches only.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { message, startImap, type ImapFixture } from "./helpers.ts";

const MULTI = [
  "From: Bob <bob@example.test>",
  "To: alice@example.test",
  "Subject: multi",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="XX"',
  "",
  "--XX",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "caf=C3=A9",
  "--XX",
  "Content-Type: application/octet-stream",
  "Content-Transfer-Encoding: base64",
  "",
  Buffer.from([0, 1, 2, 3, 255]).toString("base64"),
  "--XX--",
  "",
].join("\r\n");

describe("IMAP FETCH", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    await f.deliver(message("plain one", ["Line one.", "Line two."]));
    await f.deliver(MULTI);
  });
  after(async () => f.stop());

  test("simple items and sections; PEEK leaves \\Seen alone", async () => {
    const c = await f.raw();
    await c.cmd("SELECT INBOX");
    const r = await c.cmd(
      "FETCH 1 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<5.4>)",
    );
    assert.match(
      r,
      /^\* 1 FETCH \(UID 1 RFC822.SIZE \d+ INTERNALDATE "\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}" BODY\[HEADER.FIELDS \(SUBJECT\)\] \{22\}\r\nSubject: plain one\r\n\r\n BODY\[TEXT\]<5> \{4\}\r\none\.\)\r\n/,
    );
    assert.match(await c.cmd("FETCH 1 FLAGS"), /\* 1 FETCH \(FLAGS \(\\Recent\)\)/);
    const b = await c.cmd("FETCH 1 BODY[]");
    assert.match(b, /BODY\[\] \{\d+\}\r\nFrom: Bob/);
    assert.match(b, /FLAGS \(\\Seen \\Recent\)/);
    c.close();
  });

  test("multipart: BODYSTRUCTURE, MIME header, BINARY and BINARY.SIZE", async () => {
    const c = await f.raw();
    await c.cmd("EXAMINE INBOX");
    const bs = await c.cmd("FETCH 2 BODYSTRUCTURE");
    assert.match(
      bs,
      /BODYSTRUCTURE \(\("text" "plain" \("charset" "utf-8"\) NIL NIL "quoted-printable" \d+ \d+ .*\)\("application" "octet-stream" NIL NIL NIL "base64" \d+ .*\) "mixed" \("boundary" "XX"\)/,
    );
    assert.match(
      await c.cmd("FETCH 2 BODY.PEEK[1.MIME]"),
      /BODY\[1.MIME\] \{\d+\}\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\)/,
    );
    assert.match(await c.cmd("FETCH 2 BODY.PEEK[1]"), /BODY\[1\] \{9\}\r\ncaf=C3=A9\)/);
    assert.match(
      await c.cmd("FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[2])"),
      /BINARY\[1\] \{5\}\r\ncafé BINARY.SIZE\[2\] 5\)/,
    );
    const bin = await c.cmd("FETCH 2 BINARY.PEEK[2]");
    assert.ok(bin.includes("BINARY[2] ~{5}\r\n\x00\x01\x02\x03"));
    assert.match(await c.cmd("FETCH 2 BODY.PEEK[9]"), /BODY\[9\] \{0\}\r\n\)/);
    // a partial without a length runs to the end (as Dovecot reads it)
    assert.match(await c.cmd("FETCH 2 BINARY.PEEK[1]<2>"), /BINARY\[1\]<2> \{3\}\r\nfé\)/);
    assert.match(
      await c.cmd("FETCH 1 BODY.PEEK[TEXT]<5>"),
      /BODY\[TEXT\]<5> \{17\}\r\none\.\r\nLine two\.\r\n\)/,
    );
    // section texts under BINARY, as Dovecot: the bytes BODY[section] gives
    assert.match(
      await c.cmd("FETCH 2 (BINARY.SIZE[1.MIME] BINARY.PEEK[1.MIME])"),
      /BINARY.SIZE\[1.MIME\] 88 BINARY\[1.MIME\] \{88\}\r\nContent-Type: text\/plain; charset=utf-8\r\n/,
    );
    assert.match(
      await c.cmd("FETCH 1 (BINARY.PEEK[HEADER.FIELDS (Subject)] BINARY.SIZE[TEXT])"),
      /BINARY\[HEADER.FIELDS \(SUBJECT\)\] \{22\}\r\nSubject: plain one\r\n\r\n BINARY.SIZE\[TEXT\] 22\)/,
    );
    c.close();
  });

  test("ENVELOPE, object ids, MODSEQ, PREVIEW, SAVEDATE; UID FETCH adds UID", async () => {
    const c = await f.raw();
    await c.cmd("EXAMINE INBOX");
    const r = await c.cmd("UID FETCH 1:* (ENVELOPE EMAILID THREADID MODSEQ PREVIEW SAVEDATE)");
    assert.match(r, /\* 1 FETCH \(UID 1 ENVELOPE \("Mon, 1 Jan 2024 10:00:00 \+0000" "plain one" /);
    assert.match(
      r,
      /EMAILID \([\w-]+\) THREADID \([\w-]+\) MODSEQ \(\d+\) PREVIEW "Line one. Line two." SAVEDATE "/,
    );
    assert.match(r, /\* 2 FETCH \(UID 2 /);
    assert.match(await c.cmd("FETCH 5 FLAGS"), /^A\d+ BAD/);
    c.close();
  });

  test("CHANGEDSINCE returns what changed after the modseq, with MODSEQ", async () => {
    const c = await f.raw();
    const m = /HIGHESTMODSEQ (\d+)/.exec(await c.cmd("SELECT INBOX"));
    const base = Number(m?.[1]);
    await c.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)");
    const r = await c.cmd(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${base})`);
    // the first CONDSTORE-enabling command tells HIGHESTMODSEQ: what this session was told of,
    // up to its own STORE once that is on disk (it is answered before; a lower value is the
    // safe side, RFC 7162 errata 1810)
    const high = Number(/^\* OK \[HIGHESTMODSEQ (\d+)\]/.exec(r)?.[1]);
    assert.match(r, /\r\n\* 2 FETCH \(FLAGS \([^)]*\\Flagged[^)]*\) MODSEQ \((\d+)\)\)\r\nA\d+ OK/);
    const stored = Number(/MODSEQ \((\d+)\)/.exec(r)?.[1]);
    assert.ok(high >= base && high <= stored, `HIGHESTMODSEQ ${high} between ${base} and ${stored}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await c.cmd("NOOP");
    assert.doesNotMatch(after, /\* 2 FETCH/, "its own change is not told again");
    assert.match(await c.cmd("STATUS INBOX (HIGHESTMODSEQ)"), new RegExp(`HIGHESTMODSEQ ${stored}\\)`));
    c.close();
  });
});
