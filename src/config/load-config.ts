// Loads and validates configuration from the environment; errors name the variable.
import { envSchema, type EnvConfig } from './config-schema.ts';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export interface Config extends EnvConfig {
  listenHost: string;
  listenPort: number;
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
  return { ...c, listenHost, listenPort };
}
