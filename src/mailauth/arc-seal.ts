// ARC sealing (RFC 8617) of mail we forward: an alias of a local domain that points outside
// passes the message on, which breaks SPF for the next hop and DMARC with it (RFC 7960 §3.2.1).
// The forwarding domain adds an ARC set (§4.1): ARC-Authentication-Results with what we saw
// on arrival, ARC-Message-Signature over the message as it leaves, ARC-Seal over the chain,
// so a receiver that trusts us can use our results (RFC 8617 §7.2).
//
// Wraps the `mailauth` package: createSeal() builds and signs the set. A chain already on the
// message is validated by the inbound checks (arc.ts, on mailauth's arc()) for the cv= of the
// new seal (§5.1.1 step 2).
// The seal uses the domain's rsa-sha256 key: RFC 8617 §4.1.3 takes DKIM's algorithms, but
// validators of ed25519 ARC seals are rare, and the key record is the one DKIM publishes.
//
// The ARC-Authentication-Results payload (§4.1.1) is the inbound checks' Authentication-Results
// (RFC 8601) for our authserv-id: passed in by the caller, else the topmost such field found
// on the message (the inbound side adds it at receipt), else "none" (nothing was checked).
import { createSeal } from "mailauth";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { Resolver } from "../dns/resolver.ts";
import { findHeaderEnd, splitHeaderFields } from "../mail/headers.ts";
import { verifyArc } from "./arc.ts";
import type { DkimKeyPair } from "./dkim-keys.ts";
import { verifyDkim } from "./dkim.ts";

/** RFC 8617 §4.4: the chain validation status, the cv= of the seal. */
export type ChainStatus = "none" | "pass" | "fail";

export interface SealOptions {
  /** The keys of the local domain that forwards. */
  keys: DkimKeyPair;
  /** Our authserv-id (RFC 8601 §2.5): server.hostname. */
  authservId: string;
  /** The Authentication-Results payload ("authserv-id; spf=pass ...") of the inbound checks. */
  authResults?: string;
  /** The status of the chain that came with the message, when the caller validated it. */
  cv?: ChainStatus;
  signTime?: Date;
}

/**
 * The payload of the topmost Authentication-Results field that carries our authserv-id
 * (RFC 8601 §5: ours is the one added last, on top), unfolded; null when there is none.
 */
export function ownAuthResults(message: Buffer, authservId: string): string | null {
  const fields = splitHeaderFields(message, 0, findHeaderEnd(message, 0, message.length));
  const id = authservId.toLowerCase();
  for (const f of fields) {
    if (f.name.toLowerCase() !== "authentication-results") continue;
    const value = f.value.replace(/\s+/g, " ").trim();
    const first = /^([^;\s]+)/.exec(value)?.[1]?.toLowerCase();
    if (first === id) return value;
  }
  return null;
}

function hasArcSet(message: Buffer): boolean {
  const fields = splitHeaderFields(message, 0, findHeaderEnd(message, 0, message.length));
  return fields.some((f) => f.name.toLowerCase() === "arc-seal");
}

/**
 * RFC 8617 §5.2: validates the chain already on the message (none when it has none) with the
 * inbound side's verification (dkim.ts, arc.ts). A temporary DNS failure counts as fail: the
 * seal records what we could establish.
 */
export async function chainStatus(message: Buffer, resolver: Resolver, now: number): Promise<ChainStatus> {
  if (!hasArcSet(message)) return "none";
  return (await verifyArc(await verifyDkim(message, { resolver, now }))).result;
}

export class ArcSealer {
  readonly #resolver: Resolver;
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(opts: { resolver: Resolver; clock: Clock; logger: Logger }) {
    this.#resolver = opts.resolver;
    this.#clock = opts.clock;
    this.#log = opts.logger;
  }

  /**
   * The message with a new ARC set on top; unchanged when none can be added (RFC 8617 §5.1:
   * a chain whose newest seal says cv=fail is not sealed again, nor one of 50 sets, §4.2.1).
   */
  async seal(message: Buffer, opts: SealOptions): Promise<Buffer> {
    const cv = opts.cv ?? (await chainStatus(message, this.#resolver, this.#clock.now()));
    let authResults = opts.authResults ?? ownAuthResults(message, opts.authservId);
    // RFC 8601 §2.2: "none" alone says no method was applied; the chain result we did
    // establish is still worth recording (RFC 8617 §4.1.1).
    authResults ??= cv === "none" ? `${opts.authservId}; none` : `${opts.authservId}; arc=${cv}`;
    const key = opts.keys.rsa;
    const r = await createSeal(message, {
      seal: {
        signingDomain: opts.keys.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        algorithm: "rsa-sha256",
        cv,
        authResults,
        ...(opts.signTime !== undefined ? { signTime: opts.signTime } : {}),
      },
    });
    if (r.headers.length === 0) {
      this.#log.warn(
        {
          domain: opts.keys.domain,
          errors: r.errors.map((e) => String((e as { err?: Error }).err?.message)),
        },
        "ARC sealing failed",
      );
      return message;
    }
    return Buffer.concat([Buffer.from(r.headers.join("\r\n") + "\r\n", "latin1"), message]);
  }
}
