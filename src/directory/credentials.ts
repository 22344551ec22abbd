// The store as the authentication layer's CredentialSource: a login name is an account
// name or any of its addresses (aliases are not login names). Also the authzid hook that lets
// an administrator act as another account (RFC 4422 §3.4.1), when the configuration allows it.
import type { AuthResult, CredentialAccount, CredentialSource } from "../auth/types.ts";
import type { Account, MailStore } from "../store/types.ts";

async function findAccount(store: MailStore, username: string): Promise<Account | null> {
  return (await store.getAccountByName(username)) ?? (await store.getAccountByAddress(username));
}

export function storeCredentialSource(store: MailStore): CredentialSource {
  return {
    async lookup(username: string): Promise<CredentialAccount | null> {
      const account = await findAccount(store, username);
      if (!account) return null;
      const records = await store.listCredentials(account.id);
      return {
        accountId: account.id,
        username: account.name,
        disabled: account.disabled,
        credentials: records.map((r) => r.credential),
        roles: account.roles,
      };
    },
  };
}

/**
 * The Authenticator's `impersonate` hook, like Dovecot's master users: while `enabled()`
 * (auth.allowAdminImpersonation), an actor whose account has the admin role may act as any
 * enabled account, named by its login name or one of its addresses. Otherwise null (refused).
 */
export function storeImpersonation(
  store: MailStore,
  enabled: () => boolean,
): (actor: AuthResult, authzid: string) => Promise<AuthResult | null> {
  return async (actor, authzid) => {
    if (!enabled() || actor.admin !== true) return null;
    const target = await findAccount(store, authzid);
    if (target === null || target.disabled) return null;
    return { accountId: target.id, username: target.name, mechanism: actor.mechanism };
  };
}
