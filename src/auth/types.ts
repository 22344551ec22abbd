// Shared types of the authentication layer: what the store keeps per secret, how it is looked
// up, and what a successful authentication yields. The store treats StoredCredential as opaque
// JSON, so everything here is strings and numbers (bytes as base64).

/** SCRAM keys of one password for one hash (RFC 5802 §3; RFC 7677 for SHA-256). */
export interface ScramKeys {
  /** Base64 of the random salt. */
  salt: string;
  /** PBKDF2 iteration count (RFC 7677 §4: at least 4096). */
  iterations: number;
  /** Base64 of H(ClientKey). */
  storedKey: string;
  /** Base64 of HMAC(SaltedPassword, "Server Key"). */
  serverKey: string;
}

/** One secret of an account: its main password or an application password. */
export interface StoredCredential {
  kind: "password" | "app-password";
  /** A name the user gave the app password ("phone", "laptop"). */
  label?: string;
  /** Argon2id PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") of the SASLprep'd password. */
  argon2: string;
  scramSha256?: ScramKeys;
  scramSha1?: ScramKeys;
  /**
   * Base64 of the SASLprep'd password, kept only when CRAM-MD5 is enabled: RFC 2195 needs a
   * recoverable secret on the server. todo: encrypt at rest with a server key.
   */
  cramMd5?: string;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
}

/** An account as the credential source returns it for a login name. */
export interface CredentialAccount {
  accountId: string;
  /** The canonical login name (prepared, see prepareUsername). */
  username: string;
  disabled: boolean;
  credentials: StoredCredential[];
  /** The account's roles ("admin", "user", ...), when the source keeps them. */
  roles?: string[];
}

/** Implemented by the store (or the directory): finds the secrets of a login name. */
export interface CredentialSource {
  /**
   * `username` has gone through prepareUsername(): SASLprep (RFC 4013) and the domain part
   * lower-cased. Returns null for an unknown login name.
   */
  lookup(username: string): Promise<CredentialAccount | null>;
}

/** What a successful authentication yields; protocols keep it as the session's identity. */
export interface AuthResult {
  accountId: string;
  username: string;
  /** SASL mechanism name ("PLAIN", "SCRAM-SHA-256-PLUS") or the command ("LOGIN", "USER/PASS"). */
  mechanism: string;
  /** Label of the app password that matched, if it was one. */
  credentialLabel?: string;
  /**
   * Set when an administrator authenticated and acts as another account (SASL authzid,
   * RFC 4422 §3.4.1): the identity that proved its credentials.
   */
  actor?: { accountId: string; username: string };
  /**
   * The identity that proved its credentials (the actor, when there is one) has the admin role:
   * protocols may allow it administrative commands (IMAP SETQUOTA, RFC 9208 §4.1.3).
   */
  admin?: boolean;
}

/** Why an authentication failed; protocols map it to their replies once. */
export type AuthFailureReason =
  | "bad-credentials" // wrong secret, unknown user, disabled account, authorization denied
  | "malformed" // the client's message breaks the mechanism's grammar
  | "temporary" // rate limited, or the store is unavailable: try later
  | "encrypt-needed" // a plaintext mechanism over an unencrypted connection
  | "not-supported"; // unknown or unavailable mechanism

export type AuthOutcome =
  { ok: true; result: AuthResult } | { ok: false; reason: AuthFailureReason; message: string };
