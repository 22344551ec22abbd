// RFC 8437 UNAUTHENTICATE: back to the not authenticated state on the same connection. The
// selected mailbox is closed without expunging, the identity and everything ENABLEd are
// dropped (RFC 8437 §3); TLS stays.
import { command, AUTHED } from "../command.ts";
import { deselect } from "./select.ts";

export const unauthenticate = command({
  name: "UNAUTHENTICATE",
  states: AUTHED,
  async handle(s) {
    deselect(s, false);
    s.unauthenticated();
    return { skipUpdates: true };
  },
});
