// Grafana Alerting as a second alert source, over HTTP against the stack's real Redis: POST
// /webhook/grafana records and schedules with the same auth, limits, durability, dedupe and
// debounce as Alertmanager's webhook; the same fault from both sources is one job, and it is
// cancelled only once both have resolved.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadRulesOrThrow } from '../../src/cli/load-rules.ts';
import { buildApp } from '../../src/http/index.ts';
import { buildNodeIndex } from '../../src/kube/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import {
  bullmqHealScheduler,
  HEAL_QUEUE,
  producerConnection,
  type HealJob,
  type HealScheduler,
} from '../../src/queue/index.ts';
import type { Catalog } from '../../src/rules/index.ts';
import { ALERT_LOG_STREAM, redisIntakeStore } from '../../src/store/index.ts';
import { grafanaAlert, grafanaPayload } from './support/grafana-payload.ts';

const stack = inject('stack');
const RULES = resolve(import.meta.dirname, '../../alert-rules/remedies.yaml');
const TOKEN = 'grafana-webhook-test-token';
const RUN = randomBytes(4).toString('hex');
const PREFIX = `nhtest-grafana-${RUN}`;

let app: Express;
let redis: Redis;
let scheduler: HealScheduler;
let inspect: Queue<HealJob>;
let catalog: Catalog;

beforeAll(async () => {
  catalog = await loadRulesOrThrow(RULES);
  redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  scheduler = bullmqHealScheduler(redis, PREFIX);
  inspect = new Queue<HealJob>(HEAL_QUEUE, { connection: redis, prefix: PREFIX });
  app = buildApp({
    store: redisIntakeStore(redis),
    scheduler,
    catalog: () => catalog,
    nodeIndex: () => buildNodeIndex([]),
    metrics: createMetrics(),
    logger: silentLogger(),
    now: () => new Date(),
    kubeReady: () => true,
    webhook: { credentials: () => ({ bearerToken: TOKEN }), bodyLimit: '8kb' },
  });
});

afterAll(async () => {
  await inspect?.obliterate({ force: true });
  await inspect?.close();
  await scheduler?.close();
  await redis?.quit();
});

const node = (name: string) => `gf-${name}-${RUN}`;
const grafana = () => request(app).post('/webhook/grafana').set('Authorization', `Bearer ${TOKEN}`);
const alertmanager = () =>
  request(app).post('/webhook/alertmanager').set('Authorization', `Bearer ${TOKEN}`);

/** An Alertmanager v4 notification of one alert (as the stack's Alertmanager sends it). */
function alertmanagerPayload(n: string, status: 'firing' | 'resolved', startsAt: Date) {
  return {
    version: '4',
    groupKey: '{}:{alertname="NodeNotReady"}',
    truncatedAlerts: 0,
    status,
    receiver: 'nodeheal',
    groupLabels: { alertname: 'NodeNotReady' },
    commonLabels: { alertname: 'NodeNotReady', node: n },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status,
        labels: { alertname: 'NodeNotReady', node: n },
        annotations: {},
        startsAt: startsAt.toISOString(),
        endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: `am-${n}`,
      },
    ],
  };
}

async function jobsFor(key: string): Promise<HealJob[]> {
  const jobs = await inspect.getJobs(['delayed', 'waiting', 'active', 'prioritized']);
  return jobs.filter((j) => j?.data?.key === key).map((j) => j.data);
}

async function loggedFor(n: string): Promise<Record<string, string>[]> {
  const entries = await redis.xrevrange(ALERT_LOG_STREAM, '+', '-', 'COUNT', 2000);
  return entries
    .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as Record<string, string>)
    .filter((r) => r.node === n);
}

describe('POST /webhook/grafana', () => {
  it('records a firing Grafana alert durably and schedules its heal after the debounce', async () => {
    const n = node('flow');
    const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 10_000);
    const res = await grafana().send(
      grafanaPayload([grafanaAlert({ node: n, alertname: 'NodeNotReady', startsAt })]),
    );
    expect(res.status).toBe(200);
    const key = `heal:${n}:node-not-ready`;
    expect(res.body).toMatchObject({
      received: 1,
      outcomes: [{ node: n, fault: 'node-not-ready', key, decision: 'debounce' }],
    });
    const debounce = catalog.faults.find((f) => f.name === 'node-not-ready')!.debounceMs;
    const jobs = await jobsFor(key);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ node: n, fault: 'node-not-ready' });
    expect(Date.parse(jobs[0]!.dueAt)).toBe(startsAt.getTime() + debounce);
    const [record] = await loggedFor(n);
    expect(record).toMatchObject({ source: 'grafana', receiver: 'nodeheal', decision: 'debounce' });
  });

  it('the same fault from Alertmanager and Grafana is one job; it is cancelled once both resolved', async () => {
    const n = node('both');
    const key = `heal:${n}:node-not-ready`;
    const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 20_000);
    await alertmanager()
      .send(alertmanagerPayload(n, 'firing', startsAt))
      .expect(200);
    // Grafana's rule saw it five seconds later: the earlier start stays the debounce anchor.
    const later = new Date(startsAt.getTime() + 5000);
    await grafana()
      .send(grafanaPayload([grafanaAlert({ node: n, alertname: 'NodeNotReady', startsAt: later })]))
      .expect(200);
    const jobs = await jobsFor(key);
    expect(jobs).toHaveLength(1);

    // Grafana's resolves: Alertmanager's still fires, the heal stays due.
    const resolvedByGrafana = await grafana().send(
      grafanaPayload([
        grafanaAlert({ node: n, alertname: 'NodeNotReady', startsAt: later, status: 'resolved' }),
      ]),
    );
    expect(resolvedByGrafana.body).toMatchObject({
      outcomes: [{ decision: 'ignore', reason: 'still-firing' }],
    });
    expect(await jobsFor(key)).toHaveLength(1);

    await alertmanager()
      .send(alertmanagerPayload(n, 'resolved', startsAt))
      .expect(200);
    expect(await jobsFor(key)).toEqual([]);
    expect((await loggedFor(n)).map((r) => r.source).sort()).toEqual([
      'alertmanager',
      'alertmanager',
      'grafana',
      'grafana',
    ]);
  });

  it('asks for the same credentials as Alertmanager’s webhook', async () => {
    const body = grafanaPayload([
      grafanaAlert({ node: node('auth'), alertname: 'NodeNotReady', startsAt: new Date() }),
    ]);
    const none = await request(app).post('/webhook/grafana').send(body);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await request(app)
      .post('/webhook/grafana')
      .set('Authorization', 'Bearer nope')
      .send(body);
    expect(wrong.status).toBe(401);
  });

  it('refuses malformed payloads with 400 naming the field, and records nothing', async () => {
    const n = node('bad');
    const alert = grafanaAlert({ node: n, alertname: 'NodeNotReady', startsAt: new Date() });
    const res = await grafana().send({ ...grafanaPayload([alert]), version: '4' });
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(
      /version "4" is Alertmanager's: POST \/webhook\/alertmanager/,
    );
    const noOrg = await grafana().send({ ...grafanaPayload([alert]), orgId: undefined });
    expect(noOrg.status).toBe(400);
    expect((noOrg.body as { error: string }).error).toMatch(/^orgId: required/);
    expect(await loggedFor(n)).toEqual([]);
  });

  it('holds the same body limit (413)', async () => {
    const big = grafanaPayload(
      Array.from({ length: 40 }, (_, i) =>
        grafanaAlert({ node: node(`big-${i}`), alertname: 'NodeNotReady', startsAt: new Date() }),
      ),
    );
    const res = await grafana().send(big);
    expect(res.status).toBe(413);
  });
});
