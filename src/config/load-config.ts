// Loads and validates configuration from the environment; errors name the variable.
import { envSchema, type EnvConfig } from './config-schema.ts';
import { redisTarget, RedisTargetError, type RedisTarget } from './redis-target.ts';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export interface Config extends EnvConfig {
  listenHost: string;
  listenPort: number;
  /** Where Redis is: the URL, or the primary the Sentinels name. */
  redis: RedisTarget;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  if (c.NODEHEAL_WEBHOOK_TOKEN && c.NODEHEAL_WEBHOOK_TOKEN_FILE) {
    throw new ConfigError(
      'invalid configuration: set NODEHEAL_WEBHOOK_TOKEN or NODEHEAL_WEBHOOK_TOKEN_FILE, not both',
    );
  }
  if (c.NODEHEAL_WEBHOOK_PASSWORD && c.NODEHEAL_WEBHOOK_PASSWORD_FILE) {
    throw new ConfigError(
      'invalid configuration: set NODEHEAL_WEBHOOK_PASSWORD or NODEHEAL_WEBHOOK_PASSWORD_FILE, not both',
    );
  }
  const hasPassword = Boolean(c.NODEHEAL_WEBHOOK_PASSWORD ?? c.NODEHEAL_WEBHOOK_PASSWORD_FILE);
  if (Boolean(c.NODEHEAL_WEBHOOK_USERNAME) !== hasPassword) {
    throw new ConfigError(
      'invalid configuration: NODEHEAL_WEBHOOK_USERNAME and NODEHEAL_WEBHOOK_PASSWORD(_FILE) go together',
    );
  }
  const split = c.NODEHEAL_LISTEN.lastIndexOf(':');
  const listenHost = c.NODEHEAL_LISTEN.slice(0, split).replace(/^\[|\]$/g, '');
  const listenPort = Number(c.NODEHEAL_LISTEN.slice(split + 1));
  if (listenPort > 65535)
    throw new ConfigError('invalid configuration: NODEHEAL_LISTEN: port > 65535');
  return { ...c, listenHost, listenPort, redis: redisTargetOf(c, env) };
}

function redisTargetOf(c: EnvConfig, env: NodeJS.ProcessEnv): RedisTarget {
  try {
    return redisTarget({
      url: c.NODEHEAL_REDIS_URL,
      // The URL has a default, so only the raw environment tells whether someone set it.
      urlSetExplicitly: env.NODEHEAL_REDIS_URL !== undefined,
      sentinels: c.NODEHEAL_REDIS_SENTINELS,
      masterName: c.NODEHEAL_REDIS_SENTINEL_MASTER,
      username: c.NODEHEAL_REDIS_USERNAME,
      password: c.NODEHEAL_REDIS_PASSWORD,
      sentinelUsername: c.NODEHEAL_REDIS_SENTINEL_USERNAME,
      sentinelPassword: c.NODEHEAL_REDIS_SENTINEL_PASSWORD,
    });
  } catch (error) {
    if (error instanceof RedisTargetError) {
      throw new ConfigError(`invalid configuration: ${error.message}`);
    }
    throw error;
  }
}
