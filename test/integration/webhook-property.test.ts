// Property tests of the webhook intake over HTTP against the stack's real Redis: whatever arrives
// (valid payloads, mutated ones, random JSON, random bytes, hostile label values, 1 MB strings,
// huge alert arrays, bad UTF-8, odd headers and credentials), the server answers a 4xx or 200
// that a model of the contract predicts, never a 5xx, and keeps serving. Valid payloads are
// answered 200 only with every alert recorded in the alert log. First the app in this process,
// then the real `nodeheal serve` process (own Redis, the stack's apiserver), which must still be
// alive and ready at the end; its RSS before and after is printed.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
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
import { adminClients } from '../stack/helpers/kube.ts';
import { emptyStack, startRedis, type Stack } from '../stack/stack.ts';
import type { NodehealProcess } from './support/nodeheal-process.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { aliveAndReady, rssMiB, startFuzzServe } from './support/serve-fuzz.ts';
import { answerProblem } from './support/webhook-contract.ts';
import { fuzzInputs, sendCase, type FuzzCase } from './support/webhook-fuzz-inputs.ts';

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
const inputs = fuzzInputs({
  token: TOKEN,
  user: USER,
  password: PASSWORD,
  limit: LIMIT,
  nodes: NODES,
  indexedIp: INDEXED_IP,
});

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

/**
 * Sends a case and checks the answer against the contract: the status the model allows (never a
 * 5xx), and 200 only once every alert of the payload is in the alert log (nothing recorded for
 * any other answer). Counts the statuses in `seen`.
 */
async function expectContractAnswer(
  url: string,
  store: Redis,
  c: FuzzCase,
  limit: number,
  seen: Map<number, number>,
): Promise<void> {
  // The alert log is capped (MAXLEN ~ 200,000): keep it far below, so that counts are exact.
  if ((await store.xlen(ALERT_LOG_STREAM)) > 100_000) await store.del(ALERT_LOG_STREAM);
  const before = await store.xlen(ALERT_LOG_STREAM);
  const res = await sendCase(url, c);
  seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
  expect(answerProblem(c, res.bytes, limit, res.status, res.body)).toBeUndefined();
  const body = res.body as Json;
  const recorded = (await store.xlen(ALERT_LOG_STREAM)) - before;
  if (res.status === 200) {
    const alerts = (JSON.parse(res.bytes.toString('utf8')) as { alerts: unknown[] }).alerts;
    expect(body.received).toBe(alerts.length);
    expect(body.outcomes).toHaveLength(Math.min(alerts.length, 1000));
    expect(recorded).toBe(alerts.length);
  } else {
    expect(recorded).toBe(0);
  }
}

describe('webhook intake under random and mutated input', () => {
  it('answers only what the contract allows (200, 400, 401, 413), never a 5xx, and keeps serving', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(inputs.case, async (c) =>
        expectContractAnswer(`${base}/webhook/alertmanager`, redis, c, LIMIT, seen),
      ),
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
      fc.asyncProperty(
        fc.array(inputs.validPayload, { minLength: 1, maxLength: 4 }),
        async (payloads) => {
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
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the real nodeheal serve process under the same input, hostile labels and 1 MB bodies', () => {
  /** Sized for `npm test`; `npm run fuzz` runs 100,000 (FUZZ_CASES). */
  const CASES = 2000;
  let privateStack: Stack;
  let serve: NodehealProcess;
  let serveRedis: Redis;
  let serveInputs: ReturnType<typeof fuzzInputs>;

  beforeAll(async () => {
    // Its own Redis: the alert-log counts are exact, and the shared one is left alone.
    privateStack = emptyStack();
    await startRedis(privateStack, 'redis-fuzz');
    const redisUrl = privateStack.info.redisUrl ?? '';
    const kubeconfig = (await nodehealKubeconfig(adminClients(stack), stack)).path;
    const nodes = Array.from({ length: 6 }, (_, i) => `fuzz-${RUN}-${i}`);
    const started = await startFuzzServe({ redisUrl, kubeconfig, nodes });
    serve = started.serve;
    serveInputs = fuzzInputs(started.target);
    serveRedis = producerConnection(redisUrl, 2000);
    await serveRedis.connect();
  });

  afterAll(async () => {
    await serveRedis?.quit();
    await serve?.stop();
    await privateStack?.stop();
  });

  it(`${CASES} cases: only 200, 400, 401 or 413 as the contract says, never a 5xx; alive and ready at the end`, async () => {
    const url = `${serve.url}/webhook/alertmanager`;
    const seen = new Map<number, number>();
    const rssBefore = rssMiB(serve.child.pid);
    await fc.assert(
      fc.asyncProperty(serveInputs.case, async (c) =>
        expectContractAnswer(url, serveRedis, c, serveInputs.limit, seen),
      ),
      { numRuns: CASES },
    );
    const rssAfter = rssMiB(serve.child.pid);
    console.log(
      `serve fuzz: ${CASES} cases, answers ${JSON.stringify(Object.fromEntries(seen))}, ` +
        `RSS ${rssBefore.toFixed(0)} MiB before, ${rssAfter.toFixed(0)} MiB after`,
    );
    for (const status of [200, 400, 401, 413]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);
    expect(await aliveAndReady(serve)).toEqual({ exitCode: null, healthz: 200, readyz: 200 });
    const scrape = await (await fetch(`${serve.url}/metrics`)).text();
    expect(scrape).toMatch(/^nodeheal_webhook_requests_total\{code="200"\} [1-9]/m);
    expect(scrape).not.toMatch(/^nodeheal_webhook_requests_total\{code="5\d\d"\}/m);
    expect(serve.output()).not.toMatch(/"level":(50|60)/);
  });
});
