// The store as the authentication layer's CredentialSource: a login name is an account
// name or any of its addresses (aliases are not login names).
import type { CredentialAccount, CredentialSource } from "../auth/types.ts";
import type { MailStore } from "../store/types.ts";

export function storeCredentialSource(store: MailStore): CredentialSource {
  return {
    async lookup(username: string): Promise<CredentialAccount | null> {
      const account = (await store.getAccountByName(username)) ?? (await store.getAccountByAddress(username));
      if (!account) return null;
      const records = await store.listCredentials(account.id);
      return {
        accountId: account.id,
        username: account.name,
        disabled: account.disabled,
        credentials: records.map((r) => r.credential),
      };
    },
  };
}
