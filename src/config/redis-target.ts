// Where nodeheal's Redis is: one URL, or a primary found through Redis Sentinel (so that losing
// the primary costs a failover, not the service). Pure: parses and checks the environment.

/** One Sentinel's address. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** The Redis that serve, worker and status connect to. */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | {
      kind: 'sentinel';
      sentinels: SentinelAddress[];
      /** The master group name the Sentinels monitor (`sentinel monitor <name> ...`). */
      masterName: string;
      /** Credentials of the primary and replicas (the Sentinels hand out their addresses only). */
      username?: string;
      password?: string;
      /** The Sentinels' own credentials, when they have `requirepass`. */
      sentinelUsername?: string;
      sentinelPassword?: string;
    };

/** The environment variables this reads (already validated as strings by the env schema). */
export interface RedisTargetEnv {
  url: string;
  urlSetExplicitly: boolean;
  sentinels?: string;
  masterName?: string;
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
}

/** A problem with the Redis settings; the message names the variable. */
export class RedisTargetError extends Error {
  readonly code = 'CONFIG_INVALID';
}

const SENTINEL_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\],]+):(\d{1,5})$/;

/**
 * Parses `host:port,host:port` (IPv6 in brackets) into Sentinel addresses.
 * - empty entries, a missing port or a port above 65535 are refused, naming the entry;
 * - the same address twice is refused (it would count as two Sentinels in our list only).
 */
export function parseSentinels(list: string): SentinelAddress[] {
  const entries = list.split(',').map((e) => e.trim());
  const seen = new Set<string>();
  return entries.map((entry) => {
    const match = SENTINEL_ADDRESS.exec(entry);
    if (!match) {
      throw new RedisTargetError(
        `NODEHEAL_REDIS_SENTINELS: ${JSON.stringify(entry)} is not host:port ` +
          '(expected a comma-separated list such as sentinel-0:26379,sentinel-1:26379)',
      );
    }
    const port = Number(match[2]);
    if (port < 1 || port > 65535) {
      throw new RedisTargetError(`NODEHEAL_REDIS_SENTINELS: ${entry}: port must be 1-65535`);
    }
    if (seen.has(entry)) throw new RedisTargetError(`NODEHEAL_REDIS_SENTINELS: ${entry} twice`);
    seen.add(entry);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/**
 * Works out the Redis target from the environment.
 * - without NODEHEAL_REDIS_SENTINELS: the URL (its own credentials, as always);
 * - with it: NODEHEAL_REDIS_SENTINEL_MASTER is required, and NODEHEAL_REDIS_URL must not be set
 *   too (two answers to "where is Redis" would silently pick one);
 * - sentinel-only settings without NODEHEAL_REDIS_SENTINELS are refused rather than ignored.
 */
export function redisTarget(env: RedisTargetEnv): RedisTarget {
  if (env.sentinels === undefined) {
    if (env.masterName !== undefined || env.sentinelPassword !== undefined) {
      throw new RedisTargetError(
        'NODEHEAL_REDIS_SENTINEL_MASTER and NODEHEAL_REDIS_SENTINEL_PASSWORD need NODEHEAL_REDIS_SENTINELS',
      );
    }
    return { kind: 'url', url: env.url };
  }
  if (env.urlSetExplicitly) {
    throw new RedisTargetError(
      'set NODEHEAL_REDIS_URL or NODEHEAL_REDIS_SENTINELS, not both ' +
        '(with Sentinel, credentials go in NODEHEAL_REDIS_USERNAME and NODEHEAL_REDIS_PASSWORD)',
    );
  }
  if (env.masterName === undefined) {
    throw new RedisTargetError(
      'NODEHEAL_REDIS_SENTINELS needs NODEHEAL_REDIS_SENTINEL_MASTER (the name in `sentinel monitor <name> ...`)',
    );
  }
  return {
    kind: 'sentinel',
    sentinels: parseSentinels(env.sentinels),
    masterName: env.masterName,
    ...optional('username', env.username),
    ...optional('password', env.password),
    ...optional('sentinelUsername', env.sentinelUsername),
    ...optional('sentinelPassword', env.sentinelPassword),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** The target for logs and error messages: hosts and names, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'url') return redactRedisUrl(target.url);
  const hosts = target.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
  return `the primary of ${target.masterName} (Sentinels ${hosts})`;
}

/** The URL without its credentials, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = parsed.username ? '***' : '';
      parsed.password = parsed.password ? '***' : '';
    }
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
