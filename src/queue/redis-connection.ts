// Redis connections with the options BullMQ needs for each role.
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producers (the webhook intake) fail fast: no offline queue and a command timeout, so that a
 * webhook answers 503 within a bounded time when Redis is down or stuck and Alertmanager retries.
 */
export function producerConnection(url: string, commandTimeoutMs: number): Redis {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs,
    // No auto-pipelining: with BullMQ's scripts defined on the connection, ioredis copies them
    // onto every implicit pipeline, which cost more than it saved (bench:intake).
    enableAutoPipelining: false,
    // Keep reconnecting in the background, with a cap, so the service recovers by itself.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    lazyConnect: true,
    // A failed connect should not keep a short-lived command (`nodeheal status`) alive for 2 s.
    disconnectTimeout: 100,
  };
  return new Redis(url, options);
}

/**
 * Workers block on Redis: BullMQ requires maxRetriesPerRequest null for them, and an offline
 * queue so that they ride out a Redis restart.
 */
export function workerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
}
