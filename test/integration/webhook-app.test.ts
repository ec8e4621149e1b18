// The webhook intake end to end over HTTP (supertest) against the stack's real Redis: durable
// record in the `nodeheal:alerts` stream, one delayed BullMQ job per (node, fault), cancellation
// on resolve, authentication, validation, body limit, metrics, and 503 when Redis is down or stuck.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadRulesOrThrow } from '../../src/cli/load-rules.ts';
import { buildApp, type AppDeps } from '../../src/http/app.ts';
import { ALERT_LOG_STREAM, redisIntakeStore } from '../../src/store/intake-store.ts';
import { buildNodeIndex } from '../../src/kube/node-index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { bullmqHealScheduler, type HealScheduler } from '../../src/queue/heal-scheduler.ts';
import { HEAL_QUEUE, type HealJob } from '../../src/queue/heal-job.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';
import type { Catalog } from '../../src/rules/index.ts';

const stack = inject('stack');
const RULES = resolve(import.meta.dirname, '../../alert-rules/remedies.yaml');
const TOKEN = 'webhook-test-token';
const USER = 'alertmanager';
const PASSWORD = 'p@ss:word';
/** Unique per run: BullMQ namespace and node names, so reruns and other files never collide. */
const RUN = randomBytes(4).toString('hex');
const PREFIX = `nhtest-app-${RUN}`;

type Json = Record<string, unknown>;

/** The JSON answers of the app, as far as these tests read them. */
interface Answer {
  error?: string;
  received?: number;
  outcomes?: Json[];
  ready?: boolean;
  checks?: Record<string, string>;
}
const json = (res: { body: unknown }) => res.body as Answer;

function node(name: string): string {
  return `it-${name}-${RUN}`;
}

/** Whole seconds, as Alertmanager would send them. */
function isoSecondsAgo(seconds: number): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000 - seconds * 1000).toISOString();
}

interface AlertSpec {
  node?: string;
  alertname?: string;
  status?: 'firing' | 'resolved';
  startsAt?: string;
  endsAt?: string;
  fingerprint?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alert(spec: AlertSpec): Json {
  const alertname = spec.alertname ?? 'NodeNotReady';
  return {
    status: spec.status ?? 'firing',
    labels: spec.labels ?? { alertname, node: spec.node ?? node('default'), severity: 'critical' },
    annotations: spec.annotations ?? { summary: 'node is not ready' },
    startsAt: spec.startsAt ?? isoSecondsAgo(10),
    endsAt: spec.endsAt ?? '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=kube_node_status_condition',
    ...(spec.fingerprint ? { fingerprint: spec.fingerprint } : {}),
  };
}

function payload(alerts: Json[], overrides: Json = {}): Json {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey: '{}/{severity="critical"}:{alertname="NodeNotReady"}',
    truncatedAlerts: 0,
    status,
    receiver: 'nodeheal',
    groupLabels: { alertname: 'NodeNotReady' },
    commonLabels: { alertname: 'NodeNotReady' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
    ...overrides,
  };
}

interface Harness {
  app: Express;
  redis: Redis;
  scheduler: HealScheduler;
  metrics: AppDeps['metrics'];
}

function harness(redis: Redis, catalog: Catalog, prefix: string, bodyLimit = '2kb'): Harness {
  const scheduler = bullmqHealScheduler(redis, prefix);
  const metrics = createMetrics();
  const app = buildApp({
    store: redisIntakeStore(redis),
    scheduler,
    catalog: () => catalog,
    nodeIndex: () =>
      buildNodeIndex([
        {
          metadata: { name: node('indexed') },
          status: { addresses: [{ type: 'InternalIP', address: '10.77.0.1' }] },
        },
      ]),
    metrics,
    logger: silentLogger(),
    now: () => new Date(),
    kubeReady: () => true,
    webhook: {
      credentials: () => ({ bearerToken: TOKEN, basic: { username: USER, password: PASSWORD } }),
      bodyLimit,
    },
  });
  return { app, redis, scheduler, metrics };
}

const post = (app: Express) =>
  request(app).post('/webhook/alertmanager').set('Authorization', `Bearer ${TOKEN}`);

let catalog: Catalog;
let h: Harness;
let inspect: Queue<HealJob>;

beforeAll(async () => {
  expect(stack.redisUrl, 'the stack provides Redis').toBeDefined();
  catalog = await loadRulesOrThrow(RULES);
  const redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  h = harness(redis, catalog, PREFIX);
  inspect = new Queue<HealJob>(HEAL_QUEUE, { connection: redis, prefix: PREFIX });
});

afterAll(async () => {
  await inspect?.obliterate({ force: true });
  await inspect?.close();
  await h?.scheduler.close();
  await h?.redis.quit();
});

function debounceOf(fault: string): number {
  const found = catalog.faults.find((f) => f.name === fault);
  if (!found) throw new Error(`fault ${fault} not in the catalog`);
  return found.debounceMs;
}

/** Entries of the alert log that carry this fingerprint (newest first). */
async function logged(fingerprint: string): Promise<Record<string, string>[]> {
  const entries = await h.redis.xrevrange(ALERT_LOG_STREAM, '+', '-', 'COUNT', 2000);
  return entries
    .map(([, fields]) => {
      // One field per entry: `alert`, the record as a JSON object.
      expect(fields[0]).toBe('alert');
      return JSON.parse(fields[1] ?? '{}') as Record<string, string>;
    })
    .filter((r) => r.fingerprint === fingerprint);
}

/** Every job of the heal queue (any state) whose idempotency key is `key`. */
async function jobsFor(key: string): Promise<HealJob[]> {
  const jobs = await inspect.getJobs(['delayed', 'waiting', 'active', 'prioritized']);
  return jobs.filter((j) => j?.data?.key === key).map((j) => j.data);
}

describe('health, readiness, metrics', () => {
  it('GET /healthz answers 200', async () => {
    const res = await request(h.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok\n');
  });

  it('GET /readyz answers 200 when Redis and Kubernetes are reachable', async () => {
    const res = await request(h.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ready: true, checks: { redis: 'ok', kubernetes: 'ok' } });
  });

  it('GET /metrics exposes nodeheal_alerts_received_total', async () => {
    await post(h.app)
      .send(payload([alert({ node: node('metrics'), fingerprint: `fp-metrics-${RUN}` })]))
      .expect(200);
    const res = await request(h.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE nodeheal_alerts_received_total counter');
    expect(res.text).toMatch(/^nodeheal_alerts_received_total\{status="firing"\} [1-9]/m);
    expect(res.text).toMatch(/^nodeheal_queue_jobs\{state="delayed"\} [1-9]/m);
  });
});

describe('POST /webhook/alertmanager: record and schedule', () => {
  const n = node('flow');
  const fingerprint = `fp-flow-${RUN}`;
  const key = `heal:${n}:node-not-ready`;
  const startsAt = isoSecondsAgo(10);
  const firing = payload([alert({ node: n, fingerprint, startsAt })]);
  const expectedDue = () => Date.parse(startsAt) + debounceOf('node-not-ready');

  it('a valid v4 payload answers 200 after recording the alert and scheduling a delayed job', async () => {
    const res = await post(h.app).send(firing);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      received: 1,
      outcomes: [{ node: n, fault: 'node-not-ready', key, decision: 'debounce' }],
    });

    const records = await logged(fingerprint);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      status: 'firing',
      alertname: 'NodeNotReady',
      node: n,
      fault: 'node-not-ready',
      key,
      startsAt,
      decision: 'debounce',
      dueAt: new Date(expectedDue()).toISOString(),
      receiver: 'nodeheal',
    });

    const job = await h.scheduler.pending(key);
    expect(job).toBeDefined();
    expect(job?.state).toBe('delayed');
    expect(job?.data).toMatchObject({ key, node: n, fault: 'node-not-ready', fingerprint });
    expect(job?.data.dueAt).toBe(new Date(expectedDue()).toISOString());
    // BullMQ's own due time is computed from its clock at add time: the same instant, give or
    // take the milliseconds between nodeheal's clock read and the add.
    expect(Math.abs((job?.dueAt ?? 0) - expectedDue())).toBeLessThan(250);
  });

  it('the same payload again (a repeat, or the HA twin) keeps exactly one job, due at the same time', async () => {
    const before = await h.scheduler.pending(key);
    // Let the clock move, so that a due time computed from the wrong base would show.
    await new Promise((r) => setTimeout(r, 1200));
    const res = await post(h.app).send(firing);
    expect(res.status).toBe(200);
    expect(json(res).outcomes?.[0]).toMatchObject({ key, decision: 'debounce' });

    expect(await jobsFor(key)).toHaveLength(1);
    const after = await h.scheduler.pending(key);
    expect(after?.id).toBe(before?.id);
    expect(after?.state).toBe('delayed');
    expect(Math.abs((after?.dueAt ?? 0) - expectedDue())).toBeLessThan(250);
    expect(await logged(fingerprint)).toHaveLength(2);
  });

  it('the alert resolving before the heal is due removes the job', async () => {
    const resolved = payload([
      alert({ node: n, fingerprint, startsAt, status: 'resolved', endsAt: isoSecondsAgo(0) }),
    ]);
    const res = await post(h.app).send(resolved);
    expect(res.status).toBe(200);
    expect(json(res).outcomes?.[0]).toMatchObject({ key, decision: 'cancel' });
    expect(await h.scheduler.pending(key)).toBeUndefined();
    expect(await jobsFor(key)).toHaveLength(0);
    const records = await logged(fingerprint);
    expect(records[0]).toMatchObject({ status: 'resolved', decision: 'cancel', key });
  });

  it('an alert with only an unknown instance answers 200 and counts as ignored (no_node)', async () => {
    const res = await post(h.app).send(
      payload([
        alert({
          labels: { alertname: 'NodeNotReady', instance: '10.66.6.6:9100' },
          fingerprint: `fp-nonode-${RUN}`,
        }),
      ]),
    );
    expect(res.status).toBe(200);
    expect(json(res).outcomes).toEqual([
      expect.objectContaining({ decision: 'ignore', reason: 'no_node' }),
    ]);
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toMatch(/^nodeheal_alerts_ignored_total\{reason="no_node"\} 1$/m);
  });

  it('a large delivery (max_alerts: 0): all recorded, the answer lists the first 1,000', async () => {
    const big = harness(h.redis, catalog, `${PREFIX}-big`, '16mb');
    const alerts = Array.from({ length: 1200 }, (_, i) =>
      alert({ node: node(`big-${i}`), fingerprint: `fp-big-${i}-${RUN}` }),
    );
    const res = await post(big.app).send(payload(alerts));
    expect(res.status).toBe(200);
    const body = res.body as Answer & { outcomesOmitted?: number };
    expect(body.received).toBe(1200);
    expect(body.outcomes).toHaveLength(1000);
    expect(body.outcomesOmitted).toBe(200);
    expect(body.outcomes?.[999]).toMatchObject({ node: node('big-999'), decision: 'debounce' });
    expect(await big.scheduler.pending(`heal:${node('big-1199')}:node-not-ready`)).toBeDefined();
    const queue = new Queue(HEAL_QUEUE, { connection: h.redis, prefix: `${PREFIX}-big` });
    await queue.obliterate({ force: true });
    await queue.close();
    await big.scheduler.close();
  });

  it('an instance the node index knows resolves to its node', async () => {
    const res = await post(h.app).send(
      payload([
        alert({
          labels: { alertname: 'NodeKernelDeadlock', instance: '10.77.0.1:9100' },
          fingerprint: `fp-indexed-${RUN}`,
        }),
      ]),
    );
    expect(res.status).toBe(200);
    const key2 = `heal:${node('indexed')}:kernel-deadlock`;
    expect(json(res).outcomes?.[0]).toMatchObject({ key: key2, decision: 'debounce' });
    expect(await h.scheduler.pending(key2)).toBeDefined();
  });
});

describe('POST /webhook/alertmanager: authentication', () => {
  const body = () => payload([alert({ node: node('auth'), fingerprint: `fp-auth-${RUN}` })]);
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

  it.each([
    ['bearer token', `Bearer ${TOKEN}`],
    ['basic credentials', `Basic ${b64(`${USER}:${PASSWORD}`)}`],
  ])('%s: 200', async (_name, header) => {
    const res = await request(h.app)
      .post('/webhook/alertmanager')
      .set('Authorization', header)
      .send(body());
    expect(res.status).toBe(200);
  });

  it.each<[string, string | undefined, string]>([
    ['no Authorization header', undefined, 'credentials required'],
    ['wrong bearer token', `Bearer ${TOKEN}x`, 'invalid credentials'],
    ['wrong basic password', `Basic ${b64(`${USER}:wrong`)}`, 'invalid credentials'],
    ['wrong basic user', `Basic ${b64(`someone:${PASSWORD}`)}`, 'invalid credentials'],
    ['unknown scheme', `Token ${TOKEN}`, 'invalid credentials'],
  ])('%s: 401 with a WWW-Authenticate challenge', async (_name, header, error) => {
    const req = request(h.app).post('/webhook/alertmanager');
    if (header !== undefined) req.set('Authorization', header);
    const res = await req.send(body());
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error });
    const challenge = String(res.headers['www-authenticate']);
    expect(challenge).toContain('Bearer realm="nodeheal"');
    expect(challenge).toContain('Basic realm="nodeheal"');
  });
});

describe('POST /webhook/alertmanager: rejected bodies', () => {
  const valid = () => payload([alert({ node: node('reject'), fingerprint: `fp-reject-${RUN}` })]);

  it.each<[string, (p: Json) => void, RegExp]>([
    ['version "3"', (p) => (p.version = '3'), /^version: unsupported version "3"/],
    ['version 4 as a number', (p) => (p.version = 4), /^version: unsupported version 4/],
    ['version missing', (p) => delete p.version, /^version: unsupported version \(missing\)/],
    [
      'alerts[0].startsAt a number',
      (p) => ((p.alerts as Json[])[0]!.startsAt = 1714557600),
      /^alerts\[0\]\.startsAt: expected an RFC3339 timestamp, got number/,
    ],
    [
      'alerts[0].labels.node a number',
      (p) => (((p.alerts as Json[])[0]!.labels as Json).node = 7),
      /^alerts\[0\]\.labels\.node: expected a string value, got number/,
    ],
    [
      'alerts an object',
      (p) => (p.alerts = {}),
      /^alerts: expected an array of alerts, got object/,
    ],
    ['groupKey missing', (p) => delete p.groupKey, /^groupKey: required \(a string\)/],
    [
      'status unknown',
      (p) => ((p.alerts as Json[])[0]!.status = 'pending'),
      /^alerts\[0\]\.status: expected "firing" or "resolved", got "pending"/,
    ],
  ])('%s: 400 naming the field', async (_name, mutate, message) => {
    const p = valid();
    mutate(p);
    const res = await post(h.app).send(p);
    expect(res.status).toBe(400);
    expect(json(res).error).toMatch(message);
  });

  it.each<[string, string, string]>([
    ['not JSON', 'application/json', 'this is not json'],
    ['truncated JSON', 'application/json', '{"version": "4", "alerts": ['],
    ['text/plain body', 'text/plain', 'hello'],
    ['empty body', 'application/json', ''],
  ])('%s: 400', async (_name, type, text) => {
    const res = await post(h.app).set('Content-Type', type).send(text);
    expect(res.status).toBe(400);
    expect(typeof json(res).error).toBe('string');
  });

  it.each<[string, unknown]>([
    ['a JSON array', []],
    ['a JSON string', 'hello'],
    ['JSON null', null],
  ])('%s: 400', async (_name, value) => {
    const res = await post(h.app)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(value));
    expect(res.status).toBe(400);
  });

  it('a body over the configured limit (2kb): 413', async () => {
    const p = valid();
    (p.alerts as Json[])[0]!.annotations = { description: 'x'.repeat(3000) };
    const res = await post(h.app).send(p);
    expect(res.status).toBe(413);
    expect(json(res).error).toContain('2kb');
  });

  it('nothing is recorded for a rejected body', async () => {
    expect(await logged(`fp-reject-${RUN}`)).toEqual([]);
  });
});

describe('Redis unavailable', () => {
  it('Redis unreachable: the webhook answers 503 within 3 s and /readyz 503', async () => {
    const dead = producerConnection('redis://127.0.0.1:1', 2000);
    dead.on('error', () => undefined);
    dead.connect().catch(() => undefined);
    const broken = harness(dead, catalog, `${PREFIX}-dead`);
    try {
      const started = performance.now();
      const res = await post(broken.app).send(
        payload([alert({ node: node('dead'), fingerprint: `fp-dead-${RUN}` })]),
      );
      const elapsed = performance.now() - started;
      expect(res.status).toBe(503);
      expect(elapsed).toBeLessThan(3000);

      const ready = await request(broken.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(json(ready).ready).toBe(false);
      expect(json(ready).checks?.redis).not.toBe('ok');

      expect((await request(broken.app).get('/healthz')).status).toBe(200);
      // A scrape still answers (without the queue gauge) rather than waiting for Redis.
      const scrapeStarted = performance.now();
      const metrics = await request(broken.app).get('/metrics');
      expect(performance.now() - scrapeStarted).toBeLessThan(3000);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^nodeheal_webhook_requests_total\{code="503"\} 1$/m);
    } finally {
      await broken.scheduler.close().catch(() => undefined);
      dead.disconnect();
    }
  });

  it('Redis stalled (clients paused): the webhook answers 503 within the command timeout', async () => {
    const slow = producerConnection(stack.redisUrl ?? '', 300);
    await slow.connect();
    const stalled = harness(slow, catalog, `${PREFIX}-stalled`);
    const admin = producerConnection(stack.redisUrl ?? '', 2000);
    await admin.connect();
    try {
      await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
      const started = performance.now();
      const res = await post(stalled.app).send(
        payload([alert({ node: node('stalled'), fingerprint: `fp-stalled-${RUN}` })]),
      );
      const elapsed = performance.now() - started;
      expect(res.status).toBe(503);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
      await stalled.scheduler.close().catch(() => undefined);
      slow.disconnect();
    }
    // Once Redis answers again, so does the intake (the shared harness is unaffected).
    const res = await post(h.app).send(
      payload([alert({ node: node('stalled'), fingerprint: `fp-stalled-${RUN}` })]),
    );
    expect(res.status).toBe(200);
  });
});
