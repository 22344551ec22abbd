// SCRAM (RFC 5802) with SHA-1 and SHA-256 (RFC 7677), and the -PLUS variants with channel
// binding: tls-exporter (RFC 9266) and tls-unique (RFC 5929 §3).
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { ScramHash } from "../password.ts";
import { scramHashLength } from "../password.ts";
import type { CredentialAccount, ScramKeys, StoredCredential } from "../types.ts";
import { applyAuthzid } from "./authzid.ts";
import type { MechanismDeps } from "./base.ts";
import { BaseMechanism } from "./base.ts";
import type { Step } from "./types.ts";
import { challenge, fail } from "./types.ts";
import { constantTimeEqual, decodeBase64Strict, decodeUtf8 } from "./util.ts";

export interface ScramVariant {
  name: "SCRAM-SHA-1" | "SCRAM-SHA-1-PLUS" | "SCRAM-SHA-256" | "SCRAM-SHA-256-PLUS";
  hash: ScramHash;
  plus: boolean;
}

export const SCRAM_VARIANTS: readonly ScramVariant[] = [
  { name: "SCRAM-SHA-256-PLUS", hash: "sha256", plus: true },
  { name: "SCRAM-SHA-256", hash: "sha256", plus: false },
  { name: "SCRAM-SHA-1-PLUS", hash: "sha1", plus: true },
  { name: "SCRAM-SHA-1", hash: "sha1", plus: false },
];

export interface ScramOptions {
  /** The server's part of the nonce (printable ASCII without ","); injectable for test vectors. */
  serverNonce: () => string;
  /** Key for the fake salts of unknown users (RFC 5802 §5.1: do not reveal which users exist). */
  fakeSaltSecret: Buffer;
  /** Iteration count announced in fake server-first messages. */
  fakeIterations: number;
}

type ChannelBindingType = "tls-exporter" | "tls-unique";

interface FirstState {
  gs2Header: string;
  cbData: Buffer | null;
  authzid: string;
  username: string;
  account: CredentialAccount | null;
  candidates: { cred: StoredCredential; keys: ScramKeys }[];
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
}

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (printable ASCII except ",").
const PRINTABLE = /^[\x21-\x2B\x2D-\x7E]+$/;
// RFC 5802 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-"); attr-val = ALPHA "=" value.
const CB_NAME = /^[A-Za-z0-9.-]+$/;
const ATTR = /^[A-Za-z]=/;

/**
 * RFC 5802 §5.1: saslname = 1*(value-safe-char / "=2C" / "=3D"); any other "=" sequence is an
 * error (e=invalid-encoding). Returns null when invalid.
 */
export function decodeSaslname(s: string): string | null {
  if (s.length === 0 || s.includes("\0")) return null;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== "=") {
      out += ch;
      continue;
    }
    const esc = s.slice(i + 1, i + 3);
    if (esc === "2C") out += ",";
    else if (esc === "3D") out += "=";
    else return null;
    i += 2;
  }
  return out;
}

/** Splits an attribute list, checking every element is "a=value". */
function attributes(s: string): { key: string; value: string }[] | null {
  const out: { key: string; value: string }[] = [];
  for (const part of s.split(",")) {
    if (!ATTR.test(part)) return null;
    out.push({ key: part.charAt(0), value: part.slice(2) });
  }
  return out;
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

export class ScramMechanism extends BaseMechanism {
  readonly name: string;
  readonly #variant: ScramVariant;
  readonly #opts: ScramOptions;
  #first: FirstState | null = null;

  constructor(deps: MechanismDeps, variant: ScramVariant, opts: ScramOptions) {
    super(deps);
    this.name = variant.name;
    this.#variant = variant;
    this.#opts = opts;
  }

  protected async onStart(ir: Buffer | null): Promise<Step> {
    // RFC 4422 §5: a client-first mechanism started without initial response gets an empty challenge.
    if (ir === null) return challenge(Buffer.alloc(0));
    return this.#clientFirst(ir);
  }

  protected async onStep(data: Buffer): Promise<Step> {
    return this.#first === null ? this.#clientFirst(data) : this.#clientFinal(this.#first, data);
  }

  /** RFC 5802 §7: client-first-message = gs2-header client-first-message-bare. */
  async #clientFirst(data: Buffer): Promise<Step> {
    const text = decodeUtf8(data);
    if (text === null) return fail("malformed", "SCRAM message is not UTF-8");
    const c1 = text.indexOf(",");
    const c2 = c1 < 0 ? -1 : text.indexOf(",", c1 + 1);
    if (c2 < 0) return fail("malformed", "SCRAM client-first needs a GS2 header");
    const flag = text.slice(0, c1);
    const authzPart = text.slice(c1 + 1, c2);
    const gs2Header = text.slice(0, c2 + 1);
    const bare = text.slice(c2 + 1);

    // RFC 5802 §7: gs2-header = gs2-cbind-flag "," [ authzid ] ","
    let authzid = "";
    if (authzPart !== "") {
      if (!authzPart.startsWith("a=")) return fail("malformed", "bad authzid in GS2 header");
      const a = decodeSaslname(authzPart.slice(2));
      if (a === null) return fail("malformed", "invalid-encoding of authzid");
      authzid = a;
    }

    const cb = this.#channelBinding(flag);
    if ("failure" in cb) return cb.failure;

    // RFC 5802 §7: client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const attrs = attributes(bare);
    if (attrs === null) return fail("malformed", "SCRAM client-first attributes are malformed");
    // RFC 5802 §5.1 "m": reserved for mandatory extensions; the server MUST fail if it sees one.
    if (attrs[0]?.key === "m") return fail("not-supported", "extensions-not-supported");
    const [n, r] = attrs;
    if (n?.key !== "n" || r?.key !== "r") return fail("malformed", "SCRAM client-first needs n= then r=");
    const rawUser = decodeSaslname(n.value);
    if (rawUser === null) return fail("malformed", "invalid-encoding of username");
    if (!PRINTABLE.test(r.value)) return fail("malformed", "SCRAM client nonce must be printable ASCII");

    const begun = await this.deps.backend.beginChallenge(this.deps.conn, this.name, rawUser);
    if (!begun.ok) return begun.failure;

    const field = this.#variant.hash === "sha256" ? "scramSha256" : "scramSha1";
    const withKeys = (begun.account?.credentials ?? []).flatMap((cred) => {
      const keys = cred[field];
      return keys ? [{ cred, keys }] : [];
    });
    // One salt per exchange: the main password's, and every secret that shares it (see
    // MakeCredentialOptions.scramSaltFrom).
    const chosen = withKeys.find((c) => c.cred.kind === "password") ?? withKeys[0];
    const candidates = chosen
      ? withKeys.filter(
          (c) => c.keys.salt === chosen.keys.salt && c.keys.iterations === chosen.keys.iterations,
        )
      : [];
    const salt = chosen?.keys.salt ?? this.#fakeSalt(begun.username);
    const iterations = chosen?.keys.iterations ?? this.#opts.fakeIterations;

    const serverNonce = this.#opts.serverNonce();
    if (!PRINTABLE.test(serverNonce)) throw new Error("server nonce must be printable ASCII without commas");
    const nonce = r.value + serverNonce;
    const serverFirst = `r=${nonce},s=${salt},i=${iterations}`;
    this.#first = {
      gs2Header,
      cbData: cb.data,
      authzid,
      username: begun.username,
      account: begun.account,
      candidates,
      clientFirstBare: bare,
      serverFirst,
      nonce,
    };
    return challenge(serverFirst);
  }

  /** RFC 5802 §6 and §7 gs2-cbind-flag; RFC 5056 for the meaning of "y". */
  #channelBinding(flag: string): { data: Buffer | null } | { failure: Step } {
    const conn = this.deps.conn;
    if (flag === "n" || flag === "y") {
      if (this.#variant.plus) {
        return { failure: fail("malformed", `${this.name} requires channel binding (gs2 flag "p")`) };
      }
      // RFC 5802 §6: "y" means the client supports channel binding but thinks the server does
      // not. We advertise -PLUS on every TLS connection, so on TLS that is a downgrade attack.
      if (flag === "y" && conn.tls) {
        return { failure: fail("bad-credentials", "server-does-support-channel-binding") };
      }
      return { data: null };
    }
    if (!flag.startsWith("p=") || !CB_NAME.test(flag.slice(2))) {
      return { failure: fail("malformed", "bad channel-binding flag in GS2 header") };
    }
    if (!this.#variant.plus) {
      return {
        failure: fail("malformed", `channel binding requested with ${this.name}; use the -PLUS mechanism`),
      };
    }
    const type = flag.slice(2) as ChannelBindingType;
    const provider = conn.tls ? conn.channelBinding : undefined;
    let data: Buffer | null = null;
    if (type === "tls-exporter") data = provider?.tlsExporter() ?? null;
    else if (type === "tls-unique") data = provider?.tlsUnique() ?? null;
    if (data === null) return { failure: fail("not-supported", "unsupported-channel-binding-type") };
    return { data };
  }

  /** RFC 5802 §7: client-final-message = channel-binding "," nonce ["," extensions] "," proof */
  async #clientFinal(first: FirstState, data: Buffer): Promise<Step> {
    const text = decodeUtf8(data);
    if (text === null) return fail("malformed", "SCRAM message is not UTF-8");
    const attrs = attributes(text);
    if (attrs === null || attrs.length < 3) return fail("malformed", "SCRAM client-final is malformed");
    const c = attrs[0];
    const r = attrs[1];
    const p = attrs[attrs.length - 1];
    if (c?.key !== "c" || r?.key !== "r" || p?.key !== "p") {
      return fail("malformed", "SCRAM client-final needs c=, r=, ..., p=");
    }
    if (r.value !== first.nonce) return fail("malformed", "SCRAM nonce mismatch");
    const cbind = decodeBase64Strict(c.value);
    const proof = decodeBase64Strict(p.value);
    if (cbind === null || proof === null) return fail("malformed", "SCRAM c= or p= is not base64");
    if (proof.length !== scramHashLength(this.#variant.hash))
      return fail("malformed", "SCRAM proof has the wrong length");

    const withoutProof = text.slice(0, text.length - p.value.length - 3);
    const authMessage = `${first.clientFirstBare},${first.serverFirst},${withoutProof}`;

    // RFC 5802 §7: cbind-input = gs2-header [ cbind-data ] — it must repeat what we saw.
    const expected = Buffer.concat([Buffer.from(first.gs2Header, "utf8"), first.cbData ?? Buffer.alloc(0)]);
    const backend = this.deps.backend;
    if (!constantTimeEqual(cbind, expected)) {
      // Counted as a failed login: a mismatch means a man in the middle or a broken client.
      await backend.endChallenge(this.deps.conn, this.name, first.username, first.account, null);
      return fail("bad-credentials", "channel-bindings-dont-match");
    }

    // RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) = StoredKey.
    const h = this.#variant.hash;
    let matched: { cred: StoredCredential; keys: ScramKeys } | null = null;
    for (const cand of first.candidates) {
      const storedKey = Buffer.from(cand.keys.storedKey, "base64");
      const clientSignature = createHmac(h, storedKey).update(authMessage).digest();
      const clientKey = xor(proof, clientSignature);
      if (constantTimeEqual(createHash(h).update(clientKey).digest(), storedKey) && matched === null) {
        matched = cand;
      }
    }
    const label = matched?.cred.label;
    const outcome = await backend.endChallenge(
      this.deps.conn,
      this.name,
      first.username,
      first.account,
      matched ? (label !== undefined ? { label } : {}) : null,
    );
    if (!outcome.ok || matched === null) {
      return fail(
        outcome.ok ? "bad-credentials" : outcome.reason,
        outcome.ok ? "invalid-proof" : outcome.message,
      );
    }
    // RFC 5802 §3: ServerSignature = HMAC(ServerKey, AuthMessage), sent as v= (server-final).
    const serverKey = Buffer.from(matched.keys.serverKey, "base64");
    const serverFinal = Buffer.from(`v=${createHmac(h, serverKey).update(authMessage).digest("base64")}`);
    return applyAuthzid(this.deps, outcome.result, first.authzid, serverFinal);
  }

  /** A stable salt per (mechanism, user) so probing an unknown user twice looks like a real one. */
  #fakeSalt(username: string): string {
    return createHmac("sha256", this.#opts.fakeSaltSecret)
      .update(`${this.#variant.hash}\0${username}`)
      .digest()
      .subarray(0, 16)
      .toString("base64");
  }
}

/** A server nonce: 18 random bytes in base64 (printable, no commas). */
export function randomServerNonce(): string {
  return randomBytes(18).toString("base64");
}
