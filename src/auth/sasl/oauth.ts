// Bearer-token mechanisms: OAUTHBEARER (RFC 7628) and Google's XOAUTH2
// (developers.google.com/gmail/imap/xoauth2-protocol). Both only parse the client message and
// hand the token to the configured TokenVerifier (through the backend).
import { decodeSaslname } from "./scram.ts";
import { applyAuthzid } from "./authzid.ts";
import { BaseMechanism } from "./base.ts";
import type { Step } from "./types.ts";
import { challenge, fail } from "./types.ts";
import { decodeUtf8 } from "./util.ts";

const KVSEP = "\x01";
// RFC 7628 §3.1: key = 1*(ALPHA); value = *(VCHAR / SP / HTAB / CR / LF)
const KEY = /^[A-Za-z]+$/;
const VALUE = /^[\x21-\x7E \t\r\n]*$/;
// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

function parsePairs(body: string): Map<string, string> | null {
  const out = new Map<string, string>();
  if (body === "") return out;
  for (const kv of body.split(KVSEP)) {
    const eq = kv.indexOf("=");
    if (eq <= 0) return null;
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value) || out.has(key)) return null;
    out.set(key, value);
  }
  return out;
}

abstract class BearerMechanism extends BaseMechanism {
  #errorSent = false;

  protected abstract parse(
    text: string,
  ): { user: string; token: string; host?: string; port?: number } | Step;
  /** The error challenge sent before the final failure (RFC 7628 §3.2.2). */
  protected abstract errorChallenge(): string;

  protected async onStart(ir: Buffer | null): Promise<Step> {
    if (ir === null) return challenge(Buffer.alloc(0));
    return this.#message(ir);
  }

  protected async onStep(data: Buffer): Promise<Step> {
    // RFC 7628 §3.2.3: after the error challenge the client sends a dummy %x01 (XOAUTH2: an
    // empty response) and the server fails the exchange.
    if (this.#errorSent) return fail("bad-credentials", "invalid token");
    return this.#message(data);
  }

  async #message(data: Buffer): Promise<Step> {
    const text = decodeUtf8(data);
    if (text === null) return fail("malformed", `${this.name} message is not UTF-8`);
    const parsed = this.parse(text);
    if ("type" in parsed) return parsed;
    const ctx: { user?: string; host?: string; port?: number } = {};
    if (parsed.user !== "") ctx.user = parsed.user;
    if (parsed.host !== undefined) ctx.host = parsed.host;
    if (parsed.port !== undefined) ctx.port = parsed.port;
    const outcome = await this.deps.backend.checkToken(this.deps.conn, this.name, parsed.token, ctx);
    if (!outcome.ok) {
      if (outcome.reason !== "bad-credentials") return fail(outcome.reason, outcome.message);
      this.#errorSent = true;
      return challenge(this.errorChallenge());
    }
    // RFC 7628 §3.1: the authzid, when given, must be the token's user (or one it may act as).
    return applyAuthzid(this.deps, outcome.result, parsed.user);
  }
}

/** RFC 7628 §3.1: gs2-header kvsep *kvpair kvsep, kvpair = key "=" value kvsep. */
export class OAuthBearerMechanism extends BearerMechanism {
  readonly name = "OAUTHBEARER";

  protected parse(text: string): { user: string; token: string; host?: string; port?: number } | Step {
    const sep = text.indexOf(KVSEP);
    if (sep < 0) return fail("malformed", "OAUTHBEARER message lacks %x01 separators");
    const gs2 = text.slice(0, sep);
    const rest = text.slice(sep + 1);
    // RFC 7628 §3.1: channel binding ("p") is not defined for OAUTHBEARER.
    const m = /^([ny]),(?:a=([^,]*))?,$/.exec(gs2);
    if (!m) return fail("malformed", "OAUTHBEARER GS2 header must be n,[a=user], or y,[a=user],");
    let user = "";
    if (m[2] !== undefined) {
      const u = decodeSaslname(m[2]);
      if (u === null) return fail("malformed", "OAUTHBEARER authzid is badly encoded");
      user = u;
    }
    if (!rest.endsWith(KVSEP)) return fail("malformed", "OAUTHBEARER message must end with %x01%x01");
    const body = rest.slice(0, -1);
    if (body !== "" && !body.endsWith(KVSEP))
      return fail("malformed", "OAUTHBEARER key/value pair not terminated");
    const pairs = parsePairs(body.slice(0, -1));
    if (pairs === null) return fail("malformed", "OAUTHBEARER key/value pairs are malformed");
    const auth = pairs.get("auth");
    const bearer = auth === undefined ? null : BEARER.exec(auth);
    if (!bearer?.[1]) return fail("malformed", "OAUTHBEARER needs auth=Bearer <token>");
    const out: { user: string; token: string; host?: string; port?: number } = { user, token: bearer[1] };
    const host = pairs.get("host");
    if (host !== undefined) out.host = host;
    const port = pairs.get("port");
    if (port !== undefined) {
      if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535)
        return fail("malformed", "OAUTHBEARER port is invalid");
      out.port = Number(port);
    }
    return out;
  }

  protected errorChallenge(): string {
    // RFC 7628 §3.2.2: status, scope and openid-configuration; the status per RFC 6750 §3.1.
    return JSON.stringify({ status: "invalid_token", schemes: "bearer" });
  }
}

/** XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A. */
export class XOAuth2Mechanism extends BearerMechanism {
  readonly name = "XOAUTH2";

  protected parse(text: string): { user: string; token: string } | Step {
    if (!text.endsWith(KVSEP + KVSEP)) return fail("malformed", "XOAUTH2 message must end with ^A^A");
    const pairs = parsePairs(text.slice(0, -2));
    if (pairs === null) return fail("malformed", "XOAUTH2 key/value pairs are malformed");
    const user = pairs.get("user");
    const auth = pairs.get("auth");
    const bearer = auth === undefined ? null : BEARER.exec(auth);
    if (!user || !bearer?.[1]) return fail("malformed", "XOAUTH2 needs user= and auth=Bearer <token>");
    return { user, token: bearer[1] };
  }

  protected errorChallenge(): string {
    return JSON.stringify({ status: "401", schemes: "bearer" });
  }
}
