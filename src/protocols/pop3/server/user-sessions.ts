// limits.maxConnectionsPerUser: the authenticated sessions of each account on this server.
// A POP3 login past the limit is refused with -ERR [IN-USE] (RFC 2449 §8.1.2: the credentials
// were fine, the maildrop is not available now). One registry per running server (kept
// beside its ServerContext, no global), counted per process.
//
// The registry is protocol-neutral on purpose: a session registers with `open` and gives the
// slot back with the function it returns. todo: IMAP and ManageSieve sessions do not
// register yet (their code lives elsewhere), so today the count holds POP3 sessions, which
// the maildrop lock already keeps to one per account; the limit bites once they do.
import type { ServerContext } from "../../../core/context.ts";
import type { Id } from "../../../store/types.ts";

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
