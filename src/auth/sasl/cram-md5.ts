// CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
// "user SP hex(HMAC-MD5(password, challenge))". It needs the password (or its HMAC state) on
// the server, so it is off unless credentials keep `cramMd5` (MakeCredentialOptions.allowCramMd5).
import { createHmac, randomBytes } from "node:crypto";
import type { Clock } from "../../core/clock.ts";
import type { MechanismDeps } from "./base.ts";
import { BaseMechanism } from "./base.ts";
import type { Step } from "./types.ts";
import { challenge, fail } from "./types.ts";
import { constantTimeEqual, decodeUtf8 } from "./util.ts";

const DIGEST = /^[0-9a-f]{32}$/;
const DUMMY_SECRET = randomBytes(32);

export class CramMd5Mechanism extends BaseMechanism {
  readonly name = "CRAM-MD5";
  readonly #hostname: string;
  readonly #clock: Clock;
  #challenge: string | null = null;

  constructor(deps: MechanismDeps, hostname: string, clock: Clock) {
    super(deps);
    this.#hostname = hostname;
    this.#clock = clock;
  }

  protected async onStart(ir: Buffer | null): Promise<Step> {
    // RFC 2195 §2 is server-first: an initial response makes no sense (RFC 4422 §3.3).
    if (ir !== null && ir.length > 0) return fail("malformed", "CRAM-MD5 takes no initial response");
    // RFC 2195 §2: a msg-id style challenge, unique per exchange (random part, time, host).
    const rnd = randomBytes(8).readBigUInt64BE().toString();
    this.#challenge = `<${rnd}.${this.#clock.now()}@${this.#hostname}>`;
    return challenge(this.#challenge);
  }

  protected async onStep(data: Buffer): Promise<Step> {
    const ch = this.#challenge;
    if (ch === null) return fail("malformed", "CRAM-MD5 exchange not started");
    const text = decodeUtf8(data);
    if (text === null) return fail("malformed", "CRAM-MD5 response is not UTF-8");
    // RFC 2195 §2: the user name, a space, and 32 lower-case hex digits.
    const sp = text.lastIndexOf(" ");
    const user = sp > 0 ? text.slice(0, sp) : "";
    const digestHex = text.slice(sp + 1);
    if (user === "" || !DIGEST.test(digestHex))
      return fail("malformed", "CRAM-MD5 response must be 'user digest'");
    const digest = Buffer.from(digestHex, "hex");

    const begun = await this.deps.backend.beginChallenge(this.deps.conn, this.name, user);
    if (!begun.ok) return begun.failure;
    let matched: { label?: string } | null = null;
    const secrets = (begun.account?.credentials ?? []).filter((c) => c.cramMd5 !== undefined);
    if (secrets.length === 0) createHmac("md5", DUMMY_SECRET).update(ch).digest(); // same work
    for (const cred of secrets) {
      const key = Buffer.from(cred.cramMd5 ?? "", "base64");
      const expected = createHmac("md5", key).update(ch).digest();
      if (constantTimeEqual(expected, digest) && matched === null) {
        matched = cred.label !== undefined ? { label: cred.label } : {};
      }
    }
    const outcome = await this.deps.backend.endChallenge(
      this.deps.conn,
      this.name,
      begun.username,
      begun.account,
      matched,
    );
    return outcome.ok ? { type: "success", result: outcome.result } : fail(outcome.reason, outcome.message);
  }
}
