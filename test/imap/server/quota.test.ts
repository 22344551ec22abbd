// QUOTA (RFC 9208) over the real socket: the capabilities, GETQUOTAROOT and GETQUOTA with and
// without limits (raw client and imapflow), STATUS DELETED and DELETED-STORAGE, NO [OVERQUOTA]
// on APPEND and COPY, and SETQUOTA: refused to a user (no QUOTASET), allowed to an
// administrator acting as the user through the SASL PLAIN authzid (auth.allowAdminImpersonation).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import { makeCredential } from "../../../src/auth/password.ts";
import type { Account } from "../../../src/store/types.ts";
import { message, startImap, type ImapFixture, type RawImap } from "./helpers.ts";

const ADMIN_PASSWORD = "admin pass";

describe("IMAP QUOTA (RFC 9208)", () => {
  let f: ImapFixture;
  let admin: Account;
  before(async () => {
    f = await startImap();
    const store = f.server.ctx.store;
    admin = await store.createAccount({ name: "admin@example.test", roles: ["admin"] });
    await store.setPassword(admin.id, await makeCredential(ADMIN_PASSWORD, { scramIterations: 4096 }));
  });
  after(async () => f.stop());

  /** Sets the limits the way the CLI's `account quota` does (the store API). */
  async function limits(quotaBytes: number | null, quotaMessages: number | null): Promise<void> {
    await f.server.ctx.store.updateAccount(f.account.id, { quotaBytes, quotaMessages });
  }

  async function account(): Promise<Account> {
    const a = await f.server.ctx.store.getAccount(f.account.id);
    assert.ok(a);
    return a;
  }

  function impersonation(on: boolean): void {
    const config = f.server.ctx.config;
    const c = config.current();
    config.apply({ ...c, auth: { ...c.auth, allowAdminImpersonation: on } });
  }

  /** A raw client logged in with AUTHENTICATE PLAIN (SASL-IR): authcid, password, authzid. */
  async function plain(authcid: string, password: string, authzid = ""): Promise<[RawImap, string]> {
    const c = await f.raw({ login: false });
    const ir = Buffer.from(`${authzid}\0${authcid}\0${password}`).toString("base64");
    return [c, await c.cmd(`AUTHENTICATE PLAIN ${ir}`)];
  }

  test("capabilities: QUOTA and both resources; QUOTASET only where SETQUOTA works", async () => {
    const c = await f.raw();
    const caps = await c.cmd("CAPABILITY");
    assert.match(caps, /^\* CAPABILITY .* QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE /);
    assert.doesNotMatch(caps, /QUOTASET/);
    c.close();
  });

  test("no limits: an empty QUOTAROOT, GETQUOTA is NO", async () => {
    await limits(null, null);
    const c = await f.raw();
    assert.match(await c.cmd("GETQUOTAROOT INBOX"), /^\* QUOTAROOT INBOX\r\nA\d+ OK/);
    assert.match(await c.cmd('GETQUOTA ""'), /^A\d+ NO \[NONEXISTENT\]/);
    c.close();
    const flow = await f.flow();
    const q = await flow.getQuota("INBOX");
    assert.ok(q !== false && q !== undefined);
    assert.equal(q.storage, undefined);
    await flow.logout();
  });

  test("limits: GETQUOTAROOT and GETQUOTA report STORAGE in KiB and MESSAGE", async () => {
    await limits(10 * 1024 * 1024, 3);
    await f.deliver(message("counted", ["x".repeat(1500)]));
    const a = await account();
    const kib = Math.ceil(a.usedBytes / 1024);
    const quota = `* QUOTA "" (STORAGE ${kib} 10240 MESSAGE ${a.usedMessages} 3)\r\n`;
    const c = await f.raw();
    const r = await c.cmd("GETQUOTAROOT INBOX");
    assert.ok(r.startsWith(`* QUOTAROOT INBOX ""\r\n${quota}`), r);
    assert.ok((await c.cmd('GETQUOTA ""')).startsWith(quota));
    // RFC 9208 §4.1.2: the mailbox need not exist; it would fall under the same root
    assert.ok((await c.cmd("GETQUOTAROOT Not/Yet")).startsWith(`* QUOTAROOT Not/Yet ""\r\n${quota}`));
    assert.match(await c.cmd('GETQUOTA "user/alice"'), /^A\d+ NO \[NONEXISTENT\]/);
    c.close();
    const flow = await f.flow();
    const q = await flow.getQuota("INBOX");
    assert.ok(q !== false && q !== undefined);
    assert.equal(q.storage?.usage, kib * 1024);
    assert.equal(q.storage?.limit, 10240 * 1024);
    assert.equal(q.message?.usage, a.usedMessages);
    assert.equal(q.message?.limit, 3);
    await flow.logout();
    await limits(null, null);
  });

  test("STATUS DELETED and DELETED-STORAGE count the \\Deleted messages", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Del");
    const big = message("big", ["y".repeat(3000)]);
    await f.deliver(big, "Del");
    await f.deliver(message("small"), "Del");
    assert.match(await c.cmd("STATUS Del (DELETED DELETED-STORAGE)"), /\(DELETED 0 DELETED-STORAGE 0\)/);
    await c.cmd("SELECT Del");
    await c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await c.cmd("UNSELECT");
    const kib = Math.ceil(Buffer.byteLength(big) / 1024);
    assert.match(
      await c.cmd("STATUS Del (MESSAGES DELETED DELETED-STORAGE)"),
      new RegExp(`\\(MESSAGES 2 DELETED 1 DELETED-STORAGE ${kib}\\)`),
    );
    c.close();
  });

  test("over quota: APPEND and COPY are NO [OVERQUOTA] and store nothing", async () => {
    const c = await f.raw();
    await c.cmd("CREATE Full");
    await f.deliver(message("in Full"), "Full");
    const used = (await account()).usedMessages;
    await limits(null, used);
    const m = message("one too many");
    assert.match(await c.cmd(`APPEND Full {${Buffer.byteLength(m)}+}\r\n${m}`), /^A\d+ NO \[OVERQUOTA\]/);
    await c.cmd("SELECT Full");
    // a copy into the same mailbox is a new message
    assert.match(await c.cmd("COPY 1 Full"), /^A\d+ NO \[OVERQUOTA\]/);
    await c.cmd("UNSELECT");
    assert.match(await c.cmd("STATUS Full (MESSAGES)"), /MESSAGES 1\)/);
    const { usedBytes } = await account();
    await limits(usedBytes + 100, null);
    assert.match(await c.cmd(`APPEND Full {${Buffer.byteLength(m)}+}\r\n${m}`), /^A\d+ NO \[OVERQUOTA\]/);
    assert.equal((await account()).usedMessages, used);
    await limits(null, null);
    c.close();
  });

  test("SETQUOTA: a user may not change their own quota; no acting as another user while off", async () => {
    await limits(1024 * 1024, null);
    const c = await f.raw();
    assert.match(await c.cmd('SETQUOTA "" (STORAGE 999999)'), /^A\d+ NO \[NOPERM\] .*administrator/);
    assert.match(await c.cmd('SETQUOTA "" ()'), /^A\d+ NO \[NOPERM\]/);
    assert.equal((await account()).quotaBytes, 1024 * 1024);
    c.close();
    // auth.allowAdminImpersonation is off by default: the authzid is refused
    const [d, r] = await plain(admin.name, ADMIN_PASSWORD, f.user);
    assert.match(r, /^A\d+ NO \[AUTHENTICATIONFAILED\]/);
    d.close();
    await limits(null, null);
  });

  test("SETQUOTA: an administrator acting as the user sets, replaces and removes the limits", async () => {
    impersonation(true);
    try {
      const flow = new ImapFlow({
        host: "127.0.0.1",
        port: f.port,
        secure: false,
        doSTARTTLS: false,
        auth: { user: admin.name, pass: ADMIN_PASSWORD, authzid: f.user },
        logger: false,
      });
      await flow.connect();
      assert.ok(flow.capabilities.has("QUOTASET"));
      const mailboxes = (await flow.list()).map((l) => l.path);
      assert.ok(mailboxes.includes("Full"), "the session is the user's");
      await flow.logout();

      const [c, r] = await plain(admin.name, ADMIN_PASSWORD, f.user);
      assert.match(r, /^A\d+ OK \[CAPABILITY [^\]]* QUOTASET[ \]]/);
      const a = await account();
      const kib = Math.ceil(a.usedBytes / 1024);
      assert.ok(
        (await c.cmd('SETQUOTA "" (STORAGE 512 MESSAGE 100)')).startsWith(
          `* QUOTA "" (STORAGE ${kib} 512 MESSAGE ${a.usedMessages} 100)\r\n`,
        ),
      );
      assert.equal((await account()).quotaBytes, 512 * 1024);
      assert.equal((await account()).quotaMessages, 100);
      // the user sees it
      const u = await f.raw();
      assert.match(await u.cmd('GETQUOTA ""'), /^\* QUOTA "" \(STORAGE \d+ 512 MESSAGE \d+ 100\)\r\n/);
      // a resource left out loses its limit (RFC 9208 §4.1.3: the list replaces the limits)
      assert.match(await c.cmd('SETQUOTA "" (message 50)'), /^\* QUOTA "" \(MESSAGE \d+ 50\)\r\nA\d+ OK/);
      assert.equal((await account()).quotaBytes, null);
      // unknown or unsupported resources, another root, a resource twice: nothing changes
      assert.match(await c.cmd('SETQUOTA "" (MAILBOX 10)'), /^A\d+ NO \[CANNOT\] .*STORAGE and MESSAGE/);
      assert.match(await c.cmd('SETQUOTA "" (X-WIDGETS 1 STORAGE 1)'), /^A\d+ NO \[CANNOT\]/);
      assert.match(await c.cmd('SETQUOTA "other" (STORAGE 1)'), /^A\d+ NO \[NONEXISTENT\]/);
      assert.match(await c.cmd('SETQUOTA "" (STORAGE 1 STORAGE 2)'), /^A\d+ BAD/);
      // a number64 the parser takes, but more octets than a quota can hold
      assert.match(await c.cmd('SETQUOTA "" (STORAGE 9000000000000000)'), /^A\d+ NO \[LIMIT\]/);
      assert.equal((await account()).quotaMessages, 50);
      // an empty list removes every limit: no QUOTA response, no quota root any more
      assert.match(await c.cmd('SETQUOTA "" ()'), /^A\d+ OK/);
      const after = await account();
      assert.equal(after.quotaBytes, null);
      assert.equal(after.quotaMessages, null);
      assert.match(await u.cmd("GETQUOTAROOT INBOX"), /^\* QUOTAROOT INBOX\r\nA\d+ OK/);
      u.close();

      // the admin role is checked again at SETQUOTA: taken away, the session may not
      await f.server.ctx.store.updateAccount(admin.id, { roles: ["user"] });
      assert.match(await c.cmd('SETQUOTA "" (STORAGE 1)'), /^A\d+ NO \[NOPERM\]/);
      await f.server.ctx.store.updateAccount(admin.id, { roles: ["admin"] });
      c.close();
    } finally {
      impersonation(false);
    }
    assert.equal((await account()).quotaBytes, null);
  });

  test("an administrator logged in as themselves gets QUOTASET for their own account", async () => {
    const c = await f.raw({ login: false });
    assert.match(await c.cmd(`LOGIN "${admin.name}" "${ADMIN_PASSWORD}"`), /QUOTASET/);
    assert.match(await c.cmd('SETQUOTA "" (MESSAGE 7)'), /^\* QUOTA "" \(MESSAGE 0 7\)\r\nA\d+ OK/);
    assert.equal((await f.server.ctx.store.getAccount(admin.id))?.quotaMessages, 7);
    assert.equal((await account()).quotaMessages, null);
    c.close();
  });
});
