// Logging with pino. One root logger per server; protocols take a child per connection
// (`conn`) and per command (`cmd`). Credentials and message bodies are redacted unless the
// operator asks for them with `logging.unredacted = true` (for debugging only).
import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/** Field paths that never reach the log unless redaction is switched off. */
export const REDACTED_PATHS = [
  "password",
  "*.password",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "saslResponse",
  "*.saslResponse",
  "body",
  "*.body",
  "literal",
  "*.literal",
];

export interface LoggerSettings {
  level: string;
  /** When true, credentials and bodies appear in trace logs. */
  unredacted?: boolean;
  /** Write to this destination instead of stdout (tests pass a stream or "silent"). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const opts: LoggerOptions = {
    level: settings.level,
    base: { svc: "mailroom" },
    redact: settings.unredacted ? [] : { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  return settings.destination ? pino(opts, settings.destination) : pino(opts);
}

/** A logger that drops everything; the default in tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
