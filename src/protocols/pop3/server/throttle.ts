// limits.commandsPerMinute for one POP3 connection: a token bucket refilled at the configured
// rate, holding a tenth of a minute's commands (at least 10) so short bursts pass. POP3
// needs one command per message (RETR n, DELE n), so a login adds a credit of
// MAILDROP_CREDIT commands per message: a client that downloads and deletes a large
// maildrop at full speed is not refused; a client looping on NOOP or RETR 1 is.
// An empty bucket (and credit) refuses the command with -ERR [SYS/TEMP] (RFC 3206 §4: a
// temporary condition, the client may try again later); the session counts it as an error.
// QUIT is never refused, so a throttled client can still end its session (and UPDATE).

/** Commands per maildrop message allowed on top of the bucket (TOP or RETR, DELE, LIST). */
export const MAILDROP_CREDIT = 3;

export class CommandThrottle {
  #tokens: number;
  /** Commands granted on top of the bucket, used when it is empty; never refilled. */
  #credit = 0;
  #at: number;
  readonly #now: () => number;

  constructor(perMinute: number, now: () => number = Date.now) {
    this.#now = now;
    this.#at = now();
    this.#tokens = CommandThrottle.capacity(perMinute);
  }

  static capacity(perMinute: number): number {
    return Math.max(10, Math.floor(perMinute / 10));
  }

  /**
   * Takes one command from the bucket; false when it is empty. `perMinute` is read at each
   * command, so a configuration reload applies to open connections.
   */
  take(perMinute: number): boolean {
    const now = this.#now();
    const refill = ((now - this.#at) * perMinute) / 60_000;
    this.#at = now;
    this.#tokens = Math.min(CommandThrottle.capacity(perMinute), this.#tokens + refill);
    if (this.#tokens >= 1) this.#tokens -= 1;
    else if (this.#credit >= 1) this.#credit -= 1;
    else return false;
    return true;
  }

  /** Adds commands (the maildrop credit at login). */
  credit(n: number): void {
    this.#credit += n;
  }

  /** Seconds until the next command would pass, for the refusal text. */
  waitSeconds(perMinute: number): number {
    return Math.max(1, Math.ceil(((1 - this.#tokens) * 60) / perMinute));
  }
}
