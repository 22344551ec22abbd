// The SASL server: which mechanisms a connection is offered and an exchange object per
// AUTHENTICATE / AUTH command. Mechanism names are case-insensitive (RFC 4422 §3.1).
import { randomBytes } from "node:crypto";
import type { Clock } from "../../core/clock.ts";
import { systemClock } from "../../core/clock.ts";
import type { MechanismDeps } from "./base.ts";
import { RefusedMechanism } from "./base.ts";
import { CramMd5Mechanism } from "./cram-md5.ts";
import { OAuthBearerMechanism, XOAuth2Mechanism } from "./oauth.ts";
import { LoginMechanism, PlainMechanism } from "./plain.ts";
import { DEFAULT_SCRAM_ITERATIONS } from "../password.ts";
import { randomServerNonce, SCRAM_VARIANTS, ScramMechanism } from "./scram.ts";
import type { SaslBackend, SaslConnection, SaslMechanism } from "./types.ts";
import { fail } from "./types.ts";

export interface SaslServerOptions {
  backend: SaslBackend;
  /** Offer CRAM-MD5 (credentials must keep `cramMd5`). Default false. */
  cramMd5?: boolean;
  /** Offer SCRAM-SHA-1 and SCRAM-SHA-1-PLUS. Default true. */
  scramSha1?: boolean;
  /** Host name in CRAM-MD5 challenges. Default "localhost". */
  hostname?: string;
  clock?: Clock;
  /** The server's SCRAM nonce part; injectable for the RFC test vectors. */
  scramNonce?: () => string;
  /** Iterations announced for unknown users. Default DEFAULT_SCRAM_ITERATIONS. */
  scramFakeIterations?: number;
  /** Key for the fake SCRAM salts of unknown users; random per process by default. */
  scramFakeSaltSecret?: Buffer;
  /** Largest client message per step, in bytes. Default 16384 (room for large bearer tokens). */
  maxMessageBytes?: number;
  /** Gets unexpected exceptions of mechanisms (the client sees "temporary"). */
  onInternalError?: (err: unknown, mechanism: string) => void;
}

/** The connection facts that decide what is offered. */
export interface OfferContext {
  tls: boolean;
  plaintextAllowed?: boolean;
}

/** Mechanisms that send the secret itself (or a bearer token, which is as good as one). */
const PLAINTEXT = new Set(["PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2"]);

export class SaslServer {
  readonly #opts: SaslServerOptions;
  readonly #fakeSecret: Buffer;

  constructor(opts: SaslServerOptions) {
    this.#opts = opts;
    this.#fakeSecret = opts.scramFakeSaltSecret ?? randomBytes(32);
  }

  /** Every mechanism this server implements with its configuration, strongest first. */
  supported(): string[] {
    const out: string[] = [];
    for (const v of SCRAM_VARIANTS) {
      if (v.hash === "sha1" && this.#opts.scramSha1 === false) continue;
      out.push(v.name);
    }
    if (this.#opts.cramMd5) out.push("CRAM-MD5");
    out.push("PLAIN", "LOGIN");
    if (this.#opts.backend.hasTokenVerifier) out.push("OAUTHBEARER", "XOAUTH2");
    return out;
  }

  /**
   * The mechanisms to advertise on a connection: -PLUS only over TLS; PLAIN, LOGIN and the
   * bearer-token mechanisms only over TLS unless plaintext is allowed (RFC 4616 §6, RFC 8314).
   */
  mechanisms(ctx: OfferContext): string[] {
    return this.supported().filter((m) => {
      if (m.endsWith("-PLUS")) return ctx.tls;
      if (PLAINTEXT.has(m)) return ctx.tls || ctx.plaintextAllowed === true;
      return true;
    });
  }

  /**
   * A new exchange for the named mechanism. Unknown or unavailable names give an exchange that
   * fails at once with "not-supported" (or "encrypt-needed" for a plaintext mechanism without TLS).
   */
  create(name: string, conn: SaslConnection): SaslMechanism {
    const upper = name.toUpperCase();
    if (!this.supported().includes(upper)) {
      return new RefusedMechanism(upper, fail("not-supported", `mechanism ${upper} is not supported`));
    }
    if (!this.mechanisms(conn).includes(upper)) {
      return new RefusedMechanism(
        upper,
        PLAINTEXT.has(upper)
          ? fail("encrypt-needed", `${upper} needs an encrypted connection`)
          : fail("not-supported", `${upper} needs TLS`),
      );
    }
    const deps: MechanismDeps = {
      conn,
      backend: this.#opts.backend,
      maxMessageBytes: this.#opts.maxMessageBytes ?? 16384,
      onInternalError: this.#opts.onInternalError,
    };
    switch (upper) {
      case "PLAIN":
        return new PlainMechanism(deps);
      case "LOGIN":
        return new LoginMechanism(deps);
      case "CRAM-MD5":
        return new CramMd5Mechanism(
          deps,
          this.#opts.hostname ?? "localhost",
          this.#opts.clock ?? systemClock,
        );
      case "OAUTHBEARER":
        return new OAuthBearerMechanism(deps);
      case "XOAUTH2":
        return new XOAuth2Mechanism(deps);
    }
    const variant = SCRAM_VARIANTS.find((v) => v.name === upper);
    if (!variant)
      return new RefusedMechanism(upper, fail("not-supported", `mechanism ${upper} is not supported`));
    return new ScramMechanism(deps, variant, {
      serverNonce: this.#opts.scramNonce ?? randomServerNonce,
      fakeSaltSecret: this.#fakeSecret,
      fakeIterations: this.#opts.scramFakeIterations ?? DEFAULT_SCRAM_ITERATIONS,
    });
  }
}
