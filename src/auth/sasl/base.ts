// The common frame of every mechanism: one start, steps until success or failure, a size limit
// per client message, and no exception ever reaching the protocol (RFC 4422 §3: the exchange
// ends in an outcome; DESIGN.md: bad input gets the protocol's error, the connection stands).
import type { SaslBackend, SaslConnection, SaslMechanism, Step } from "./types.ts";
import { fail } from "./types.ts";

export interface MechanismDeps {
  conn: SaslConnection;
  backend: SaslBackend;
  /** Largest client message accepted, in bytes. */
  maxMessageBytes: number;
  /** Called with unexpected exceptions (bugs), which the client sees as a temporary failure. */
  onInternalError?: ((err: unknown, mechanism: string) => void) | undefined;
}

export abstract class BaseMechanism implements SaslMechanism {
  abstract readonly name: string;
  protected readonly deps: MechanismDeps;
  #started = false;
  #done = false;

  constructor(deps: MechanismDeps) {
    this.deps = deps;
  }

  protected abstract onStart(initialResponse: Buffer | null): Promise<Step>;
  protected abstract onStep(clientData: Buffer): Promise<Step>;

  async start(initialResponse: Buffer | null): Promise<Step> {
    if (this.#started) return this.#end(fail("malformed", "exchange already started"));
    this.#started = true;
    return this.#run(initialResponse, () => this.onStart(initialResponse));
  }

  async step(clientData: Buffer): Promise<Step> {
    if (!this.#started) return this.#end(fail("malformed", "exchange not started"));
    if (this.#done) return fail("malformed", "exchange already finished");
    return this.#run(clientData, () => this.onStep(clientData));
  }

  async #run(data: Buffer | null, fn: () => Promise<Step>): Promise<Step> {
    if (this.#done) return fail("malformed", "exchange already finished");
    if (data !== null && !Buffer.isBuffer(data))
      return this.#end(fail("malformed", "client data must be bytes"));
    if (data !== null && data.length > this.deps.maxMessageBytes) {
      return this.#end(fail("malformed", `client message longer than ${this.deps.maxMessageBytes} bytes`));
    }
    try {
      const s = await fn();
      return s.type === "challenge" ? s : this.#end(s);
    } catch (err) {
      this.deps.onInternalError?.(err, this.name);
      return this.#end(fail("temporary", "internal error during authentication"));
    }
  }

  #end(s: Step): Step {
    this.#done = true;
    return s;
  }
}

/** A mechanism that fails at once: unknown names, or a mechanism not allowed on this connection. */
export class RefusedMechanism implements SaslMechanism {
  readonly name: string;
  readonly #failure: Step;
  constructor(name: string, failure: Step) {
    this.name = name;
    this.#failure = failure;
  }
  async start(): Promise<Step> {
    return this.#failure;
  }
  async step(): Promise<Step> {
    return this.#failure;
  }
}
