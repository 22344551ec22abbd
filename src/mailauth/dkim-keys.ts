// DKIM signing keys of the local domains (the dkim_keys table of store migration 8), shared by
// every node on one database. Each generation is a pair made together: an rsa-sha256 key of
// 2048 bits (RFC 6376 §3.3.1; RFC 8301 §3.2 asks for at least 1024, 2048 is today's norm) and
// an ed25519-sha256 key (RFC 8463 §3), signed side by side (RFC 8463 §4: "signers SHOULD
// sign with both ... until ed25519 is widely supported").
//
// Selectors are named by the year and a letter of the generation within it: mr2026a-rsa and
// mr2026a-ed, then mr2026b-... after a rotation (RFC 6376 §3.1 selectors exist for rotation).
// Signing uses the newest generation; every generation not retired is published in DNS, so
// mail signed with an older key just before a rotation still verifies while it travels.
import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import type { Clock } from "../core/clock.ts";
import { StoreError } from "../core/errors.ts";
import type { SqlDriver, SqlExecutor } from "../store/sql.ts";
import type { MailStore } from "../store/types.ts";

export type DkimAlgorithm = "rsa-sha256" | "ed25519-sha256";

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  generation: number;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** The p= value of the key record (base64). */
  publicKey: string;
  createdAt: number;
  retiredAt: number | null;
}

/** One generation: the two keys every message is signed with. */
export interface DkimKeyPair {
  domain: string;
  generation: number;
  rsa: DkimKey;
  ed25519: DkimKey;
}

interface KeyRow {
  domain: string;
  selector: string;
  algorithm: string;
  generation: number;
  private_key: string;
  public_key: string;
  created_at: number;
  retired_at: number | null;
}

const toKey = (r: KeyRow): DkimKey => ({
  domain: r.domain,
  selector: r.selector,
  algorithm: r.algorithm as DkimAlgorithm,
  generation: Number(r.generation),
  privateKey: r.private_key,
  publicKey: r.public_key,
  createdAt: Number(r.created_at),
  retiredAt: r.retired_at === null ? null : Number(r.retired_at),
});

/**
 * The TXT record of a key (RFC 6376 §3.6.1): k=rsa with the SubjectPublicKeyInfo, or
 * k=ed25519 with the raw 32-byte public key (RFC 8463 §4.2).
 */
export function keyRecord(key: Pick<DkimKey, "algorithm" | "publicKey">): string {
  return `v=DKIM1; k=${key.algorithm === "rsa-sha256" ? "rsa" : "ed25519"}; p=${key.publicKey}`;
}

/** The DNS name of a key record (RFC 6376 §3.6.2.1). */
export function keyRecordName(key: Pick<DkimKey, "selector" | "domain">): string {
  return `${key.selector}._domainkey.${key.domain}`;
}

const generate = promisify(generateKeyPair);

/** A new key pair; exported for tests and the conformance runner. */
export async function makeKeys(): Promise<{
  rsa: { privateKey: string; publicKey: string };
  ed25519: { privateKey: string; publicKey: string };
}> {
  const [rsa, ed] = await Promise.all([
    generate("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    }),
    generate("ed25519", {
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    }),
  ]);
  // RFC 8463 §4.2: the ed25519 p= is the bare key: the last 32 bytes of its SPKI encoding
  // (RFC 8410 §4: the BIT STRING of the SubjectPublicKeyInfo holds the 32 bytes as they are).
  return {
    rsa: { privateKey: rsa.privateKey, publicKey: rsa.publicKey.toString("base64") },
    ed25519: { privateKey: ed.privateKey, publicKey: ed.publicKey.subarray(-32).toString("base64") },
  };
}

/** a, b, ..., z, aa, ab, ...: the letters of the n-th generation of a year (0-based). */
function letters(n: number): string {
  let s = "";
  let v = n + 1;
  while (v > 0) {
    const r = (v - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    v = Math.floor((v - 1) / 26);
  }
  return s;
}

/** The selector prefix of the next generation: mr<year><letters>, after those of the year. */
function nextPrefix(existing: readonly string[], now: number): string {
  const year = new Date(now).getUTCFullYear();
  const taken = new Set(existing.map((s) => s.replace(/-(rsa|ed)$/, "")));
  for (let n = 0; ; n++) {
    const p = `mr${year}${letters(n)}`;
    if (!taken.has(p)) return p;
  }
}

/** Thrown inside a transaction to roll it back when another node made the same generation. */
class Lost extends Error {}

export class DkimKeyStore {
  readonly #db: SqlDriver;
  readonly #clock: Clock;

  constructor(opts: { driver: SqlDriver; clock: Clock }) {
    this.#db = opts.driver;
    this.#clock = opts.clock;
  }

  /** The key store of a SQL-backed store (the MailStore of openStore), or null for another kind. */
  static fromStore(store: MailStore, clock: Clock): DkimKeyStore | null {
    const driver = (store as Partial<{ driver: SqlDriver }>).driver;
    return driver === undefined ? null : new DkimKeyStore({ driver, clock });
  }

  /** The keys of a domain (or every domain), oldest first; retired ones only when asked. */
  async list(domain?: string, opts: { retired?: boolean } = {}): Promise<DkimKey[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (domain !== undefined) {
      where.push("domain = ?");
      params.push(domain.toLowerCase());
    }
    if (opts.retired !== true) where.push("retired_at IS NULL");
    const rows = await this.#db.all<KeyRow>(
      `SELECT * FROM dkim_keys${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
       ORDER BY domain, generation, algorithm DESC`,
      params,
    );
    return rows.map(toKey);
  }

  /** The newest generation of a domain, which signs; null when it has none yet. */
  async current(domain: string): Promise<DkimKeyPair | null> {
    return this.#newest(this.#db, domain.toLowerCase());
  }

  /** The newest generation, made now when the domain has none (its first need). */
  async ensure(domain: string): Promise<DkimKeyPair> {
    return (await this.current(domain)) ?? (await this.rotate(domain, { onlyIfNone: true }));
  }

  /**
   * Makes a new generation, which signs from now on; the older ones stay published until
   * retired. Two nodes doing it at once: one generation is made, both get it.
   */
  async rotate(domain: string, opts: { onlyIfNone?: boolean } = {}): Promise<DkimKeyPair> {
    const d = domain.toLowerCase();
    const keys = await makeKeys();
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await this.#db.transaction(async (tx) => {
          const dom = await tx.get<{ n: number }>("SELECT 1 AS n FROM domains WHERE name = ?", [d]);
          if (dom === undefined) throw new StoreError("NOTFOUND", `no domain ${d}`);
          if (opts.onlyIfNone === true) {
            const have = await this.#newest(tx, d);
            if (have !== null) return have;
          }
          const all = await tx.all<{ selector: string; generation: number }>(
            "SELECT selector, generation FROM dkim_keys WHERE domain = ?",
            [d],
          );
          // Under READ COMMITTED (PostgreSQL) each statement sees the commits made before it:
          // another node's first keys may have landed between the check above and this read.
          if (opts.onlyIfNone === true && all.length > 0) {
            const have = await this.#newest(tx, d);
            if (have !== null) return have;
          }
          const generation = Math.max(0, ...all.map((r) => Number(r.generation))) + 1;
          const now = this.#clock.now();
          const prefix = nextPrefix(
            all.map((r) => r.selector),
            now,
          );
          const rows: [string, DkimAlgorithm, { privateKey: string; publicKey: string }][] = [
            [`${prefix}-rsa`, "rsa-sha256", keys.rsa],
            [`${prefix}-ed`, "ed25519-sha256", keys.ed25519],
          ];
          for (const [selector, algorithm, k] of rows) {
            const r = await tx.run(
              `INSERT INTO dkim_keys (domain, selector, algorithm, generation, private_key, public_key, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
              [d, selector, algorithm, generation, k.privateKey, k.publicKey, now],
            );
            if (r.changes === 0) throw new Lost();
          }
          const pair = await this.#newest(tx, d);
          if (pair === null) throw new StoreError("TEMP", `keys of ${d} vanished`);
          return pair;
        });
      } catch (e) {
        if (!(e instanceof Lost)) throw e;
        // Another node made this generation first: it is as good as ours.
        const pair = await this.current(d);
        if (pair !== null) return pair;
      }
    }
    throw new StoreError("TEMP", `could not make DKIM keys for ${d}`);
  }

  /**
   * Retires generations so DNS stops publishing them: the one of `selector`, or every one but
   * the newest. The newest (the signing one) cannot be retired: rotate first. Returns the
   * keys retired.
   */
  async retire(domain: string, selector?: string): Promise<DkimKey[]> {
    const d = domain.toLowerCase();
    return this.#db.transaction(async (tx) => {
      const newest = await this.#newest(tx, d);
      if (newest === null) throw new StoreError("NOTFOUND", `${d} has no DKIM keys`);
      let generations: number[];
      if (selector !== undefined) {
        const row = await tx.get<KeyRow>(
          "SELECT * FROM dkim_keys WHERE domain = ? AND selector = ? AND retired_at IS NULL",
          [d, selector],
        );
        if (row === undefined) throw new StoreError("NOTFOUND", `${d} has no published selector ${selector}`);
        if (Number(row.generation) === newest.generation)
          throw new StoreError(
            "INVALID",
            `${selector} signs the mail of ${d}: rotate to a new key first (mailroom domain dkim rotate ${d})`,
          );
        generations = [Number(row.generation)];
      } else {
        const rows = await tx.all<{ generation: number }>(
          "SELECT DISTINCT generation FROM dkim_keys WHERE domain = ? AND retired_at IS NULL AND generation < ?",
          [d, newest.generation],
        );
        generations = rows.map((r) => Number(r.generation));
      }
      const retired: DkimKey[] = [];
      const now = this.#clock.now();
      for (const g of generations) {
        const rows = await tx.all<KeyRow>(
          "SELECT * FROM dkim_keys WHERE domain = ? AND generation = ? AND retired_at IS NULL ORDER BY algorithm DESC",
          [d, g],
        );
        await tx.run("UPDATE dkim_keys SET retired_at = ? WHERE domain = ? AND generation = ?", [now, d, g]);
        retired.push(...rows.map((r) => ({ ...toKey(r), retiredAt: now })));
      }
      return retired;
    });
  }

  /** Drops every key of a domain (the domain was removed). */
  async removeDomain(domain: string): Promise<void> {
    await this.#db.run("DELETE FROM dkim_keys WHERE domain = ?", [domain.toLowerCase()]);
  }

  async #newest(db: SqlExecutor, domain: string): Promise<DkimKeyPair | null> {
    const rows = await db.all<KeyRow>(
      `SELECT * FROM dkim_keys WHERE domain = ? AND retired_at IS NULL
       AND generation = (SELECT MAX(generation) FROM dkim_keys WHERE domain = ? AND retired_at IS NULL)`,
      [domain, domain],
    );
    const keys = rows.map(toKey);
    const rsa = keys.find((k) => k.algorithm === "rsa-sha256");
    const ed25519 = keys.find((k) => k.algorithm === "ed25519-sha256");
    if (rsa === undefined || ed25519 === undefined) return null;
    return { domain, generation: rsa.generation, rsa, ed25519 };
  }
}
