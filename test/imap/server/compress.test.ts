// RFC 4978 COMPRESS=DEFLATE: after the tagged OK both directions are raw DEFLATE; a command
// pipelined (compressed) right after COMPRESS is read; a second COMPRESS is refused. A
// listener with compress = false neither offers nor accepts it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { constants, createDeflateRaw, createInflateRaw } from "node:zlib";
import { message, RawImap, startImap, type ImapFixture } from "./helpers.ts";

describe("IMAP COMPRESS=DEFLATE", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap();
    await f.deliver(message("zipped", ["x".repeat(5000)]));
  });
  after(async () => f.stop());

  test("commands and responses go through DEFLATE", async () => {
    const c = await f.raw();
    assert.match(await c.cmd("CAPABILITY"), /COMPRESS=DEFLATE/);
    const sock = c.socket;
    const deflate = createDeflateRaw();
    const inflate = createInflateRaw();
    deflate.on("data", (d: Buffer) => sock.write(d));
    const tag = c.takeTag();
    sock.write(`${tag} COMPRESS DEFLATE\r\n`);
    const ok = await c.tagged(tag);
    assert.match(ok, /^A\d+ OK DEFLATE active\r\n$/);
    sock.removeAllListeners("data");
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        deflate.write(chunk);
        deflate.flush(constants.Z_SYNC_FLUSH, () => cb());
      },
    });
    sock.on("data", (d: Buffer) => inflate.write(d));
    inflate.on("data", (d: Buffer) => duplex.push(d));
    const z = new RawImap(duplex as unknown as Socket);
    assert.match(await z.cmd("SELECT INBOX"), /OK \[READ-WRITE\]/);
    const r = await z.cmd("FETCH 1 BODY.PEEK[TEXT]");
    assert.match(r, new RegExp(`BODY\\[TEXT\\] \\{5002\\}\\r\\nx{5000}\\r\\n\\)`));
    assert.match(await z.cmd("COMPRESS DEFLATE"), /NO \[COMPRESSIONACTIVE\]/);
    assert.match(await z.cmd("LOGOUT"), /BYE/);
    sock.destroy();
  });
});

describe("IMAP COMPRESS turned off on a listener", () => {
  let f: ImapFixture;
  before(async () => {
    f = await startImap({ imapListener: { compress: false } });
  });
  after(async () => f.stop());

  test("not in CAPABILITY, and the command is BAD", async () => {
    const c = await f.raw();
    const caps = await c.cmd("CAPABILITY");
    assert.doesNotMatch(caps, /COMPRESS/);
    assert.match(caps, /IMAP4rev2/);
    assert.match(await c.cmd("COMPRESS DEFLATE"), /^A\d+ BAD /m);
    assert.match(await c.cmd("NOOP"), /^A\d+ OK/m);
  });
});
