// PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login-00): the client sends the password
// itself, so the SASL server offers them only over TLS unless plaintext is allowed.
import { applyAuthzid } from "./authzid.ts";
import { BaseMechanism } from "./base.ts";
import type { Step } from "./types.ts";
import { challenge, fail } from "./types.ts";
import { decodeUtf8, utf8Length } from "./util.ts";

/** RFC 4616 §2: authzid, authcid and passwd are each at most 255 octets. We allow longer
 *  passwords (long pass phrases, tokens used as passwords) up to this many octets. */
const MAX_ID_OCTETS = 255;
const MAX_PASSWORD_OCTETS = 1024;

export class PlainMechanism extends BaseMechanism {
  readonly name = "PLAIN";

  protected async onStart(ir: Buffer | null): Promise<Step> {
    // RFC 4616 §2: with no initial response the server sends an empty challenge.
    if (ir === null) return challenge(Buffer.alloc(0));
    return this.#message(ir);
  }

  protected async onStep(data: Buffer): Promise<Step> {
    return this.#message(data);
  }

  // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
  async #message(data: Buffer): Promise<Step> {
    const text = decodeUtf8(data);
    if (text === null) return fail("malformed", "PLAIN message is not UTF-8");
    const parts = text.split("\0");
    if (parts.length !== 3) return fail("malformed", "PLAIN message needs exactly two NUL separators");
    const [authzid = "", authcid = "", passwd = ""] = parts;
    if (authcid === "" || passwd === "") return fail("malformed", "PLAIN needs a user name and a password");
    if (utf8Length(authcid) > MAX_ID_OCTETS || utf8Length(authzid) > MAX_ID_OCTETS) {
      return fail("malformed", "PLAIN identity longer than 255 octets");
    }
    if (utf8Length(passwd) > MAX_PASSWORD_OCTETS) return fail("malformed", "PLAIN password too long");
    const outcome = await this.deps.backend.checkPassword(this.deps.conn, this.name, authcid, passwd);
    if (!outcome.ok) return fail(outcome.reason, outcome.message);
    return applyAuthzid(this.deps, outcome.result, authzid);
  }
}

/**
 * LOGIN: the server asks "Username:" then "Password:" (draft-murchison-sasl-login-00 §2); an
 * initial response is taken as the user name (RFC 4954 clients send it that way).
 */
export class LoginMechanism extends BaseMechanism {
  readonly name = "LOGIN";
  #username: string | null = null;

  protected async onStart(ir: Buffer | null): Promise<Step> {
    if (ir === null || ir.length === 0) return challenge("Username:");
    return this.#takeUsername(ir);
  }

  protected async onStep(data: Buffer): Promise<Step> {
    if (this.#username === null) return this.#takeUsername(data);
    const password = decodeUtf8(data);
    if (password === null) return fail("malformed", "LOGIN password is not UTF-8");
    if (password === "") return fail("malformed", "LOGIN needs a password");
    if (utf8Length(password) > MAX_PASSWORD_OCTETS) return fail("malformed", "LOGIN password too long");
    const outcome = await this.deps.backend.checkPassword(
      this.deps.conn,
      this.name,
      this.#username,
      password,
    );
    return outcome.ok ? { type: "success", result: outcome.result } : fail(outcome.reason, outcome.message);
  }

  #takeUsername(data: Buffer): Step {
    const user = decodeUtf8(data);
    if (user === null) return fail("malformed", "LOGIN user name is not UTF-8");
    if (user === "" || user.includes("\0")) return fail("malformed", "LOGIN needs a user name");
    if (utf8Length(user) > MAX_ID_OCTETS) return fail("malformed", "LOGIN user name longer than 255 octets");
    this.#username = user;
    return challenge("Password:");
  }
}
