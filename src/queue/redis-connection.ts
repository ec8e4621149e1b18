// Redis connections with the options BullMQ needs for each role, to one Redis URL or to the
// primary that Redis Sentinel names (followed through a failover).
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config/index.ts';

/**
 * Producers (the webhook intake) fail fast: no offline queue and a command timeout, so that a
 * webhook answers 503 within a bounded time when Redis is down or stuck and Alertmanager retries.
 */
export function producerConnection(target: string | RedisTarget, commandTimeoutMs: number): Redis {
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
  return connect(target, options, { sentinelCommandTimeout: commandTimeoutMs }, 1);
}

/**
 * Workers block on Redis: BullMQ requires maxRetriesPerRequest null for them, and an offline
 * queue so that they ride out a Redis restart (or a Sentinel failover).
 */
export function workerConnection(target: string | RedisTarget): Redis {
  // A write refused as READONLY changed nothing, so a worker may send it again to the new primary.
  return connect(target, { maxRetriesPerRequest: null, enableOfflineQueue: true }, {}, 2);
}

function connect(
  target: string | RedisTarget,
  options: RedisOptions,
  sentinelOptions: RedisOptions,
  onReadonly: 1 | 2,
): Redis {
  if (typeof target === 'string') return new Redis(target, options);
  if (target.kind === 'url') return new Redis(target.url, options);
  return new Redis({
    ...options,
    ...sentinelOptions,
    sentinels: target.sentinels,
    name: target.masterName,
    username: target.username,
    password: target.password,
    sentinelUsername: target.sentinelUsername,
    sentinelPassword: target.sentinelPassword,
    // Sentinel announces a failover (+switch-master): drop the old primary at once instead of
    // writing to it until it is demoted or its TCP connection dies.
    failoverDetector: true,
    // A primary demoted to replica (it came back after a failover) answers writes with READONLY:
    // reconnect, which asks the Sentinels for the new primary (1: the caller sees the error and
    // retries, as Alertmanager does after a 503; 2: the command is sent again after reconnecting).
    reconnectOnError: (error) => (error.message.includes('READONLY') ? onReadonly : false),
  });
}
