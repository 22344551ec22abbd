// DKIM keys in the store, on SQLite and PostgreSQL: a pair (rsa 2048, ed25519) per domain made
// on first need, once even when two nodes ask at once; rotation to a new selector named by
// date; retirement of the old generation; the DNS key records.
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { DkimKeyStore, keyRecord, keyRecordName } from "../../src/mailauth/dkim-keys.ts";
import { randomSchemaName } from "../../src/store/backends/postgres/driver.ts";
import type { MaintainedMailStore } from "../../src/store/mail-store.ts";
import { openStore } from "../../src/store/open.ts";

const PG_URL = process.env.MAILROOM_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const T0 = Date.UTC(2026, 10, 22, 12);

async function suite(open: (clock: ManualClock) => Promise<MaintainedMailStore[]>): Promise<void> {
  const clock = new ManualClock(T0);
  const [store, other] = await open(clock);
  assert.ok(store && other);
  try {
    await store.createDomain("a.test");
    const keys = DkimKeyStore.fromStore(store, clock);
    const keys2 = DkimKeyStore.fromStore(other, clock);
    assert.ok(keys && keys2);
    assert.equal(await keys.current("a.test"), null);
    await assert.rejects(keys.ensure("nowhere.test"), /no domain/);

    // Two nodes make the first keys at once: one generation exists, both get it.
    const [p1, p2] = await Promise.all([keys.ensure("a.test"), keys2.ensure("a.test")]);
    assert.deepEqual(p1, p2);
    assert.equal(p1.generation, 1);
    assert.equal(p1.rsa.selector, "mr2026a-rsa");
    assert.equal(p1.ed25519.selector, "mr2026a-ed");
    assert.equal((await keys.list("a.test")).length, 2);
    assert.deepEqual(await keys.ensure("A.test"), p1);

    // The keys are what they claim: RSA 2048 in SPKI, ed25519 as the bare 32 bytes.
    const rsaPriv = createPrivateKey(p1.rsa.privateKey);
    assert.equal(rsaPriv.asymmetricKeyDetails?.modulusLength, 2048);
    const rsaPub = createPublicKey({
      key: Buffer.from(p1.rsa.publicKey, "base64"),
      format: "der",
      type: "spki",
    });
    assert.equal(rsaPub.asymmetricKeyType, "rsa");
    assert.equal(createPrivateKey(p1.ed25519.privateKey).asymmetricKeyType, "ed25519");
    assert.equal(Buffer.from(p1.ed25519.publicKey, "base64").length, 32);
    assert.match(keyRecord(p1.rsa), /^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+$/);
    assert.match(keyRecord(p1.ed25519), /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    assert.equal(keyRecordName(p1.rsa), "mr2026a-rsa._domainkey.a.test");

    // Rotation: a new pair signs, both stay published; retiring leaves the new one.
    clock.advance(86_400_000);
    const p3 = await keys2.rotate("a.test");
    assert.equal(p3.generation, 2);
    assert.equal(p3.rsa.selector, "mr2026b-rsa");
    assert.deepEqual(await keys.current("a.test"), p3);
    assert.deepEqual(
      (await keys.list("a.test")).map((k) => k.selector),
      ["mr2026a-rsa", "mr2026a-ed", "mr2026b-rsa", "mr2026b-ed"],
    );
    await assert.rejects(keys.retire("a.test", "mr2026b-ed"), /signs the mail of a\.test/);
    const retired = await keys.retire("a.test");
    assert.deepEqual(retired.map((k) => k.selector).sort(), ["mr2026a-ed", "mr2026a-rsa"]);
    assert.deepEqual(
      (await keys.list("a.test")).map((k) => k.selector),
      ["mr2026b-rsa", "mr2026b-ed"],
    );
    assert.equal((await keys.list("a.test", { retired: true })).length, 4);
    assert.deepEqual(await keys.retire("a.test"), []);

    // A new year starts its letters again; a retired selector name is never used again.
    clock.set(Date.UTC(2027, 0, 3));
    assert.equal((await keys.rotate("a.test")).rsa.selector, "mr2027a-rsa");
    assert.equal((await keys.rotate("a.test")).ed25519.selector, "mr2027b-ed");
    await keys.retire("a.test", "mr2027a-rsa");
    assert.deepEqual(
      (await keys.list("a.test")).map((k) => k.selector),
      ["mr2026b-rsa", "mr2026b-ed", "mr2027b-rsa", "mr2027b-ed"],
    );

    await keys.removeDomain("a.test");
    assert.deepEqual(await keys.list("a.test", { retired: true }), []);
  } finally {
    await store.close();
    await other.close();
  }
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

void describe("DKIM keys", () => {
  void test("SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-dkim-keys-"));
    dirs.push(dir);
    const open = (clock: ManualClock): Promise<MaintainedMailStore> =>
      openStore({
        backend: "sqlite",
        sqlitePath: join(dir, "mail.sqlite"),
        blobs: "auto",
        clock,
        logger: silentLogger(),
      });
    await suite(async (clock) => {
      const first = await open(clock);
      return [first, await open(clock)];
    });
  });
  void test("PostgreSQL, two nodes", async () => {
    const schema = randomSchemaName("dkim");
    const open = (clock: ManualClock): Promise<MaintainedMailStore> =>
      openStore({
        backend: "postgres",
        postgresUrl: PG_URL,
        postgresSchema: schema,
        blobs: "db",
        clock,
        logger: silentLogger(),
      });
    await suite(async (clock) => {
      const first = await open(clock);
      return [first, await open(clock)];
    });
  });
});
