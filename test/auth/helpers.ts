// Shared fixtures of the auth tests: an in-memory credential source and an authenticator.
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { Authenticator } from "../../src/auth/authenticator.ts";
import type { AuthenticatorOptions } from "../../src/auth/authenticator.ts";
import { MemoryRateLimiter } from "../../src/auth/rate-limit.ts";
import type { SaslMechanism, Step } from "../../src/auth/sasl/types.ts";
import type { CredentialAccount, CredentialSource, StoredCredential } from "../../src/auth/types.ts";

export class MemorySource implements CredentialSource {
  readonly accounts = new Map<string, CredentialAccount>();
  lookups: string[] = [];
  add(
    username: string,
    credentials: StoredCredential[],
    extra: Partial<CredentialAccount> = {},
  ): CredentialAccount {
    const a: CredentialAccount = {
      accountId: `a-${username}`,
      username,
      disabled: false,
      credentials,
      ...extra,
    };
    this.accounts.set(username, a);
    return a;
  }
  async lookup(username: string): Promise<CredentialAccount | null> {
    this.lookups.push(username);
    return this.accounts.get(username) ?? null;
  }
}

export function makeAuth(
  source: CredentialSource,
  opts: Partial<AuthenticatorOptions> = {},
): { auth: Authenticator; clock: ManualClock; limiter: MemoryRateLimiter } {
  const clock = new ManualClock();
  const limiter = new MemoryRateLimiter({ clock });
  const auth = new Authenticator({ source, logger: silentLogger(), clock, rateLimiter: limiter, ...opts });
  return { auth, clock, limiter };
}

/** Runs a whole exchange: start with `ir`, then answer each challenge with the next response. */
export async function run(
  mech: SaslMechanism,
  ir: Buffer | string | null,
  responses: (Buffer | string)[] = [],
): Promise<{ steps: Step[]; last: Step }> {
  const buf = (x: Buffer | string): Buffer => (typeof x === "string" ? Buffer.from(x, "utf8") : x);
  const steps: Step[] = [await mech.start(ir === null ? null : buf(ir))];
  for (const r of responses) {
    const prev = steps[steps.length - 1]!;
    if (prev.type !== "challenge") break;
    steps.push(await mech.step(buf(r)));
  }
  return { steps, last: steps[steps.length - 1]! };
}

export function text(s: Step): string {
  return s.type === "challenge"
    ? s.data.toString("utf8")
    : s.type === "success"
      ? (s.data?.toString("utf8") ?? "")
      : s.message;
}

import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

/** A SCRAM client written from RFC 5802 §3 for the tests: the client-final for a server-first. */
export function scramClientFinal(opts: {
  hash: "sha256" | "sha1";
  password: string;
  clientFirstBare: string;
  gs2Header: string;
  cbData?: Buffer;
  serverFirst: string;
}): { clientFinal: string; serverSignature: string } {
  const attrs = new Map(opts.serverFirst.split(",").map((kv) => [kv[0]!, kv.slice(2)]));
  const nonce = attrs.get("r")!;
  const salt = Buffer.from(attrs.get("s")!, "base64");
  const iterations = Number(attrs.get("i"));
  const len = opts.hash === "sha256" ? 32 : 20;
  const salted = pbkdf2Sync(opts.password, salt, iterations, len, opts.hash);
  const clientKey = createHmac(opts.hash, salted).update("Client Key").digest();
  const storedKey = createHash(opts.hash).update(clientKey).digest();
  const cbind = Buffer.concat([Buffer.from(opts.gs2Header), opts.cbData ?? Buffer.alloc(0)]).toString(
    "base64",
  );
  const withoutProof = `c=${cbind},r=${nonce}`;
  const authMessage = `${opts.clientFirstBare},${opts.serverFirst},${withoutProof}`;
  const sig = createHmac(opts.hash, storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(len);
  for (let i = 0; i < len; i++) proof[i] = clientKey[i]! ^ sig[i]!;
  const serverKey = createHmac(opts.hash, salted).update("Server Key").digest();
  return {
    clientFinal: `${withoutProof},p=${proof.toString("base64")}`,
    serverSignature: `v=${createHmac(opts.hash, serverKey).update(authMessage).digest("base64")}`,
  };
}
