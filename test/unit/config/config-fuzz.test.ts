// Hostile configuration, fuzzed (fast-check): whatever the environment of `nodeheal serve` or
// `nodeheal worker` holds (random text, random JSON, valid settings with random edits), loading
// it gives a configuration or an error that says it is invalid and names a variable that was
// set; never an exception of another kind (a TypeError, a RangeError from a time zone...).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadWorkerConfig } from '../../../src/config/index.ts';

/**
 * The error names a variable the environment set (defaults are never wrong; a pair that must go
 * together may name the missing partner too).
 */
function expectNamesASetVariable(message: string, env: Record<string, string>): void {
  const named = message.match(/\b(NODEHEAL_[A-Z0-9_]+|KUBECONFIG)\b/g) ?? [];
  expect(
    named.some((name) => name in env),
    `${message}\nnames one of ${Object.keys(env).join(', ')}`,
  ).toBe(true);
}

// ---------------------------------------------------------------------------------------------
// Valid examples of each structured setting, which the fuzz then breaks.

const WORKER_JSON: Record<string, unknown> = {
  NODEHEAL_PROVIDERS: [{ selector: { pool: 'a' }, provider: 'kwok' }],
  NODEHEAL_SAFETY: { poolBudget: 2, stormThreshold: 0.3 },
  NODEHEAL_SELF_FENCE: { selector: { pool: 'a' }, safeTimeSeconds: 120 },
  NODEHEAL_MAINTENANCE_WINDOWS: [
    { selector: { pool: 'a' }, days: ['mon'], start: '22:00', end: '05:00', timeZone: 'UTC' },
  ],
  NODEHEAL_BLOCKERS: [{ name: 'ceph', query: 'up == 0', pools: ['a'] }],
  NODEHEAL_AGENT_ENDPOINTS: { 'node-1': 'http://10.0.0.1:9180' },
  NODEHEAL_HOOKS: [{ name: 'db', url: 'https://db.example/hook', pools: ['db'] }],
  NODEHEAL_NOTIFY_SINKS: [{ name: 'events', url: 'http://broker.example/' }],
};
/** What a set JSON variable needs beside it to be valid. */
const COMPANIONS: Record<string, string> = {
  NODEHEAL_AGENT_SECRET_FILE: '/etc/nodeheal/agent/secret',
  NODEHEAL_PROMETHEUS_URL: 'http://prometheus:9090',
  NODEHEAL_HOOK_SECRET_FILE: '/etc/nodeheal/hooks/secret',
};
const WORKER_SCALARS = [
  'NODEHEAL_WORKER_CONCURRENCY',
  'NODEHEAL_WORKER_LISTEN',
  'NODEHEAL_NODE_LOCK_TTL_MS',
  'NODEHEAL_POOL_LABELS',
  'NODEHEAL_DEFAULT_PROVIDER',
  'NODEHEAL_ALERTMANAGER_URL',
  'NODEHEAL_DRAIN_EMPTYDIR',
  'NODEHEAL_DRAIN_FORCE',
  'NODEHEAL_CLUSTER_NAME',
  'NODEHEAL_SURGE',
  'NODEHEAL_VERIFY_POLL_MS',
];
const SERVE_VARIABLES = [
  'NODEHEAL_REDIS_URL',
  'NODEHEAL_LISTEN',
  'NODEHEAL_WEBHOOK_TOKEN',
  'NODEHEAL_WEBHOOK_TOKEN_FILE',
  'NODEHEAL_WEBHOOK_USERNAME',
  'NODEHEAL_WEBHOOK_PASSWORD',
  'NODEHEAL_ADMIN_TOKEN',
  'NODEHEAL_DRY_RUN',
  'NODEHEAL_PUBLIC_URL',
  'NODEHEAL_BODY_LIMIT',
  'NODEHEAL_REDIS_TIMEOUT_MS',
  'NODEHEAL_HISTORY_CACHE_ENTRIES',
  'NODEHEAL_CLUSTER',
  'NODEHEAL_CLUSTER_LABEL',
];

/** Text an operator (or a templating accident) may put in a variable. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e309',
    'NaN',
    'Infinity',
    '0x10',
    '99999999999999999999',
    'true',
    'null',
    '[]',
    '{}',
    '{"__proto__":{"polluted":1}}',
    'http://',
    'redis://',
    '[::1]:8080',
    ':',
    '0.0.0.0:99999',
    '$(reboot)',
    '`id`',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    'a\u0000b',
    '\uD800',
  ),
);

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? Array.from({ length: value.length }, (_, i) => [i, (value as unknown[])[i]])
    : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

/** Values a JSON setting may hold by mistake, including time zones and clocks that do not exist. */
const wrongJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    'Mars/Olympus_Mons',
    'UTC+25',
    '',
    '25:00',
    '24:00',
    '7:5',
    'funday',
    'http://',
    'not a url',
    'ftp://x',
    -1,
    0,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    '$(reboot)',
  ),
);

const jsonEdit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('set', 'delete', 'add'),
  key: fc.constantFrom('__proto__', 'constructor', 'extra', 'timeZone', 'url'),
  value: wrongJson,
});

/** A valid JSON setting with random edits, as text; sometimes not JSON at all. */
function brokenJson(name: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: hostileText },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    {
      weight: 5,
      arbitrary: fc.array(jsonEdit, { minLength: 0, maxLength: 3 }).map((edits) => {
        const root = { value: structuredClone(WORKER_JSON[name]) } as Record<string, unknown>;
        for (const e of edits) {
          const all = paths(root);
          if (all.length === 0) break;
          const path = all[e.at % all.length]!;
          let parent: unknown = root;
          for (const k of path.slice(0, -1)) parent = (parent as Record<string, unknown>)[k];
          const target = parent as Record<string | number, unknown>;
          const key = path[path.length - 1]!;
          if (e.kind === 'set') target[key] = e.value;
          else if (e.kind === 'delete' && !Array.isArray(target)) delete target[key];
          else if (e.kind === 'add') {
            const inner = target[key];
            const holder = inner !== null && typeof inner === 'object' ? inner : target;
            Object.defineProperty(holder, e.key, {
              value: e.value,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          }
        }
        return JSON.stringify(root.value) ?? 'undefined';
      }),
    },
  );
}

const workerEnv: fc.Arbitrary<Record<string, string>> = fc
  .record({
    json: fc.subarray(Object.keys(WORKER_JSON), { minLength: 1 }),
    scalars: fc.subarray(WORKER_SCALARS),
    companions: fc.subarray(Object.keys(COMPANIONS)),
    seed: fc.nat(),
  })
  .chain(({ json, scalars, companions }) =>
    fc
      .tuple(
        fc.tuple(...json.map((name) => brokenJson(name))),
        fc.tuple(...scalars.map(() => hostileText)),
      )
      .map(([jsonValues, scalarValues]) => ({
        ...Object.fromEntries(companions.map((c) => [c, COMPANIONS[c]!])),
        ...Object.fromEntries(json.map((name, i) => [name, jsonValues[i]!])),
        ...Object.fromEntries(scalars.map((name, i) => [name, scalarValues[i]!])),
      })),
  );

const serveEnv: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(...SERVE_VARIABLES),
  hostileText,
  { minKeys: 1, maxKeys: 5 },
);

// ---------------------------------------------------------------------------------------------

describe('configuration loaders under hostile input', () => {
  it('serve: a configuration, or a ConfigError naming the variables that are wrong', () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(serveEnv, (env) => {
        try {
          const config = loadConfig(env);
          expect(Number.isInteger(config.listenPort)).toBe(true);
          expect(config.listenPort).toBeLessThanOrEqual(65535);
          seen.ok += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).code).toBe('CONFIG_INVALID');
          expect((error as Error).message).toMatch(/^invalid configuration/);
          expectNamesASetVariable((error as Error).message, env);
          seen.refused += 1;
        }
      }),
      { numRuns: 2000 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('worker: a configuration, or an "invalid worker configuration" error naming the variables', () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(workerEnv, (env) => {
        try {
          const config = loadWorkerConfig(env);
          expect(Array.isArray(config.poolLabels)).toBe(true);
          seen.ok += 1;
        } catch (error) {
          // Not a TypeError or RangeError escaping from a schema: a plain Error that says so.
          expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
          expect((error as Error).message).toMatch(/^invalid worker configuration:\n {2}\S/);
          expectNamesASetVariable((error as Error).message, env);
          seen.refused += 1;
        }
      }),
      { numRuns: 800 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  }, 60_000);
});
