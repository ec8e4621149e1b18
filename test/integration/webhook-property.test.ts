// Property tests of the webhook intake over HTTP against the stack's real Redis: whatever arrives
// (valid payloads, mutated ones, random JSON, random bytes, odd headers and credentials), the
// server answers a 4xx or 200 that a model of the contract predicts, never a 5xx, and keeps
// serving. Valid payloads are answered 200 only with every alert recorded in the alert log.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadRulesOrThrow } from '../../src/cli/load-rules.ts';
import { buildApp } from '../../src/http/app.ts';
import { ALERT_LOG_STREAM, redisIntakeStore } from '../../src/store/intake-store.ts';
import { buildNodeIndex } from '../../src/kube/node-index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createMetrics, type Metrics } from '../../src/metrics/index.ts';
import { bullmqHealScheduler, type HealScheduler } from '../../src/queue/heal-scheduler.ts';
import { HEAL_QUEUE } from '../../src/queue/heal-job.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';

const stack = inject('stack');
const RULES = resolve(import.meta.dirname, '../../alert-rules/remedies.yaml');
const TOKEN = 'property-token';
const USER = 'alertmanager';
const PASSWORD = 'pr0p:secret';
const LIMIT = 8192;
const RUN = randomBytes(4).toString('hex');
const PREFIX = `nhtest-prop-${RUN}`;
/** Few node names, so that repeats, resolves and flapping of the same key happen. */
const NODES = Array.from({ length: 6 }, (_, i) => `prop-${RUN}-${i}`);
const INDEXED_IP = '10.88.0.1';

type Json = Record<string, unknown>;

let redis: Redis;
let scheduler: HealScheduler;
let metrics: Metrics;
let server: Server;
let base: string;

beforeAll(async () => {
  expect(stack.redisUrl, 'the stack provides Redis').toBeDefined();
  const catalog = await loadRulesOrThrow(RULES);
  redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  scheduler = bullmqHealScheduler(redis, PREFIX);
  metrics = createMetrics();
  const app = buildApp({
    store: redisIntakeStore(redis),
    scheduler,
    catalog: () => catalog,
    nodeIndex: () =>
      buildNodeIndex([
        {
          metadata: { name: NODES[0] },
          status: { addresses: [{ type: 'InternalIP', address: INDEXED_IP }] },
        },
      ]),
    metrics,
    logger: silentLogger(),
    now: () => new Date(),
    kubeReady: () => true,
    webhook: {
      credentials: () => ({ bearerToken: TOKEN, basic: { username: USER, password: PASSWORD } }),
      bodyLimit: `${LIMIT}b`,
    },
  });
  server = createServer(app);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server?.close(done));
  const queue = new Queue(HEAL_QUEUE, { connection: redis, prefix: PREFIX });
  await queue.obliterate({ force: true });
  await queue.close();
  await scheduler?.close();
  await redis?.quit();
});

// ---------------------------------------------------------------------------------------------
// Generators

const printable = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength,
  });

/** RFC 3339 text of an instant, with 0-9 fraction digits and a zone offset, as Go may write it. */
const rfc3339 = fc
  .record({
    offsetMs: fc.integer({ min: -3_600_000, max: 120_000 }),
    digits: fc.integer({ min: 0, max: 9 }),
    zoneMinutes: fc.oneof(fc.constant(0), fc.integer({ min: -12 * 60, max: 14 * 60 })),
  })
  .map(({ offsetMs, digits, zoneMinutes }) => {
    const instant = Date.now() + offsetMs;
    const local = new Date(instant + zoneMinutes * 60_000).toISOString(); // shifted wall clock
    const fraction = digits === 0 ? '' : `.${local.slice(20, 23).padEnd(digits, '0')}`;
    const sign = zoneMinutes < 0 ? '-' : '+';
    const abs = Math.abs(zoneMinutes);
    const zone =
      zoneMinutes === 0
        ? 'Z'
        : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${local.slice(0, 19)}${fraction}${zone}`;
  });

const alertnames = fc.constantFrom(
  'NodeNotReady',
  'NodeKubeletDown',
  'NodeKubeletUnhealthy',
  'NodeContainerRuntimeUnhealthy',
  'NodeFilesystemAlmostFull',
  'NodeKernelDeadlock',
  'NodeMemoryPressure',
  'SomethingNobodyKnows',
);

const nodeLabels = fc.oneof(
  fc.constantFrom(...NODES).map((node) => ({ node })),
  fc.constantFrom(...NODES).map((node) => ({ kubernetes_node: node })),
  fc.constant({ instance: `${INDEXED_IP}:9100` }),
  fc.constant({ instance: '10.99.99.99:9100' }),
  fc.constant({}),
  printable(40).map((node) => ({ node })),
);

const alertArb = fc
  .record({
    status: fc.constantFrom('firing', 'resolved'),
    alertname: alertnames,
    where: nodeLabels,
    condition: fc.option(fc.constantFrom('FrequentKubeletRestart', 'FrequentContainerdRestart')),
    startsAt: rfc3339,
    endsAt: fc.oneof(fc.constant('0001-01-01T00:00:00Z'), rfc3339),
    fingerprint: fc.option(fc.constantFrom('0a1b2c3d4e5f6071', '1111222233334444', '')),
    annotations: fc.dictionary(printable(12), printable(60), { maxKeys: 3 }),
  })
  .map((a) => ({
    status: a.status,
    labels: {
      alertname: a.alertname,
      ...a.where,
      ...(a.condition ? { condition: a.condition } : {}),
    },
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    generatorURL: 'http://prometheus:9090/graph',
    ...(a.fingerprint === null ? {} : { fingerprint: a.fingerprint }),
  }));

const validPayload = fc
  .record({
    alerts: fc.array(alertArb, { minLength: 0, maxLength: 4 }),
    truncated: fc.option(fc.nat({ max: 5 })),
    extra: fc.option(fc.constantFrom('new_alerts_in_group', 'resolved')),
  })
  .map(({ alerts, truncated, extra }): Json => ({
    version: '4',
    groupKey: '{}:{alertname="NodeNotReady"}',
    ...(truncated === null ? {} : { truncatedAlerts: truncated }),
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'nodeheal',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    ...(extra === null ? {} : { notification_reason: extra, routeLabels: { team: 'infra' } }),
    alerts,
  }));

type Path = (string | number)[];

/** Paths to the values inside `value` (objects and arrays, 20 levels deep), root excluded. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object' || prefix.length >= 20) return [];
  const out: Path[] = [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [k, v] of entries) {
    out.push([...prefix, k], ...paths(v, [...prefix, k]));
  }
  return out;
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> | undefined {
  let node: unknown = root;
  for (const k of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[k];
  }
  return node !== null && typeof node === 'object'
    ? (node as Record<string | number, unknown>)
    : undefined;
}

/** Sets an own property even for names such as `__proto__` (as JSON.parse would). */
function setOwn(target: Record<string | number, unknown>, key: string | number, value: unknown) {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function nested(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'huge'; at: number; length: number }
  | { kind: 'deep'; at: number; depth: number; asArray: boolean }
  | { kind: 'version'; value: unknown }
  | { kind: 'add'; at: number; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    value: fc.jsonValue({ maxDepth: 3 }),
  }),
  fc.record({
    kind: fc.constant('huge' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1000, max: 12_000 }),
  }),
  fc.record({
    kind: fc.constant('deep' as const),
    at: fc.nat(),
    depth: fc.integer({ min: 1, max: 500 }),
    asArray: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('version' as const),
    value: fc.constantFrom('3', '5', '', ' 4', '4.0', 4, 3, null, true, ['4'], { v: '4' }),
  }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'node', 'instance'),
      printable(10),
    ),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
);

function mutate(payload: Json, mutations: Mutation[]): unknown {
  let root: unknown = structuredClone(payload);
  for (const m of mutations) {
    if (m.kind === 'version') {
      if (root !== null && typeof root === 'object' && !Array.isArray(root)) {
        setOwn(root as Json, 'version', m.value);
      }
      continue;
    }
    const all = paths(root);
    if (all.length === 0) {
      if (m.kind === 'replace') root = m.value;
      continue;
    }
    const path = all[m.at % all.length]!;
    const parent = parentOf(root, path);
    const key = path[path.length - 1]!;
    if (!parent) continue;
    switch (m.kind) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
        break;
      case 'replace':
        setOwn(parent, key, m.value);
        break;
      case 'huge':
        setOwn(parent, key, 'é'.repeat(m.length));
        break;
      case 'deep':
        setOwn(parent, key, nested(m.depth, parent[key] ?? null, m.asArray));
        break;
      case 'add': {
        const target = parent[key];
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
          setOwn(target as Json, m.key, m.value);
        } else setOwn(parent, key, { [m.key]: m.value });
        break;
      }
    }
  }
  return root;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

type Auth = { header: string | undefined; valid: boolean };

const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ header: `Bearer ${TOKEN}`, valid: true }) },
  {
    weight: 2,
    arbitrary: fc.constant({ header: `Basic ${b64(`${USER}:${PASSWORD}`)}`, valid: true }),
  },
  { weight: 1, arbitrary: fc.constant({ header: `bearer   ${TOKEN}  `, valid: true }) },
  { weight: 1, arbitrary: fc.constant({ header: undefined, valid: false }) },
  { weight: 1, arbitrary: fc.constant({ header: '', valid: false }) },
  { weight: 1, arbitrary: printable(60).map((header) => ({ header, valid: false })) },
  {
    weight: 1,
    arbitrary: printable(60).map((t) => ({ header: `Bearer ${TOKEN}${t}x`, valid: false })),
  },
  {
    weight: 1,
    arbitrary: printable(40).map((t) => ({
      header: `Basic ${b64(`${USER}:${t}`)}x`,
      valid: false,
    })),
  },
  {
    weight: 1,
    arbitrary: printable(40).map((t) => ({
      header: `Basic ${b64(t)}`,
      valid: t === `${USER}:${PASSWORD}`,
    })),
  },
);

/** Content types, and what body-parser makes of their charset. */
type ContentType = { value: string | undefined; charset: 'utf' | 'other' };
const contentType: fc.Arbitrary<ContentType> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ value: 'application/json', charset: 'utf' as const }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<ContentType>(
      { value: undefined, charset: 'utf' },
      { value: 'application/json; charset=utf-8', charset: 'utf' },
      { value: 'text/plain', charset: 'utf' },
      { value: 'application/x-www-form-urlencoded', charset: 'utf' },
      { value: 'application/json; charset=latin1', charset: 'other' },
      { value: 'application/json; charset=utf-16le', charset: 'other' },
      { value: 'application/json; charset="nonsense"', charset: 'other' },
    ),
  },
  // A malformed Content-Type cannot be parsed for a charset: UTF-8 is assumed.
  {
    weight: 1,
    arbitrary: printable(30).map((v) => ({ value: `x/${v};;=`, charset: 'utf' as const })),
  },
);

type Encoding = 'none' | 'identity' | 'gzip' | 'gzip-garbage' | 'unknown';
const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Encoding>('none') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Encoding>('identity', 'gzip', 'gzip-garbage', 'unknown'),
  },
);

/** Mutated payloads are kept as a recipe, so that a counterexample prints small. */
type Body =
  | { kind: 'json'; value: unknown }
  | { kind: 'mutated'; payload: Json; mutations: Mutation[] }
  | { kind: 'deep'; payload: Json; depth: number; asArray: boolean }
  | { kind: 'raw'; bytes: Uint8Array };
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 3, arbitrary: validPayload.map((value): Body => ({ kind: 'json', value })) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(validPayload, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([payload, mutations]): Body => ({ kind: 'mutated', payload, mutations })),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((value): Body => ({ kind: 'json', value })) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 2 * LIMIT })
      .map((bytes): Body => ({ kind: 'raw', bytes })),
  },
  {
    weight: 1,
    // Nesting far deeper than any recursive walker survives, still within the body limit.
    arbitrary: fc
      .record({
        payload: validPayload,
        depth: fc.integer({ min: 1000, max: 8000 }),
        asArray: fc.boolean(),
      })
      .map(({ payload, depth, asArray }): Body => ({ kind: 'deep', payload, depth, asArray })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 200 })
      .map((s): Body => ({ kind: 'raw', bytes: Buffer.from(s, 'utf8') })),
  },
);

// ---------------------------------------------------------------------------------------------
// The model: which answers the contract allows for a request

interface Case {
  auth: Auth;
  contentType: ContentType;
  encoding: Encoding;
  body: Body;
}

function bytesOf(b: Body): Buffer {
  if (b.kind === 'raw') return Buffer.from(b.bytes);
  if (b.kind === 'deep') {
    // Built as text: JSON.stringify itself would overflow the stack on such a value.
    const [open, close] = b.asArray ? ['[', ']'] : ['{"a":', '}'];
    const deep = `${open.repeat(b.depth)}1${close.repeat(b.depth)}`;
    return Buffer.from(`${JSON.stringify(b.payload).slice(0, -1)},"extra":${deep}}`, 'utf8');
  }
  const value = b.kind === 'json' ? b.value : mutate(b.payload, b.mutations);
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** The statuses the contract allows; exactly one when the request is unambiguous. */
function allowed(c: Case, bytes: Buffer): number[] {
  if (!c.auth.valid) return [401];
  // Beyond what Alertmanager ever sends: a charset that is not UTF-n, or a Content-Encoding the
  // server does not implement, is refused as malformed (400) before the body is read.
  if (c.contentType.charset === 'other') return [400, 413];
  if (c.encoding === 'unknown') return [400];
  if (c.encoding === 'gzip-garbage') return [400];
  if (bytes.length > LIMIT) return [413];
  if (c.body.kind === 'raw') return [400];
  // JSON text within the limit: the body parser sees JSON.parse of what was sent.
  const parsed: unknown = JSON.parse(bytes.toString('utf8'));
  const strictOk = parsed !== null && typeof parsed === 'object';
  if (!strictOk) return [400];
  const verdict = contractVerdict(parsed);
  if (verdict.kind === 'either') return [200, 400];
  return verdict.kind === 'valid' ? [200] : [400];
}

// ---------------------------------------------------------------------------------------------
// The contract, written out from Alertmanager's webhook v4 message (webhook.Message and
// template.Alert), independently of the parser under test: which bodies must be accepted, and
// for the others, which fields are wrong.

type Verdict =
  | { kind: 'valid' }
  /** `broken`: the names of the offending fields (one of them must appear in the 400). */
  | { kind: 'invalid'; broken: string[] }
  /** Corners the contract does not settle (see `kvProblems`, `truncatedProblems`). */
  | { kind: 'either' };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 3339 as Go writes it: date, `T`, time, optional 1-9 fraction digits, `Z` or an offset. */
const RFC3339_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Labels and annotations: an object of strings. `__proto__` with a non-string is unsettled. */
function kvProblems(v: unknown): 'ok' | 'bad' | 'either' {
  if (!isPlainObject(v)) return 'bad';
  let verdict: 'ok' | 'either' = 'ok';
  for (const [k, value] of Object.entries(v)) {
    if (typeof value === 'string') continue;
    if (k === '__proto__') verdict = 'either';
    else return 'bad';
  }
  return verdict;
}

/** A non-negative integer; integers beyond 2^53 are unsettled (not exactly representable). */
function truncatedProblems(v: unknown): 'ok' | 'bad' | 'either' {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return 'bad';
  return Number.isSafeInteger(v) ? 'ok' : 'either';
}

function contractVerdict(body: unknown): Verdict {
  if (!isPlainObject(body)) return { kind: 'invalid', broken: ['body'] };
  // The version decides first: anything but the string "4" is unsupported, whatever else.
  if (body.version !== '4') return { kind: 'invalid', broken: ['version'] };
  const broken: string[] = [];
  let unsettled = false;
  const check = (field: string, outcome: 'ok' | 'bad' | 'either') => {
    if (outcome === 'bad') broken.push(field);
    if (outcome === 'either') unsettled = true;
  };
  const isString = (v: unknown) => (typeof v === 'string' ? 'ok' : 'bad');
  const isStatus = (v: unknown) => (v === 'firing' || v === 'resolved' ? 'ok' : 'bad');
  const isTimestamp = (v: unknown) =>
    typeof v === 'string' && RFC3339_TEXT.test(v) && !Number.isNaN(Date.parse(v)) ? 'ok' : 'bad';
  const optional = (v: unknown, rule: (v: unknown) => 'ok' | 'bad' | 'either') =>
    v === undefined ? 'ok' : rule(v);

  check('groupKey', isString(body.groupKey));
  check('truncatedAlerts', optional(body.truncatedAlerts, truncatedProblems));
  check('status', isStatus(body.status));
  check('receiver', isString(body.receiver));
  check('groupLabels', kvProblems(body.groupLabels));
  check('commonLabels', kvProblems(body.commonLabels));
  check('commonAnnotations', kvProblems(body.commonAnnotations));
  check('externalURL', isString(body.externalURL));
  check('notification_reason', optional(body.notification_reason, isString));
  check('routeLabels', optional(body.routeLabels, kvProblems));
  if (!Array.isArray(body.alerts)) broken.push('alerts');
  else {
    for (const alert of body.alerts as unknown[]) {
      if (!isPlainObject(alert)) {
        broken.push('alerts');
        continue;
      }
      check('status', isStatus(alert.status));
      check('labels', kvProblems(alert.labels));
      check('annotations', kvProblems(alert.annotations));
      check('startsAt', isTimestamp(alert.startsAt));
      check('endsAt', isTimestamp(alert.endsAt));
      check('generatorURL', isString(alert.generatorURL));
      check('fingerprint', optional(alert.fingerprint, isString));
    }
  }
  // Fields the contract does not name are tolerated (a newer Alertmanager adds some).
  if (broken.length > 0) return { kind: 'invalid', broken };
  return unsettled ? { kind: 'either' } : { kind: 'valid' };
}

/** Authenticated, decodable and within the limit: the body itself is what gets judged. */
function reachesValidation(c: Case, bytes: Buffer): boolean {
  return (
    c.auth.valid &&
    c.contentType.charset === 'utf' &&
    ['none', 'identity', 'gzip'].includes(c.encoding) &&
    bytes.length <= LIMIT
  );
}

/** The contract's verdict on a body that is a JSON object, undefined for anything else. */
function jsonObjectVerdict(bytes: Buffer): Verdict | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return isPlainObject(parsed) ? contractVerdict(parsed) : undefined;
}

async function send(c: Case): Promise<{ status: number; body: Json; bytes: Buffer }> {
  const bytes = bytesOf(c.body);
  let wire = bytes;
  const req = request(base).post('/webhook/alertmanager').timeout(10_000);
  if (c.auth.header !== undefined) req.set('Authorization', c.auth.header);
  if (c.contentType.value !== undefined) req.set('Content-Type', c.contentType.value);
  switch (c.encoding) {
    case 'none':
      break;
    case 'identity':
      req.set('Content-Encoding', 'identity');
      break;
    case 'gzip':
      req.set('Content-Encoding', 'gzip');
      wire = gzipSync(bytes);
      break;
    case 'gzip-garbage':
      req.set('Content-Encoding', 'gzip');
      wire = Buffer.concat([Buffer.from('not gzip'), bytes]);
      break;
    case 'unknown':
      req.set('Content-Encoding', 'x-nodeheal-test');
      break;
  }
  // Bytes as they are: superagent would otherwise JSON-encode a Buffer sent as application/json.
  const res = await req.serialize((raw: unknown) => raw as string).send(wire);
  return { status: res.status, body: res.body as Json, bytes };
}

// ---------------------------------------------------------------------------------------------

describe('webhook intake under random and mutated input', () => {
  it('answers only what the contract allows (200, 400, 401, 413), never a 5xx, and keeps serving', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.record({ auth, contentType, encoding, body }), async (c) => {
        const before = await redis.xlen(ALERT_LOG_STREAM);
        const res = await send(c);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status).toBeLessThan(500);
        expect(allowed(c, res.bytes), JSON.stringify(res.body)).toContain(res.status);
        expect(typeof res.body).toBe('object');
        const recorded = (await redis.xlen(ALERT_LOG_STREAM)) - before;
        if (res.status === 200) {
          // 200 only once every alert of the payload is in the alert log.
          const alerts = (JSON.parse(res.bytes.toString('utf8')) as { alerts: unknown[] }).alerts;
          expect(res.body.received).toBe(alerts.length);
          expect(res.body.outcomes).toHaveLength(alerts.length);
          expect(recorded).toBe(alerts.length);
        } else {
          expect(typeof res.body.error).toBe('string');
          expect(recorded).toBe(0);
        }
        if (res.status === 400 && reachesValidation(c, res.bytes)) {
          // A JSON object the contract refuses: the answer names one of the fields it broke.
          const verdict = jsonObjectVerdict(res.bytes);
          if (verdict?.kind === 'invalid') {
            const error = String(res.body.error);
            expect(
              verdict.broken.some((field) => error.includes(field)),
              `${error} names one of ${verdict.broken.join(', ')}`,
            ).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
    // The generators reach every answer of the contract (the property is not vacuous).
    for (const status of [200, 400, 401, 413]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);

    const health = await request(base).get('/healthz');
    expect(health.status).toBe(200);
    const ready = await request(base).get('/readyz');
    expect(ready.status).toBe(200);
    const scrape = await request(base).get('/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.text).not.toMatch(/^nodeheal_webhook_requests_total\{code="5\d\d"\}/m);
  });

  it('valid payloads replayed in any order (repeats, HA twins, resolves) are always 200 with at most one job per key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(validPayload, { minLength: 1, maxLength: 4 }), async (payloads) => {
        const sequence = [...payloads, ...payloads.slice().reverse()];
        for (const p of sequence) {
          const res = await request(base)
            .post('/webhook/alertmanager')
            .set('Authorization', `Bearer ${TOKEN}`)
            .send(p);
          expect(res.status).toBe(200);
        }
        const queue = new Queue(HEAL_QUEUE, { connection: redis, prefix: PREFIX });
        try {
          const jobs = await queue.getJobs(['delayed', 'waiting', 'active', 'prioritized']);
          const keys = jobs.map((j) => (j.data as { key: string }).key);
          expect(new Set(keys).size).toBe(keys.length);
        } finally {
          await queue.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
