// The intake store against the stack's real Redis: histories it remembers, commits of concurrent
// requests sent together, and what happens when another writer (the worker, another replica) or
// Redis itself gets in the way. A remembered history may be stale; a decision never is.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from '../stack/helpers/poll.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadRulesOrThrow } from '../../src/cli/load-rules.ts';
import {
  ALERT_LOG_STREAM,
  historyKey,
  redisIntakeStore,
  type CommitBatch,
  type IntakeStore,
} from '../../src/store/intake-store.ts';
import { buildNodeIndex } from '../../src/kube/node-index.ts';
import { processAlerts, type IntakeDeps } from '../../src/intake/process-alerts.ts';
import { alertmanagerSource } from '../../src/sources/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { casUpdate, jsonParser } from '../../src/store/cas.ts';
import { bullmqHealScheduler, type HealScheduler } from '../../src/queue/heal-scheduler.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';
import type { Catalog } from '../../src/rules/index.ts';
import { faultHistorySchema, markHealStarted, type FaultHistory } from '../../src/triage/index.ts';

const stack = inject('stack');
const RULES = resolve(import.meta.dirname, '../../alert-rules/remedies.yaml');
const RUN = randomBytes(4).toString('hex');
const PREFIX = `nhtest-store-${RUN}`;

let redis: Redis;
let other: Redis;
let catalog: Catalog;
let scheduler: HealScheduler;

beforeAll(async () => {
  expect(stack.redisUrl, 'the stack provides Redis').toBeDefined();
  catalog = await loadRulesOrThrow(RULES);
  redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  other = new Redis(stack.redisUrl ?? '');
  scheduler = bullmqHealScheduler(redis, PREFIX);
});

afterAll(async () => {
  await scheduler?.close();
  await redis?.quit();
  await other?.quit();
});

const key = (name: string) => `heal:store-${name}-${RUN}:node-not-ready`;

function history(startsAt: number, extra: Partial<FaultHistory> = {}): FaultHistory {
  return {
    active: [{ fingerprint: 'fp', startsAt }],
    resolved: [],
    transitions: [{ at: startsAt, status: 'firing' }],
    ...extra,
  };
}

/** A commit of `next` for one key, from the snapshot the store gives now. */
async function commitOne(
  store: IntakeStore,
  k: string,
  next: FaultHistory | undefined,
  note: string,
): Promise<CommitBatch> {
  const [snapshot] = await store.readHistories([k]);
  if (!snapshot) throw new Error('no snapshot');
  return {
    snapshots: [snapshot],
    next: new Map<string, FaultHistory>(next ? [[k, next]] : []),
    records: [{ node: k, note }],
  };
}

async function logNotes(k: string): Promise<string[]> {
  const entries = await other.xrange(ALERT_LOG_STREAM, '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as { node?: string; note?: string })
    .filter((r) => r.node === k)
    .map((r) => r.note ?? '');
}

describe('remembered histories', () => {
  it('a history changed by another writer fails the commit, and the store then knows it', async () => {
    const store = redisIntakeStore(redis);
    const k = key('stale');
    expect(await store.commit(await commitOne(store, k, history(1000), 'first'))).toBe(true);
    // Another writer (say the worker starting a heal) changes the value behind the store's back.
    const changed = JSON.stringify(history(1000, { running: { healId: 'h-1', since: 2000 } }));
    await other.set(historyKey(k), changed);

    const stale = await commitOne(store, k, history(1000, { scheduledFor: 9 }), 'stale');
    expect(stale.snapshots[0]?.raw).not.toBe(changed); // the store's memory is behind
    expect(await store.commit(stale)).toBe(false);
    expect(await other.get(historyKey(k))).toBe(changed); // nothing overwritten
    // The failed commit brought the current value back: the next read has it.
    const [fresh] = await store.readHistories([k]);
    expect(fresh?.raw).toBe(changed);
    expect(fresh?.history?.running?.healId).toBe('h-1');
    expect(await logNotes(k)).toEqual(['first']); // the stale commit's record was not written
  });

  it('a history that vanished from Redis (flushed, expired) is seen as absent again', async () => {
    const store = redisIntakeStore(redis);
    const k = key('vanished');
    expect(await store.commit(await commitOne(store, k, history(1000), 'first'))).toBe(true);
    await other.del(historyKey(k));
    expect(await store.commit(await commitOne(store, k, undefined, 'unchanged'))).toBe(false);
    const [fresh] = await store.readHistories([k]);
    expect(fresh).toEqual({ key: k, raw: null, history: undefined });
  });

  it('forgets what it remembered when a commit fails for an unknown reason', async () => {
    const broken = producerConnection(stack.redisUrl ?? '', 2000);
    await broken.connect();
    try {
      const store = redisIntakeStore(broken);
      const k = key('unknown-outcome');
      expect(await store.commit(await commitOne(store, k, history(1000), 'first'))).toBe(true);
      const batch = await commitOne(store, k, history(1000, { scheduledFor: 5 }), 'lost');
      broken.disconnect();
      await expect(store.commit(batch)).rejects.toThrow();
      // Meanwhile someone else wrote; reconnected, the store reads Redis instead of its memory.
      const current = JSON.stringify(history(3000));
      await other.set(historyKey(k), current);
      // A manual disconnect does not reconnect by itself: wait until the old connection has
      // really ended (the close event can come after the write above), then connect again. The
      // CI run at 37cc2c4 checked the status too early, never reconnected, and timed out.
      await eventually('the old connection to end', () => broken.status === 'end', 10_000, 20);
      await broken.connect();
      const [fresh] = await store.readHistories([k]);
      if (!fresh) throw new Error('no snapshot after reconnecting');
      expect(fresh.raw).toBe(current);
    } finally {
      broken.disconnect();
    }
  });

  it('keeps no more histories than it is allowed to, and still answers for the others', async () => {
    const store = redisIntakeStore(redis, { cacheEntries: 2 });
    const keys = ['c1', 'c2', 'c3'].map(key);
    for (const [i, k] of keys.entries()) {
      expect(await store.commit(await commitOne(store, k, history(1000 + i), `v${i}`))).toBe(true);
    }
    const snapshots = await store.readHistories(keys);
    expect(snapshots.map((s) => s.history?.active[0]?.startsAt)).toEqual([1000, 1001, 1002]);
  });
});

/** Script calls Redis has answered so far (`INFO commandstats`). */
async function scriptCalls(): Promise<number> {
  const info = await other.info('commandstats');
  const calls = (name: string) =>
    Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

describe('commits of concurrent requests', () => {
  it('travel together and are applied one by one, in order', async () => {
    const store = redisIntakeStore(redis);
    const keys = Array.from({ length: 30 }, (_, i) => key(`together-${i}`));
    const batches = await Promise.all(keys.map((k, i) => commitOne(store, k, history(i), 'n')));
    const calls = await scriptCalls();
    const sent = batches.map((b) => store.commit(b));
    expect(await Promise.all(sent)).toEqual(keys.map(() => true));
    expect((await scriptCalls()) - calls).toBe(1); // thirty commits, one script call
    const stored = await other.mget(keys.map(historyKey));
    expect(stored.map((raw) => (raw ? (JSON.parse(raw) as unknown) : null))).toEqual(
      keys.map((_, i) => history(i)),
    );
  });

  it('two commits of one key from the same snapshot: the first applies, the second conflicts', async () => {
    const store = redisIntakeStore(redis);
    const k = key('race');
    const a = await commitOne(store, k, history(1000), 'a');
    const b = await commitOne(store, k, history(2000), 'b');
    const [first, second] = await Promise.all([store.commit(a), store.commit(b)]);
    expect([first, second]).toEqual([true, false]);
    const [now] = await store.readHistories([k]);
    expect(now?.history?.active[0]?.startsAt).toBe(1000);
    expect(await logNotes(k)).toEqual(['a']);
  });
});

describe('triage through the store', () => {
  function deps(store: IntakeStore): IntakeDeps {
    return {
      store,
      scheduler,
      catalog: () => catalog,
      nodeIndex: () => buildNodeIndex([]),
      metrics: createMetrics(),
      logger: silentLogger(),
      now: () => new Date(),
    };
  }

  /** A payload as Alertmanager's source hands it to the intake. */
  function batchOf(body: unknown) {
    const parsed = alertmanagerSource.parse(body);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.batch;
  }

  function payload(node: string) {
    const startsAt = new Date(Date.now() - 10_000).toISOString();
    return {
      version: '4' as const,
      groupKey: 'g',
      status: 'firing' as const,
      receiver: 'nodeheal',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://am',
      alerts: [
        {
          status: 'firing' as const,
          labels: { alertname: 'NodeNotReady', node },
          annotations: {},
          startsAt,
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: `fp-${node}`,
        },
      ],
    };
  }

  it('a heal started by the worker after the last delivery is seen by the next one', async () => {
    const d = deps(redisIntakeStore(redis));
    const node = `store-running-${RUN}`;
    const body = payload(node);
    const [first] = await processAlerts(batchOf(body), d);
    expect(first).toMatchObject({ decision: 'debounce' });
    // The worker starts the heal: its own compare-and-set on the history, another connection.
    await casUpdate(
      other,
      historyKey(first?.key ?? ''),
      jsonParser<FaultHistory>(faultHistorySchema),
      (h) => ({ next: markHealStarted(h, 'heal-from-worker', new Date()), result: undefined }),
    );
    const [again] = await processAlerts(batchOf(body), d);
    // Not a stale "debounce": the intake triaged the repeat on the history the worker wrote.
    expect(again).toMatchObject({ decision: 'ignore', reason: 'heal-running' });
  });

  it('a request of 40,000 alerts (max_alerts: 0 in a large outage, about 10 MB): every one recorded, each its job', async () => {
    const d = deps(redisIntakeStore(redis));
    const count = 40_000;
    const one = payload(`store-big-${RUN}-0`);
    const template = one.alerts[0]!;
    const body = {
      ...one,
      alerts: Array.from({ length: count }, (_, i) => ({
        ...template,
        labels: { alertname: 'NodeNotReady', node: `store-big-${RUN}-${i}` },
        fingerprint: `fp-big-${RUN}-${i}`,
      })),
    };
    const logBefore = await other.xlen(ALERT_LOG_STREAM);
    const outcomes = await processAlerts(batchOf(body), d);
    expect(outcomes).toHaveLength(count);
    expect(outcomes.every((o) => o.decision === 'debounce')).toBe(true);
    expect((await other.xlen(ALERT_LOG_STREAM)) - logBefore).toBe(count);
    const histories = await other.mget(outcomes.map((o) => historyKey(o.key ?? '')));
    expect(histories.filter((h) => h !== null)).toHaveLength(count);
    // Every job confirmed in its history, and a sample of them pending in the queue.
    const confirmed = histories.filter(
      (h) => faultHistorySchema.parse(JSON.parse(h ?? '{}')).scheduledFor !== undefined,
    );
    expect(confirmed).toHaveLength(count);
    for (const i of [0, count / 2, count - 1]) {
      expect(await scheduler.pending(outcomes[i]?.key ?? '')).toBeDefined();
    }
  }, 60_000);

  it('the same first delivery from both Alertmanagers of an HA pair at once: one episode', async () => {
    const d = deps(redisIntakeStore(redis));
    const node = `store-ha-${RUN}`;
    const body = payload(node);
    const outcomes = await Promise.all([
      processAlerts(batchOf(body), d),
      processAlerts(batchOf(body), d),
    ]);
    expect(outcomes.map((o) => o[0]?.decision)).toEqual(['debounce', 'debounce']);
    const raw = await other.get(historyKey(outcomes[0]?.[0]?.key ?? ''));
    const stored = faultHistorySchema.parse(JSON.parse(raw ?? '{}'));
    expect(stored.active).toHaveLength(1);
    expect(stored.transitions).toHaveLength(1);
    expect(await scheduler.pending(outcomes[0]?.[0]?.key ?? '')).toBeDefined();
  });
});
