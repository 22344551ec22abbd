// The in-process ChangeBus: one server process. Listeners run synchronously in
// subscription order; a listener that throws is reported and never breaks the publisher
// or the other listeners. (The cluster bus over Redis implements the same interface.)
import type { ChangeBus, ChangeEvent, Id } from "../types.ts";

type Listener = (event: ChangeEvent) => void;

export class LocalChangeBus implements ChangeBus {
  readonly #byAccount = new Map<string, Set<Listener>>();
  readonly #onError: (e: unknown) => void;

  constructor(opts?: { onError?: (e: unknown) => void }) {
    this.#onError = opts?.onError ?? (() => undefined);
  }

  publish(event: ChangeEvent): void {
    for (const key of [event.accountId, "*"]) {
      const set = this.#byAccount.get(key);
      if (!set) continue;
      for (const l of [...set]) {
        try {
          l(event);
        } catch (e) {
          try {
            this.#onError(e);
          } catch {
            // the error reporter failed too: nothing more to do
          }
        }
      }
    }
  }

  subscribe(accountId: Id, listener: Listener): () => void {
    let set = this.#byAccount.get(accountId);
    if (!set) this.#byAccount.set(accountId, (set = new Set()));
    // Wrap so one function subscribed twice gets two independent subscriptions.
    const entry: Listener = (e) => listener(e);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.#byAccount.get(accountId) === set) this.#byAccount.delete(accountId);
    };
  }
}
