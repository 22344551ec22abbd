// A ChangeBus shared by the processes of one server (src/server/workers.ts): events published
// here reach this process's listeners, then `forward` (to the other processes); events other
// processes committed arrive through `deliver` and reach only this process's listeners.
// Each process publishes its own commits in commit order; events of different processes may
// interleave, which listeners tolerate as they do the external-change watcher's: an event is a
// prompt to read the store's change log from what the listener last saw, not the data itself.
import { LocalChangeBus } from "./local.ts";
import type { ChangeBus, ChangeEvent, Id } from "../types.ts";

export class RelayChangeBus implements ChangeBus {
  readonly #local: LocalChangeBus;
  readonly #onError: (e: unknown) => void;
  #forward: ((event: ChangeEvent) => void) | undefined;

  constructor(opts?: { onError?: (e: unknown) => void; forward?: (event: ChangeEvent) => void }) {
    this.#onError = opts?.onError ?? (() => undefined);
    this.#local = new LocalChangeBus({ onError: this.#onError });
    this.#forward = opts?.forward;
  }

  /** Where this process's own events go after its listeners (replaces the previous one). */
  setForward(forward: ((event: ChangeEvent) => void) | undefined): void {
    this.#forward = forward;
  }

  publish(event: ChangeEvent): void {
    this.#local.publish(event);
    try {
      this.#forward?.(event);
    } catch (e) {
      this.#onError(e);
    }
  }

  /** An event another process published: to this process's listeners only. */
  deliver(event: ChangeEvent): void {
    this.#local.publish(event);
  }

  subscribe(accountId: Id, listener: (event: ChangeEvent) => void): () => void {
    return this.#local.subscribe(accountId, listener);
  }
}
