// The one mapping of failures to IMAP replies (DESIGN.md "Errors"): handlers throw an ImapError
// for a NO/BAD of their own, or let a StoreError through; only the dispatcher catches and
// answers, with the RFC 5530 response code that fits (RFC 9051 §7.1).
import { isStoreError } from "../../../core/errors.ts";
import type { StoreErrorCode } from "../../../core/errors.ts";

/** A tagged NO or BAD a handler wants sent. */
export class ImapError extends Error {
  readonly status: "NO" | "BAD";
  readonly code: string | null;
  constructor(status: "NO" | "BAD", code: string | null, message: string) {
    super(message);
    this.name = "ImapError";
    this.status = status;
    this.code = code;
  }
}

/** Shorthand: NO [code] text. */
export function no(code: string | null, text: string): ImapError {
  return new ImapError("NO", code, text);
}

/** Shorthand: BAD [code] text. */
export function bad(text: string, code: string | null = null): ImapError {
  return new ImapError("BAD", code, text);
}

// RFC 5530 §3 codes by store error code
const STORE_CODES: Record<StoreErrorCode, string> = {
  NOTFOUND: "NONEXISTENT",
  EXISTS: "ALREADYEXISTS",
  NOQUOTA: "OVERQUOTA",
  EXPUNGED: "EXPUNGEISSUED",
  LIMIT: "LIMIT",
  TOOBIG: "TOOBIG", // RFC 7889 §4
  INVALID: "CANNOT",
  INUSE: "INUSE",
  CONFLICT: "CANNOT",
  AUTH: "AUTHENTICATIONFAILED",
  TEMP: "UNAVAILABLE",
  PERM: "CANNOT",
};

/** The reply for a failure: `{ status, code, text, log }`; `log` says whether it is a server fault. */
export function mapFailure(e: unknown): {
  status: "NO" | "BAD";
  code: string | null;
  text: string;
  serverFault: boolean;
} {
  if (e instanceof ImapError) return { status: e.status, code: e.code, text: e.message, serverFault: false };
  if (isStoreError(e))
    return { status: "NO", code: STORE_CODES[e.code], text: e.message, serverFault: false };
  // RFC 5530 §3 SERVERBUG: our fault; the text stays generic, the stack goes to the log
  return { status: "NO", code: "SERVERBUG", text: "Internal error, try again later", serverFault: true };
}
