// limits.commandsPerMinute for one connection: a token bucket holding a tenth of the
// per-minute figure (at least 10), refilled continuously. A command finding the bucket empty
// waits for the next token: a client over the rate is slowed down, never refused, and a
// client within it never waits. The rate is read at every command, so a reload applies.
// Real time by default: the wait is a real timer, whatever clock the server's context uses.
import { systemClock, type Clock } from "../core/clock.ts";

export class CommandThrottle {
  readonly #perMinute: () => number;
  readonly #clock: Clock;
  #tokens: number | null = null;
  #at = 0;

  /** `perMinute` is read at every take() (e.g. from the current configuration). */
  constructor(perMinute: () => number, clock: Clock = systemClock) {
    this.#perMinute = perMinute;
    this.#clock = clock;
  }

  /** The bucket's capacity: the burst a client may send without waiting. */
  static burst(perMinute: number): number {
    return Math.max(10, Math.floor(perMinute / 10));
  }

  /**
   * Milliseconds the next command must wait (0 when a token is there), taking its token.
   * The caller sleeps that long before running the command.
   */
  take(): number {
    const perMinute = this.#perMinute();
    const perMs = perMinute / 60_000;
    const cap = CommandThrottle.burst(perMinute);
    const now = this.#clock.now();
    const tokens = this.#tokens === null ? cap : Math.min(cap, this.#tokens + (now - this.#at) * perMs);
    this.#at = now;
    if (tokens >= 1) {
      this.#tokens = tokens - 1;
      return 0;
    }
    // The token this command takes is the one that arrives after the wait.
    const waitMs = Math.ceil((1 - tokens) / perMs);
    this.#tokens = tokens + waitMs * perMs - 1;
    this.#at = now + waitMs;
    return waitMs;
  }
}
