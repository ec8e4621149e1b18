import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

type Env = Record<string, string>;

/** The error loadConfig throws for `env`, asserting it is a ConfigError. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      NODEHEAL_REDIS_URL: 'redis://127.0.0.1:6379',
      NODEHEAL_LISTEN: '0.0.0.0:8080',
      listenHost: '0.0.0.0',
      listenPort: 8080,
      NODEHEAL_RULES: 'alert-rules/remedies.yaml',
      NODEHEAL_DRY_RUN: false,
      NODEHEAL_BODY_LIMIT: '16mb',
      NODEHEAL_REDIS_TIMEOUT_MS: 2000,
      NODEHEAL_HISTORY_CACHE_ENTRIES: 50_000,
    });
    for (const key of [
      'NODEHEAL_WEBHOOK_TOKEN',
      'NODEHEAL_WEBHOOK_TOKEN_FILE',
      'NODEHEAL_WEBHOOK_USERNAME',
      'NODEHEAL_WEBHOOK_PASSWORD',
      'NODEHEAL_WEBHOOK_PASSWORD_FILE',
      'NODEHEAL_ADMIN_TOKEN',
      'NODEHEAL_PUBLIC_URL',
      'KUBECONFIG',
    ] as const) {
      expect(c[key], key).toBeUndefined();
    }
  });

  it('variables it does not know are ignored', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', NODEHEAL_SOMETHING_ELSE: 'x' })).not.toThrow();
  });
});

describe('loadConfig accepts valid values', () => {
  it.each<[string, Env, Record<string, unknown>]>([
    [
      'rediss URL',
      { NODEHEAL_REDIS_URL: 'rediss://r:6380/2' },
      { NODEHEAL_REDIS_URL: 'rediss://r:6380/2' },
    ],
    ['dry run true', { NODEHEAL_DRY_RUN: 'true' }, { NODEHEAL_DRY_RUN: true }],
    ['dry run 1', { NODEHEAL_DRY_RUN: '1' }, { NODEHEAL_DRY_RUN: true }],
    ['dry run false', { NODEHEAL_DRY_RUN: 'false' }, { NODEHEAL_DRY_RUN: false }],
    ['dry run 0', { NODEHEAL_DRY_RUN: '0' }, { NODEHEAL_DRY_RUN: false }],
    ['dry run empty', { NODEHEAL_DRY_RUN: '' }, { NODEHEAL_DRY_RUN: false }],
    ['body limit kb', { NODEHEAL_BODY_LIMIT: '512kb' }, { NODEHEAL_BODY_LIMIT: '512kb' }],
    ['body limit upper case', { NODEHEAL_BODY_LIMIT: '16MB' }, { NODEHEAL_BODY_LIMIT: '16MB' }],
    ['body limit bytes', { NODEHEAL_BODY_LIMIT: '1048576' }, { NODEHEAL_BODY_LIMIT: '1048576' }],
    ['redis timeout', { NODEHEAL_REDIS_TIMEOUT_MS: '500' }, { NODEHEAL_REDIS_TIMEOUT_MS: 500 }],
    [
      'history cache',
      { NODEHEAL_HISTORY_CACHE_ENTRIES: '1000' },
      { NODEHEAL_HISTORY_CACHE_ENTRIES: 1000 },
    ],
    [
      'redis timeout minimum',
      { NODEHEAL_REDIS_TIMEOUT_MS: '100' },
      { NODEHEAL_REDIS_TIMEOUT_MS: 100 },
    ],
    [
      'redis timeout maximum',
      { NODEHEAL_REDIS_TIMEOUT_MS: '60000' },
      { NODEHEAL_REDIS_TIMEOUT_MS: 60_000 },
    ],
    [
      'public URL',
      { NODEHEAL_PUBLIC_URL: 'https://nodeheal.example/' },
      { NODEHEAL_PUBLIC_URL: 'https://nodeheal.example/' },
    ],
    ['token', { NODEHEAL_WEBHOOK_TOKEN: 't0ken' }, { NODEHEAL_WEBHOOK_TOKEN: 't0ken' }],
    [
      'token file',
      { NODEHEAL_WEBHOOK_TOKEN_FILE: '/run/secrets/token' },
      { NODEHEAL_WEBHOOK_TOKEN_FILE: '/run/secrets/token' },
    ],
    [
      'username and password',
      { NODEHEAL_WEBHOOK_USERNAME: 'am', NODEHEAL_WEBHOOK_PASSWORD: 'pw' },
      { NODEHEAL_WEBHOOK_USERNAME: 'am', NODEHEAL_WEBHOOK_PASSWORD: 'pw' },
    ],
    [
      'username and password file',
      { NODEHEAL_WEBHOOK_USERNAME: 'am', NODEHEAL_WEBHOOK_PASSWORD_FILE: '/run/pw' },
      { NODEHEAL_WEBHOOK_USERNAME: 'am', NODEHEAL_WEBHOOK_PASSWORD_FILE: '/run/pw' },
    ],
    [
      'token together with basic credentials',
      {
        NODEHEAL_WEBHOOK_TOKEN: 't',
        NODEHEAL_WEBHOOK_USERNAME: 'am',
        NODEHEAL_WEBHOOK_PASSWORD: 'pw',
      },
      { NODEHEAL_WEBHOOK_TOKEN: 't', NODEHEAL_WEBHOOK_USERNAME: 'am' },
    ],
    ['kubeconfig', { KUBECONFIG: '/etc/kube/config' }, { KUBECONFIG: '/etc/kube/config' }],
  ])('%s', (_name, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });
});

describe('loadConfig names the invalid variable', () => {
  it.each<[string, string]>([
    ['NODEHEAL_REDIS_URL', 'http://127.0.0.1:6379'],
    ['NODEHEAL_REDIS_URL', '127.0.0.1:6379'],
    ['NODEHEAL_REDIS_URL', ''],
    ['NODEHEAL_LISTEN', '8080'],
    ['NODEHEAL_LISTEN', ':8080'],
    ['NODEHEAL_LISTEN', 'localhost'],
    ['NODEHEAL_LISTEN', 'localhost:http'],
    ['NODEHEAL_LISTEN', 'localhost:123456'],
    ['NODEHEAL_LISTEN', 'localhost:65536'],
    ['NODEHEAL_LISTEN', '::1:8080'],
    ['NODEHEAL_LISTEN', '[::1]'],
    ['NODEHEAL_LISTEN', 'my host:8080'],
    ['NODEHEAL_WEBHOOK_TOKEN', ''],
    ['NODEHEAL_WEBHOOK_TOKEN_FILE', ''],
    ['NODEHEAL_WEBHOOK_USERNAME', ''],
    ['NODEHEAL_WEBHOOK_PASSWORD', ''],
    ['NODEHEAL_WEBHOOK_PASSWORD_FILE', ''],
    ['NODEHEAL_ADMIN_TOKEN', ''],
    ['NODEHEAL_RULES', ''],
    ['NODEHEAL_DRY_RUN', 'yes'],
    ['NODEHEAL_DRY_RUN', 'TRUE'],
    ['NODEHEAL_PUBLIC_URL', 'not a url'],
    ['NODEHEAL_HISTORY_CACHE_ENTRIES', '0'],
    ['NODEHEAL_HISTORY_CACHE_ENTRIES', '1.5'],
    ['NODEHEAL_HISTORY_CACHE_ENTRIES', 'many'],
    ['NODEHEAL_BODY_LIMIT', 'lots'],
    ['NODEHEAL_BODY_LIMIT', '1.5mb'],
    ['NODEHEAL_BODY_LIMIT', '16 mb'],
    ['NODEHEAL_BODY_LIMIT', '-1'],
    ['NODEHEAL_REDIS_TIMEOUT_MS', 'soon'],
    ['NODEHEAL_REDIS_TIMEOUT_MS', '99'],
    ['NODEHEAL_REDIS_TIMEOUT_MS', '60001'],
    ['NODEHEAL_REDIS_TIMEOUT_MS', '1500.5'],
    ['NODEHEAL_REDIS_TIMEOUT_MS', ''],
  ])('%s=%j', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toMatch(/^invalid configuration:/);
    expect(error.message).toContain(`${name}:`);
  });

  it('every invalid variable is listed, each on its own line', () => {
    const error = configError({
      NODEHEAL_REDIS_URL: 'http://x',
      NODEHEAL_LISTEN: 'nope',
      NODEHEAL_DRY_RUN: 'maybe',
    });
    const lines = error.message.split('\n').slice(1);
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => l.trim().split(':')[0]).sort()).toEqual([
      'NODEHEAL_DRY_RUN',
      'NODEHEAL_LISTEN',
      'NODEHEAL_REDIS_URL',
    ]);
  });

  it('the message says what was expected, not only where', () => {
    expect(configError({ NODEHEAL_LISTEN: 'nope' }).message).toContain('expected host:port');
    expect(configError({ NODEHEAL_REDIS_URL: 'http://x' }).message).toContain('redis://');
  });

  it('a secret value is never echoed in the error', () => {
    const error = configError({
      NODEHEAL_WEBHOOK_TOKEN: 'super-secret-value',
      NODEHEAL_WEBHOOK_TOKEN_FILE: '/run/token',
    });
    expect(error.message).not.toContain('super-secret-value');
  });
});

describe('loadConfig rejects conflicting or incomplete credentials', () => {
  it.each<[string, Env, RegExp]>([
    [
      'token and token file',
      { NODEHEAL_WEBHOOK_TOKEN: 't', NODEHEAL_WEBHOOK_TOKEN_FILE: '/run/token' },
      /NODEHEAL_WEBHOOK_TOKEN or NODEHEAL_WEBHOOK_TOKEN_FILE, not both/,
    ],
    [
      'password and password file',
      {
        NODEHEAL_WEBHOOK_USERNAME: 'am',
        NODEHEAL_WEBHOOK_PASSWORD: 'pw',
        NODEHEAL_WEBHOOK_PASSWORD_FILE: '/run/pw',
      },
      /NODEHEAL_WEBHOOK_PASSWORD or NODEHEAL_WEBHOOK_PASSWORD_FILE, not both/,
    ],
    [
      'username without password',
      { NODEHEAL_WEBHOOK_USERNAME: 'am' },
      /NODEHEAL_WEBHOOK_USERNAME and NODEHEAL_WEBHOOK_PASSWORD\(_FILE\) go together/,
    ],
    [
      'password without username',
      { NODEHEAL_WEBHOOK_PASSWORD: 'pw' },
      /NODEHEAL_WEBHOOK_USERNAME and NODEHEAL_WEBHOOK_PASSWORD\(_FILE\) go together/,
    ],
    [
      'password file without username',
      { NODEHEAL_WEBHOOK_PASSWORD_FILE: '/run/pw' },
      /NODEHEAL_WEBHOOK_USERNAME and NODEHEAL_WEBHOOK_PASSWORD\(_FILE\) go together/,
    ],
  ])('%s', (_name, env, message) => {
    expect(configError(env).message).toMatch(message);
  });
});

describe('NODEHEAL_LISTEN host:port', () => {
  it.each<[string, string, number]>([
    ['0.0.0.0:8080', '0.0.0.0', 8080],
    ['127.0.0.1:9000', '127.0.0.1', 9000],
    ['localhost:65535', 'localhost', 65535],
    ['nodeheal.monitoring.svc:8443', 'nodeheal.monitoring.svc', 8443],
    ['127.0.0.1:0', '127.0.0.1', 0],
    ['[::1]:8080', '::1', 8080],
    ['[::]:80', '::', 80],
    ['[fd00:0:0::1]:9100', 'fd00:0:0::1', 9100],
    ['[::ffff:10.0.0.1]:8080', '::ffff:10.0.0.1', 8080],
  ])('%s -> host %s, port %i', (listen, host, port) => {
    const c = loadConfig({ NODEHEAL_LISTEN: listen });
    expect(c.NODEHEAL_LISTEN).toBe(listen);
    expect(c.listenHost).toBe(host);
    expect(c.listenPort).toBe(port);
  });
});
