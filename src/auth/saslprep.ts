// String preparation of user names and passwords.
//
// SASLprep (RFC 4013, a profile of stringprep RFC 3454) is what SCRAM (RFC 5802 §2.2,
// RFC 7677) requires of both sides, so it is what we apply to every password before hashing and
// to every SASL user name. The tables come from @mongodb-js/saslprep (the MongoDB drivers'
// implementation of RFC 4013 with the RFC 3454 tables).
//
// RFC 8265 §4.2 (OpaqueString, PRECIS) is offered as opaqueString() for callers that want the
// newer rules; it is not what SCRAM clients apply, so the SASL code does not use it.
import saslprepLib from "@mongodb-js/saslprep";

export class PrepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrepError";
  }
}

/**
 * RFC 4013 §2: map (B.1 to nothing, C.1.2 to space), normalize (NFKC), reject prohibited output
 * (C.1.2-C.9) and bidi violations (RFC 3454 §6). Throws PrepError.
 *
 * RFC 4013 §2.5 treats strings as "queries" (unassigned code points allowed) or "stored strings"
 * (not allowed). The tables are Unicode 3.2, where every emoji is unassigned; we treat passwords
 * and names as queries so such passwords stay usable.
 */
export function saslprep(input: string): string {
  try {
    return saslprepLib(input, { allowUnassigned: true });
  } catch (e) {
    throw new PrepError(`SASLprep: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** saslprep() that answers null instead of throwing. */
export function trySaslprep(input: string): string | null {
  try {
    return saslprep(input);
  } catch {
    return null;
  }
}

/**
 * The canonical form of a login name for CredentialSource.lookup: SASLprep, then the domain
 * part (after the last "@") lower-cased (RFC 5321 §2.4: domains are case-insensitive; the local
 * part is left to the directory). Throws PrepError (also for an empty name).
 */
export function prepareUsername(input: string): string {
  const prepped = saslprep(input);
  if (prepped.length === 0) throw new PrepError("empty user name");
  const at = prepped.lastIndexOf("@");
  if (at < 0) return prepped;
  return prepped.slice(0, at + 1) + prepped.slice(at + 1).toLowerCase();
}

/** prepareUsername() that answers null instead of throwing. */
export function tryPrepareUsername(input: string): string | null {
  try {
    return prepareUsername(input);
  } catch {
    return null;
  }
}

// RFC 8264 §9: code points the FreeformClass disallows, approximated with Unicode properties of
// the running engine: controls, unassigned, surrogates, private use, default ignorables (which
// includes the join controls that are only CONTEXTJ), and old Hangul jamo (§9.9).
// todo RFC 8264 §9.8: allow ZWJ/ZWNJ in the contexts of RFC 5892 Appendix A.1/A.2.
const FREEFORM_DISALLOWED =
  /[\p{Cc}\p{Cn}\p{Cs}\p{Co}\p{Default_Ignorable_Code_Point}\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]/u;

/**
 * RFC 8265 §4.2 OpaqueString: map non-ASCII spaces (Zs) to U+0020 (§4.2.1 additional mapping),
 * normalize to NFC, then enforce the FreeformClass and a non-empty result. Throws PrepError.
 */
export function opaqueString(input: string): string {
  const out = input.replace(/\p{Zs}/gu, " ").normalize("NFC");
  if (out.length === 0) throw new PrepError("OpaqueString: empty string");
  if (FREEFORM_DISALLOWED.test(out)) throw new PrepError("OpaqueString: disallowed code point");
  return out;
}
