// One error type for storage and model rules (DESIGN.md "Errors"). Each protocol maps the
// code once, at its own boundary: an IMAP response code, a POP3 -ERR, an SMTP reply with an
// enhanced status, a JMAP SetError.

export type StoreErrorCode =
  | "NOTFOUND" // the object does not exist (or is not visible to this account)
  | "EXISTS" // an object with that name/address exists already
  | "NOQUOTA" // the write would exceed a quota
  | "EXPUNGED" // the message was expunged meanwhile
  | "LIMIT" // a configured limit (count, depth, length) would be exceeded
  | "TOOBIG" // the object is larger than allowed
  | "INVALID" // the argument breaks a model rule (bad name, loop in parents, ...)
  | "INUSE" // the object is locked or in use (POP3 maildrop, lease held)
  | "CONFLICT" // a conditional write lost (UNCHANGEDSINCE, ifInState)
  | "AUTH" // authentication failed
  | "TEMP" // a temporary failure: retry later
  | "PERM"; // a permanent failure not covered above

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: StoreErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "StoreError";
    this.code = code;
    this.details = details;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
