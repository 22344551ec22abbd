// LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE (RFC 9051 §6.2.2) with the initial response of
// SASL-IR (RFC 4959 §3), plus the client's continuation lines (RFC 9051 §6.2.2: base64, or "*"
// to cancel).
import type { ArgReader } from "../args.ts";
import { ParseError } from "../args.ts";

export interface LoginArgs {
  type: "login";
  username: string;
  password: string;
}

export interface AuthenticateArgs {
  type: "authenticate";
  /** Upper-cased mechanism name, e.g. "PLAIN". */
  mechanism: string;
  /** RFC 4959 §3: the decoded initial response; "=" gives an empty Buffer; null when absent. */
  initialResponse: Buffer | null;
}

export function parseLogin(r: ArgReader): LoginArgs {
  // RFC 9051 §9: login = "LOGIN" SP userid SP password; both astrings
  r.sp();
  const username = r.astring("a user name");
  r.sp();
  const password = r.astring("a password");
  r.end();
  return { type: "login", username, password };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (RFC 4648 §4, padding required) to bytes; null when invalid. */
export function decodeBase64(s: string): Buffer | null {
  if (!BASE64.test(s)) return null;
  return Buffer.from(s, "base64");
}

export function parseAuthenticate(r: ArgReader): AuthenticateArgs {
  // RFC 9051 §9: authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
  r.sp();
  const mechanism = r.keyword("a SASL mechanism");
  let initialResponse: Buffer | null = null;
  if (r.trySp()) {
    // initial-resp = (base64 / "=")
    const s = r.atom("an initial response");
    if (s === "=") initialResponse = Buffer.alloc(0);
    else {
      initialResponse = decodeBase64(s);
      if (initialResponse === null) r.fail("Invalid base64 in the initial response");
    }
  }
  r.end();
  return { type: "authenticate", mechanism, initialResponse };
}

/** A client line during AUTHENTICATE: the decoded response, or "cancel" for "*". */
export function parseSaslResponse(line: Buffer): Buffer | "cancel" | ParseError {
  const s = line.toString("latin1");
  if (s === "*") return "cancel";
  if (s === "") return Buffer.alloc(0);
  return decodeBase64(s) ?? new ParseError("Invalid base64 in the SASL response");
}
