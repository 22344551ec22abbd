// Password hashing: one StoredCredential per secret holds an Argon2id hash (for PLAIN, LOGIN and
// the protocols' own LOGIN/USER-PASS commands), the SCRAM keys (RFC 5802 §3, RFC 7677) and,
// only when CRAM-MD5 is enabled, the recoverable secret RFC 2195 needs.
import { hash as argon2Hash, verify as argon2Verify, parseOptions } from "@node-rs/argon2";
import type { Algorithm } from "@node-rs/argon2";
import { createHash, createHmac, pbkdf2, randomBytes, randomInt } from "node:crypto";
import { promisify } from "node:util";
import { PrepError, saslprep, trySaslprep } from "./saslprep.ts";
import type { ScramKeys, StoredCredential } from "./types.ts";

const pbkdf2Async = promisify(pbkdf2);

/** OWASP Password Storage Cheat Sheet, Argon2id minimum: m=19 MiB, t=2, p=1. */
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
/** @node-rs/argon2's Algorithm.Argon2id (a const enum, which erasable TypeScript cannot read). */
const ARGON2ID = 2 as Algorithm;

/** RFC 7677 §4: the iteration count SHOULD be at least 4096; we use more by default. */
export const DEFAULT_SCRAM_ITERATIONS = 10000;
export const MIN_SCRAM_ITERATIONS = 4096;
const SCRAM_SALT_BYTES = 16;

export type ScramHash = "sha256" | "sha1";

/** Digest length in bytes of a SCRAM hash. */
export function scramHashLength(h: ScramHash): number {
  return h === "sha256" ? 32 : 20;
}

/** RFC 5802 §3: SaltedPassword = Hi(password, salt, i) (PBKDF2), and the keys derived from it. */
export async function deriveScramKeys(
  h: ScramHash,
  preparedPassword: string,
  salt: Buffer,
  iterations: number,
): Promise<ScramKeys> {
  const salted = await pbkdf2Async(
    Buffer.from(preparedPassword, "utf8"),
    salt,
    iterations,
    scramHashLength(h),
    h,
  );
  const clientKey = createHmac(h, salted).update("Client Key").digest();
  const storedKey = createHash(h).update(clientKey).digest();
  const serverKey = createHmac(h, salted).update("Server Key").digest();
  return {
    salt: salt.toString("base64"),
    iterations,
    storedKey: storedKey.toString("base64"),
    serverKey: serverKey.toString("base64"),
  };
}

export interface MakeCredentialOptions {
  kind?: StoredCredential["kind"];
  label?: string;
  /** Keep the recoverable secret CRAM-MD5 needs (RFC 2195); off by default. */
  allowCramMd5?: boolean;
  /** Creation time, ms since the epoch (default Date.now()). */
  now?: number;
  /** SCRAM iteration count (default DEFAULT_SCRAM_ITERATIONS, never below 4096). */
  scramIterations?: number;
  /**
   * Reuse the SCRAM salts and iteration counts of another credential of the same account. SCRAM
   * sends one salt before it knows which secret the client holds, so only credentials that
   * share it can be checked by one exchange: give app passwords the main password's salt to make
   * them usable with SCRAM.
   */
  scramSaltFrom?: StoredCredential;
}

/**
 * Derives every stored form of a password. The password goes through SASLprep first (RFC 5802
 * §2.2), so PLAIN and SCRAM agree; a password SASLprep rejects throws PrepError.
 */
export async function makeCredential(
  password: string,
  opts: MakeCredentialOptions = {},
): Promise<StoredCredential> {
  const prepared = saslprep(password);
  if (prepared.length === 0) throw new PrepError("empty password");
  const iterations = Math.max(MIN_SCRAM_ITERATIONS, opts.scramIterations ?? DEFAULT_SCRAM_ITERATIONS);
  const from = opts.scramSaltFrom;
  const saltOf = (k: ScramKeys | undefined): Buffer =>
    k ? Buffer.from(k.salt, "base64") : randomBytes(SCRAM_SALT_BYTES);
  const [argon2, scramSha256, scramSha1] = await Promise.all([
    argon2Hash(prepared, { ...ARGON2_PARAMS, algorithm: ARGON2ID }),
    deriveScramKeys(
      "sha256",
      prepared,
      saltOf(from?.scramSha256),
      from?.scramSha256?.iterations ?? iterations,
    ),
    deriveScramKeys("sha1", prepared, saltOf(from?.scramSha1), from?.scramSha1?.iterations ?? iterations),
  ]);
  const cred: StoredCredential = {
    kind: opts.kind ?? "password",
    argon2,
    scramSha256,
    scramSha1,
    createdAt: opts.now ?? Date.now(),
  };
  if (opts.label !== undefined) cred.label = opts.label;
  if (opts.allowCramMd5) cred.cramMd5 = Buffer.from(prepared, "utf8").toString("base64");
  return cred;
}

/** Checks a password against the credential's Argon2id hash. Never throws. */
export async function verifyPassword(cred: StoredCredential, password: string): Promise<boolean> {
  const prepared = trySaslprep(password);
  if (prepared === null || prepared.length === 0) return false;
  try {
    return await argon2Verify(cred.argon2, prepared);
  } catch {
    return false; // a damaged hash string
  }
}

/** The first credential the password matches, or null. */
export async function findMatchingCredential(
  creds: readonly StoredCredential[],
  password: string,
): Promise<StoredCredential | null> {
  for (const c of creds) {
    if (await verifyPassword(c, password)) return c;
  }
  return null;
}

let dummyHash: Promise<string> | null = null;

/** Spends about the time of one verification, so unknown users answer as slowly as known ones. */
export async function burnVerification(password: string): Promise<void> {
  dummyHash ??= argon2Hash("mailroom-dummy-password", { ...ARGON2_PARAMS, algorithm: ARGON2ID });
  try {
    await argon2Verify(await dummyHash, password.length > 0 ? password : "x");
  } catch {
    // the outcome is irrelevant
  }
}

/** True when the Argon2 parameters of the hash are weaker than ARGON2_PARAMS (rehash on login). */
export function needsRehash(cred: StoredCredential): boolean {
  try {
    const p = parseOptions(cred.argon2);
    return (
      p.algorithm !== ARGON2ID ||
      p.memoryCost < ARGON2_PARAMS.memoryCost ||
      p.timeCost < ARGON2_PARAMS.timeCost
    );
  } catch {
    return true;
  }
}

// Lower-case letters and digits without the look-alikes (0/o, 1/l/i): 31 symbols, so 16 of them
// carry log2(31)*16 ≈ 79 bits.
const APP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

/** A random app password in four groups of four: "kq7m-3xzp-w9ha-tn4e". */
export function generateAppPassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let s = "";
    for (let i = 0; i < 4; i++) s += APP_ALPHABET[randomInt(APP_ALPHABET.length)];
    groups.push(s);
  }
  return groups.join("-");
}

/**
 * Creates an app password: the clear text is returned once, to show the user, and only the
 * credential is stored. Pass the account's main credential as scramSaltFrom to let SCRAM use it.
 */
export async function createAppPassword(
  opts: Omit<MakeCredentialOptions, "kind"> = {},
): Promise<{ password: string; credential: StoredCredential }> {
  const password = generateAppPassword();
  const credential = await makeCredential(password, { ...opts, kind: "app-password" });
  return { password, credential };
}
