// A sync script with Python's imaplib (Debian's /usr/bin/python3) against the server: login,
// list, select, fetch headers and bodies, flags, search, copy, expunge, append, and an
// incremental second pass that finds nothing new. Skipped without /usr/bin/python3.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { message, PASSWORD, startImap, type ImapFixture } from "./helpers.ts";

const PY = "/usr/bin/python3";
const run = promisify(execFile);

const SCRIPT = String.raw`
import imaplib, json, sys
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
M = imaplib.IMAP4("127.0.0.1", port)
M.login(user, pw)
typ, boxes = M.list()
out["boxes"] = sorted(b.decode().split(' "/" ')[1] for b in boxes)
typ, data = M.select("INBOX")
out["exists"] = int(data[0])
typ, data = M.uid("SEARCH", None, "ALL")
uids = data[0].split()
out["uids"] = [int(u) for u in uids]
typ, data = M.uid("FETCH", b",".join(uids).decode(), "(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
subjects = [d[1].decode().strip() for d in data if isinstance(d, tuple)]
out["subjects"] = subjects
typ, data = M.uid("FETCH", uids[0].decode(), "(RFC822)")
out["body"] = data[0][1].decode().split("\r\n\r\n", 1)[1]
M.uid("STORE", uids[0].decode(), "+FLAGS", "(\\Seen \\Flagged)")
typ, data = M.search(None, "FLAGGED")
out["flagged"] = data[0].decode()
typ, data = M.uid("COPY", uids[1].decode(), "Archive")
out["copy"] = typ
M.uid("STORE", uids[1].decode(), "+FLAGS.SILENT", "(\\Deleted)")
typ, data = M.expunge()
out["expunged"] = [d.decode() for d in data if d]
typ, data = M.append("Sent", "(\\Seen)", None, b"Subject: sent by python\r\n\r\nhi\r\n")
out["append"] = data[0].decode()
typ, data = M.status("INBOX", "(MESSAGES UIDNEXT)")
out["status"] = data[0].decode()
typ, data = M.uid("SEARCH", None, "UID", str(int(uids[-1]) + 1) + ":*")
out["incremental"] = [u for u in data[0].decode().split() if int(u) > int(uids[-1])]
M.close()
M.logout()
print(json.dumps(out))
`;

describe("IMAP with Python imaplib", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    for (let i = 1; i <= 3; i++) await f.deliver(message(`py ${i}`, [`text ${i}`]));
  });
  after(async () => f.stop());

  test("a sync script", async () => {
    const { stdout } = await run(PY, ["-c", SCRIPT, String(f.port), f.user, PASSWORD], { timeout: 20_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(out.boxes, ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]);
    assert.equal(out.exists, 3);
    assert.deepEqual(out.uids, [1, 2, 3]);
    assert.deepEqual(out.subjects, ["Subject: py 1", "Subject: py 2", "Subject: py 3"]);
    assert.equal(out.body, "text 1\r\n");
    assert.equal(out.flagged, "1");
    assert.equal(out.copy, "OK");
    assert.deepEqual(out.expunged, ["2"]);
    assert.match(String(out.append), /APPENDUID \d+ 1/);
    assert.match(String(out.status), /MESSAGES 2 UIDNEXT 4/);
    assert.deepEqual(out.incremental, []);
  });
});
