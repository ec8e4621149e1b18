// Structured logs (pino), one JSON line per decision. Level from NODEHEAL_LOG_LEVEL.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.NODEHEAL_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'nodeheal' } });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
