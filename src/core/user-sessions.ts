// limits.maxConnectionsPerUser: the authenticated sessions of each account on this server.
// IMAP (a LOGIN or AUTHENTICATE past the limit gets NO [LIMIT], RFC 5530 §3) and POP3 (-ERR
// [IN-USE], RFC 2449 §8.1.2: the credentials were fine, the maildrop is not available now)
// take a slot when they authenticate and give it back when they end or UNAUTHENTICATE. One
// registry per running server (kept beside its ServerContext, no global), counted per
// process: with session processes (server.workers) each counts its own sessions.
import type { ServerContext } from "./context.ts";
import type { Id } from "../store/types.ts";

export class UserSessions {
  readonly #counts = new Map<Id, number>();

  /** Sessions of the account open now. */
  count(accountId: Id): number {
    return this.#counts.get(accountId) ?? 0;
  }

  /**
   * Opens a session slot if fewer than `limit` are open; returns its release function (safe
   * to call more than once), or null when the account is at the limit.
   */
  open(accountId: Id, limit: number): (() => void) | null {
    const n = this.count(accountId);
    if (n >= limit) return null;
    this.#counts.set(accountId, n + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      const left = this.count(accountId) - 1;
      if (left > 0) this.#counts.set(accountId, left);
      else this.#counts.delete(accountId);
    };
  }
}

const registries = new WeakMap<ServerContext, UserSessions>();

/** The registry of the server that `ctx` belongs to. */
export function userSessions(ctx: ServerContext): UserSessions {
  let r = registries.get(ctx);
  if (r === undefined) {
    r = new UserSessions();
    registries.set(ctx, r);
  }
  return r;
}
