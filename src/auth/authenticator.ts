// The one place every protocol authenticates through: SASL exchanges (AUTHENTICATE, AUTH) and
// the plain commands (IMAP LOGIN, POP3 USER/PASS). It applies the rate limits, looks accounts
// up, checks secrets and logs each outcome (never the secret).
//
// Use from a protocol (IMAP AUTHENTICATE shown; SMTP/POP3 differ only in framing):
//   const conn = { tls: sock.encrypted, ip, channelBinding: sock.encrypted ? tlsChannelBinding(sock) : undefined };
//   advertise auth.mechanisms({ tls: conn.tls, plaintextAllowed }) as AUTH=...;
//   const mech = auth.createMechanism(name, conn);
//   let step = await mech.start(ir === undefined ? null : base64decode(ir));   // "=" -> Buffer.alloc(0)
//   while (step.type === "challenge") { send "+ " + base64(step.data); step = await mech.step(base64decode(line)); }
//   success: if step.data, send it in a last "+ " continuation (or SMTP 235 after a 334), keep step.result;
//   failure: map step.reason once (bad-credentials -> NO [AUTHENTICATIONFAILED] / 535 5.7.8,
//   temporary -> NO [UNAVAILABLE] / 454 4.7.0, encrypt-needed -> NO [PRIVACYREQUIRED] / 538 5.7.11,
//   malformed -> BAD / 501 5.5.2, not-supported -> NO [CANNOT] / 504 5.5.4).
// A client "*" cancel (RFC 4422 §3.5) is the protocol's: it drops the mechanism object.
import type { Clock } from "../core/clock.ts";
import { systemClock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { burnVerification, findMatchingCredential } from "./password.ts";
import type { LoginRateLimiter } from "./rate-limit.ts";
import { MemoryRateLimiter } from "./rate-limit.ts";
import { tryPrepareUsername } from "./saslprep.ts";
import { SaslServer } from "./sasl/server.ts";
import type { OfferContext } from "./sasl/server.ts";
import type { FailureStep, SaslBackend, SaslConnection, SaslMechanism, TokenVerifier } from "./sasl/types.ts";
import { fail } from "./sasl/types.ts";
import type {
  AuthFailureReason,
  AuthOutcome,
  AuthResult,
  CredentialAccount,
  CredentialSource,
} from "./types.ts";

export interface AuthenticatorOptions {
  source: CredentialSource;
  logger: Logger;
  /** Default: a MemoryRateLimiter with its defaults on `clock`. */
  rateLimiter?: LoginRateLimiter;
  clock?: Clock;
  /** Enables OAUTHBEARER and XOAUTH2. */
  tokenVerifier?: TokenVerifier;
  /** Offer CRAM-MD5 (only accounts whose credentials keep `cramMd5` can use it). */
  allowCramMd5?: boolean;
  /** Offer SCRAM-SHA-1(-PLUS). Default true. */
  allowScramSha1?: boolean;
  /** Host name for CRAM-MD5 challenges. */
  hostname?: string;
  /**
   * RFC 4422 §3.4.1 authzid hook: may `actor` (authenticated) act as `authzid` (prepared)?
   * Return the target's identity, or null. Without it only "act as yourself" is allowed.
   * Meant for accounts with an admin role.
   */
  impersonate?: (actor: AuthResult, authzid: string) => Promise<AuthResult | null>;
  /** SCRAM server nonce part; for test vectors. */
  scramNonce?: () => string;
  /** Largest SASL client message, in bytes. */
  maxMessageBytes?: number;
}

const INVALID = "invalid credentials";

export class Authenticator implements SaslBackend {
  readonly sasl: SaslServer;
  readonly #source: CredentialSource;
  readonly #limiter: LoginRateLimiter;
  readonly #log: Logger;
  readonly #tokens: TokenVerifier | undefined;
  readonly #impersonate: AuthenticatorOptions["impersonate"];

  constructor(opts: AuthenticatorOptions) {
    const clock = opts.clock ?? systemClock;
    this.#source = opts.source;
    this.#limiter = opts.rateLimiter ?? new MemoryRateLimiter({ clock });
    this.#log = opts.logger;
    this.#tokens = opts.tokenVerifier;
    this.#impersonate = opts.impersonate;
    this.sasl = new SaslServer({
      backend: this,
      cramMd5: opts.allowCramMd5 ?? false,
      scramSha1: opts.allowScramSha1 ?? true,
      clock,
      ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
      ...(opts.scramNonce ? { scramNonce: opts.scramNonce } : {}),
      ...(opts.maxMessageBytes !== undefined ? { maxMessageBytes: opts.maxMessageBytes } : {}),
      onInternalError: (err, mechanism) => this.#log.error({ err, mechanism }, "authentication error"),
    });
  }

  get hasTokenVerifier(): boolean {
    return this.#tokens !== undefined;
  }

  /** The SASL mechanisms to advertise on a connection (see SaslServer.mechanisms). */
  mechanisms(ctx: OfferContext): string[] {
    return this.sasl.mechanisms(ctx);
  }

  /** A new SASL exchange; the name is case-insensitive. */
  createMechanism(name: string, conn: SaslConnection): SaslMechanism {
    return this.sasl.create(name, conn);
  }

  /**
   * Plain user name and password, for IMAP LOGIN, POP3 USER/PASS and the like. The protocol
   * decides itself whether plaintext is allowed on the connection (LOGINDISABLED, RFC 9051 §6.2.3).
   * `mechanism` names the command in AuthResult and logs (default "LOGIN").
   */
  async verifyPlain(
    username: string,
    password: string,
    ctx: { ip?: string; mechanism?: string } = {},
  ): Promise<AuthOutcome> {
    const conn: SaslConnection = ctx.ip !== undefined ? { tls: true, ip: ctx.ip } : { tls: true };
    return this.checkPassword(conn, ctx.mechanism ?? "LOGIN", username, password);
  }

  // --- SaslBackend ---

  async checkPassword(
    conn: SaslConnection,
    mechanism: string,
    username: string,
    password: string,
  ): Promise<AuthOutcome> {
    const user = tryPrepareUsername(username);
    if (user === null) {
      await this.#failed(conn, mechanism, username, undefined, "user name rejected by SASLprep");
      return this.#no("bad-credentials", INVALID);
    }
    const limited = await this.#gate(conn, mechanism, user);
    if (limited) return this.#no(limited.reason, limited.message);
    const account = await this.#lookup(user);
    if (account === "error") return this.#no("temporary", "authentication temporarily unavailable");
    if (account === null) {
      await burnVerification(password);
      await this.#failed(conn, mechanism, user, user, "unknown user");
      return this.#no("bad-credentials", INVALID);
    }
    const cred = await findMatchingCredential(account.credentials, password);
    if (!cred) {
      await this.#failed(conn, mechanism, user, user, "wrong password");
      return this.#no("bad-credentials", INVALID);
    }
    return this.#succeeded(conn, mechanism, account, cred.label);
  }

  async beginChallenge(
    conn: SaslConnection,
    mechanism: string,
    username: string,
  ): Promise<
    { ok: true; username: string; account: CredentialAccount | null } | { ok: false; failure: FailureStep }
  > {
    const user = tryPrepareUsername(username);
    if (user === null) {
      await this.#failed(conn, mechanism, username, undefined, "user name rejected by SASLprep");
      return { ok: false, failure: fail("bad-credentials", INVALID) };
    }
    const limited = await this.#gate(conn, mechanism, user);
    if (limited) return { ok: false, failure: limited };
    const account = await this.#lookup(user);
    if (account === "error")
      return { ok: false, failure: fail("temporary", "authentication temporarily unavailable") };
    return { ok: true, username: user, account };
  }

  async endChallenge(
    conn: SaslConnection,
    mechanism: string,
    username: string,
    account: CredentialAccount | null,
    matched: { label?: string } | null,
  ): Promise<AuthOutcome> {
    if (account === null || matched === null) {
      await this.#failed(
        conn,
        mechanism,
        username,
        username,
        account === null ? "unknown user" : "wrong password",
      );
      return this.#no("bad-credentials", INVALID);
    }
    return this.#succeeded(conn, mechanism, account, matched.label);
  }

  async checkToken(
    conn: SaslConnection,
    mechanism: string,
    token: string,
    ctx: { user?: string; host?: string; port?: number },
  ): Promise<AuthOutcome> {
    if (!this.#tokens) return this.#no("not-supported", `${mechanism} is not configured`);
    const user = ctx.user !== undefined ? (tryPrepareUsername(ctx.user) ?? undefined) : undefined;
    const limited = await this.#gate(conn, mechanism, user);
    if (limited) return this.#no(limited.reason, limited.message);
    let result: AuthResult | null;
    try {
      result = await this.#tokens.verify(token, ctx);
    } catch (err) {
      this.#log.error({ err, mechanism, ip: conn.ip }, "token verification error");
      return this.#no("temporary", "authentication temporarily unavailable");
    }
    if (!result) {
      await this.#failed(conn, mechanism, ctx.user ?? "", user, "invalid token");
      return this.#no("bad-credentials", "invalid token");
    }
    const r: AuthResult = { ...result, mechanism };
    this.#log.info({ event: "auth", ok: true, mechanism, user: r.username, ip: conn.ip }, "login");
    return { ok: true, result: r };
  }

  async authorize(
    conn: SaslConnection,
    authenticated: AuthResult,
    authzid: string,
  ): Promise<AuthResult | null> {
    const target = this.#impersonate ? await this.#impersonate(authenticated, authzid) : null;
    this.#log.info(
      {
        event: "authz",
        ok: target !== null,
        mechanism: authenticated.mechanism,
        user: authenticated.username,
        authzid,
        ip: conn.ip,
      },
      target ? "acting as another user" : "authorization identity refused",
    );
    if (!target) return null;
    // The rights are the actor's: an administrator acting as a user stays an administrator,
    // whatever roles the target has.
    const { admin: _targetAdmin, ...rest } = target;
    return {
      ...rest,
      mechanism: authenticated.mechanism,
      actor: { accountId: authenticated.accountId, username: authenticated.username },
      ...(authenticated.admin === true ? { admin: true } : {}),
    };
  }

  // --- internals ---

  async #gate(
    conn: SaslConnection,
    mechanism: string,
    user: string | undefined,
  ): Promise<FailureStep | null> {
    let wait: number;
    try {
      wait = await this.#limiter.retryAfter({ ip: conn.ip, account: user });
    } catch (err) {
      this.#log.error({ err }, "rate limiter error");
      return fail("temporary", "authentication temporarily unavailable");
    }
    if (wait <= 0) return null;
    const secs = Math.ceil(wait / 1000);
    this.#log.info(
      { event: "auth", ok: false, mechanism, user, ip: conn.ip, reason: "rate limited" },
      "login refused",
    );
    return fail("temporary", `too many failed logins; try again in ${secs} s`);
  }

  async #lookup(user: string): Promise<CredentialAccount | null | "error"> {
    try {
      return await this.#source.lookup(user);
    } catch (err) {
      this.#log.error({ err, user }, "credential lookup failed");
      return "error";
    }
  }

  async #failed(
    conn: SaslConnection,
    mechanism: string,
    shownUser: string,
    account: string | undefined,
    reason: string,
  ): Promise<void> {
    this.#log.info(
      { event: "auth", ok: false, mechanism, user: shownUser, ip: conn.ip, reason },
      "login failed",
    );
    try {
      await this.#limiter.recordFailure({ ip: conn.ip, account });
    } catch (err) {
      this.#log.error({ err }, "rate limiter error");
    }
  }

  #succeeded(
    conn: SaslConnection,
    mechanism: string,
    account: CredentialAccount,
    label: string | undefined,
  ): AuthOutcome {
    if (account.disabled) {
      // The secret was right, so this is not counted as a guess.
      this.#log.info(
        {
          event: "auth",
          ok: false,
          mechanism,
          user: account.username,
          ip: conn.ip,
          reason: "account disabled",
        },
        "login failed",
      );
      return this.#no("bad-credentials", "account disabled");
    }
    const result: AuthResult = { accountId: account.accountId, username: account.username, mechanism };
    if (label !== undefined) result.credentialLabel = label;
    if (account.roles?.includes("admin") === true) result.admin = true;
    this.#log.info(
      { event: "auth", ok: true, mechanism, user: account.username, ip: conn.ip, credential: label },
      "login",
    );
    return { ok: true, result };
  }

  #no(reason: AuthFailureReason, message: string): AuthOutcome {
    return { ok: false, reason, message };
  }
}
