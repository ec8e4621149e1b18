// Every mutating HTTP route of `nodeheal serve`, enumerated from the express app that buildApp
// composes (so a new POST/PUT/PATCH/DELETE route is covered the day it is added), is asked
// without credentials, with wrong ones, and with the other realm's secret (the webhook token on
// the admin API, the admin token on the webhooks), each time with a body that would act: the
// real serve process (its own Redis, the stack's apiserver) answers 401 or 403 and Redis is
// byte for byte what it was. With the right secret the same requests do change it, so the
// comparison would see a change.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/rules/index.ts';
import { buildApp } from '../../src/http/app.ts';
import { buildNodeIndex } from '../../src/kube/node-index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import type { HealScheduler } from '../../src/queue/heal-scheduler.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';
import { redisHealStore } from '../../src/store/heal-store.ts';
import { redisIntakeStore } from '../../src/store/intake-store.ts';
import { adminClients } from '../stack/helpers/kube.ts';
import { repoRoot } from '../stack/paths.ts';
import { emptyStack, startRedis, type Stack } from '../stack/stack.ts';
import { fresh } from '../unit/status/fixtures.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startNodeheal, type NodehealProcess } from './support/nodeheal-process.ts';

const stack = inject('stack');
const RUN = randomBytes(4).toString('hex');
const WEBHOOK_TOKEN = `webhook-${RUN}`;
const ADMIN_TOKEN = `admin-${RUN}`;
const HEAL_ID = `heal-auth-${RUN}`;
const NODE = `auth-${RUN}`;
const MUTATING = ['post', 'put', 'patch', 'delete'];

interface Route {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** The routes of an express app, nested routers included, as express itself holds them. */
function routesOf(app: Express): Route[] {
  const walk = (stack: Layer[]): Route[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        const { path, methods } = layer.route;
        return Object.keys(methods).map((method) => ({ method, path }));
      }
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}

/** A concrete URL path for a route pattern: `:id` is the running heal, other params `x`. */
function concrete(path: string): string {
  return path.replace(/:id\b/g, HEAL_ID).replace(/[:*]\w+/g, 'x');
}

/**
 * The app as serve composes it, only to read its routes: requests go to the real process. Its
 * queue is never used, so none is opened (a BullMQ queue would write its meta key into Redis).
 */
function serveShapedApp(redis: Redis, catalog: Catalog): Express {
  const unused = () => Promise.reject(new Error('the route listing app takes no requests'));
  const scheduler: HealScheduler = {
    schedule: unused,
    scheduleAll: unused,
    cancel: unused,
    pending: unused,
    counts: unused,
    wake: unused,
    close: () => Promise.resolve(),
  };
  return buildApp({
    store: redisIntakeStore(redis),
    scheduler,
    catalog: () => catalog,
    nodeIndex: () => buildNodeIndex([]),
    metrics: createMetrics(),
    logger: silentLogger(),
    now: () => new Date(),
    kubeReady: () => true,
    webhook: { credentials: () => ({ bearerToken: WEBHOOK_TOKEN }), bodyLimit: '1mb' },
    status: {
      store: redisHealStore(redis),
      adminToken: () => ADMIN_TOKEN,
      now: () => new Date(),
    },
  });
}

/** A body that would act on each kind of route, so that only the credentials stand in the way. */
function bodyFor(path: string): string {
  if (path.startsWith('/webhook/')) {
    const startsAt = new Date(Date.now() - 10_000).toISOString();
    const alert = {
      status: 'firing',
      labels: { alertname: 'NodeNotReady', node: NODE },
      annotations: {},
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
    };
    // One body both sources read: Alertmanager's v4 fields and Grafana's (version "1").
    return JSON.stringify({
      version: path.includes('grafana') ? '1' : '4',
      groupKey: '{}',
      status: 'firing',
      receiver: 'nodeheal',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      orgId: 1,
      state: 'alerting',
      title: 'x',
      message: 'x',
      alerts: [{ ...alert, values: {}, fingerprint: 'f0' }],
    });
  }
  return JSON.stringify({ reason: `auth test ${RUN}` });
}

/** Every key of the Redis and its serialized value (DUMP): equal snapshots, nothing written. */
async function snapshot(redis: Redis): Promise<Map<string, string>> {
  const keys = (await redis.keys('*')).sort();
  const values = await Promise.all(
    keys.map(async (k) => (await redis.dumpBuffer(k))?.toString('hex') ?? ''),
  );
  return new Map(keys.map((k, i) => [k, values[i]!]));
}

let privateStack: Stack;
let redis: Redis;
let serve: NodehealProcess;
let routes: Route[];

beforeAll(async () => {
  privateStack = emptyStack();
  await startRedis(privateStack, 'redis-routes');
  const redisUrl = privateStack.info.redisUrl ?? '';
  redis = producerConnection(redisUrl, 2000);
  await redis.connect();
  // A running heal: what cancel, fence, approve... would change if they let anyone in.
  await redisHealStore(redis).save({ ...fresh({ id: HEAL_ID, node: NODE }), status: 'running' });
  const catalogYaml = readFileSync(join(repoRoot, 'alert-rules', 'remedies.yaml'), 'utf8');
  serve = await startNodeheal(
    {
      NODEHEAL_REDIS_URL: redisUrl,
      KUBECONFIG: (await nodehealKubeconfig(adminClients(stack), stack)).path,
      NODEHEAL_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
      NODEHEAL_ADMIN_TOKEN: ADMIN_TOKEN,
      NODEHEAL_LOG_LEVEL: 'warn',
    },
    catalogYaml,
  );
  const loaded = loadCatalog(catalogYaml, 'remedies.yaml');
  if (!loaded.ok) throw new Error('the shipped catalog does not load');
  routes = routesOf(serveShapedApp(redis, loaded.catalog)).filter((r) =>
    MUTATING.includes(r.method),
  );
});

afterAll(async () => {
  await serve?.stop();
  await redis?.quit();
  await privateStack?.stop();
});

async function post(route: Route, authorization: string | undefined) {
  const res = await fetch(`${serve.url}${concrete(route.path)}`, {
    method: route.method.toUpperCase(),
    headers: {
      'content-type': 'application/json',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: bodyFor(route.path),
  });
  return { status: res.status, body: (await res.json()) as { error?: unknown } };
}

describe('mutating routes of serve refuse requests without the right credentials', () => {
  it('the enumeration finds the webhooks and the admin API (it is not empty)', () => {
    expect(routes).toEqual(
      expect.arrayContaining([
        { method: 'post', path: '/webhook/alertmanager' },
        { method: 'post', path: '/webhook/grafana' },
        { method: 'post', path: '/admin/pause' },
        { method: 'post', path: '/admin/resume' },
        { method: 'post', path: '/heals/:id/cancel' },
        { method: 'post', path: '/heals/:id/fence' },
      ]),
    );
  });

  it('no, wrong or the other realm’s credentials: 401 or 403 on every one, and Redis is unchanged', async () => {
    const before = await snapshot(redis);
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
    for (const route of routes) {
      const otherRealm = route.path.startsWith('/webhook/') ? ADMIN_TOKEN : WEBHOOK_TOKEN;
      for (const authorization of [
        undefined,
        '',
        'Bearer',
        `Bearer wrong-${RUN}`,
        `Bearer ${otherRealm}`,
        `Bearer ${WEBHOOK_TOKEN}${ADMIN_TOKEN}`,
        basic,
        `Token ${ADMIN_TOKEN}`,
      ]) {
        const res = await post(route, authorization);
        expect([401, 403], `${route.method} ${route.path} with ${String(authorization)}`).toContain(
          res.status,
        );
        expect(typeof res.body.error).toBe('string');
      }
    }
    expect(await snapshot(redis)).toEqual(before);
  });

  it('with the right secret the same requests do change Redis (the comparison sees changes)', async () => {
    const before = await snapshot(redis);
    const pause = await post({ method: 'post', path: '/admin/pause' }, `Bearer ${ADMIN_TOKEN}`);
    expect(pause.status).toBe(200);
    const afterPause = await snapshot(redis);
    expect(afterPause).not.toEqual(before);
    const webhook = await post(
      { method: 'post', path: '/webhook/alertmanager' },
      `Bearer ${WEBHOOK_TOKEN}`,
    );
    expect(webhook.status).toBe(200);
    expect(await snapshot(redis)).not.toEqual(afterPause);
  });
});
