// The heal scheduler's bulk add against the stack's real Redis and BullMQ: one round trip for a
// webhook's many new jobs, with the same deduplication and due times as one add at a time.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { bullmqHealScheduler, type HealScheduler } from '../../src/queue/heal-scheduler.ts';
import { HEAL_JOB_VERSION, type HealJob } from '../../src/queue/heal-job.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';

const stack = inject('stack');
const RUN = randomBytes(4).toString('hex');

let redis: Redis;
let scheduler: HealScheduler;

beforeAll(async () => {
  expect(stack.redisUrl, 'the stack provides Redis').toBeDefined();
  redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  scheduler = bullmqHealScheduler(redis, `nhtest-sched-${RUN}`);
  // Once per queue and connection: BullMQ writes the queue's meta and ioredis loads the add
  // script. Done here, so that the tests count what each call itself sends.
  await scheduler.scheduleAll([{ job: job(`warm-up-${RUN}`, HOUR), delayMs: HOUR }]);
});

afterAll(async () => {
  await scheduler?.close();
  await redis?.quit();
});

function job(node: string, dueInMs: number, flapping = false): HealJob {
  const now = Date.now();
  return {
    version: HEAL_JOB_VERSION,
    key: `heal:${node}:node-not-ready`,
    node,
    fault: 'node-not-ready',
    alertname: 'NodeNotReady',
    fingerprint: `fp-${node}`,
    labels: { alertname: 'NodeNotReady', node },
    startsAt: new Date(now - 1000).toISOString(),
    dueAt: new Date(now + dueInMs).toISOString(),
    scheduledAt: new Date(now).toISOString(),
    flapping,
  };
}

const HOUR = 3600_000;

interface Traffic {
  /** Commands per pipeline sent, in order (one entry per round trip of a pipeline). */
  pipelines: number[];
  /** Names of the commands sent on their own (one round trip each). */
  alone: string[];
}

/**
 * What `fn` sends on the scheduler's connection: every command goes through `sendCommand`, with
 * the pipeline's buffer as second argument when it is part of a pipeline (written in one go).
 */
async function traffic<T>(fn: () => Promise<T>): Promise<{ result: T } & Traffic> {
  const perPipeline = new Map<unknown, number>();
  const alone: string[] = [];
  const original = redis.sendCommand.bind(redis);
  const spy = vi
    .spyOn(redis, 'sendCommand')
    .mockImplementation((...args: Parameters<Redis['sendCommand']>) => {
      const [command, stream] = args;
      if (stream) perPipeline.set(stream, (perPipeline.get(stream) ?? 0) + 1);
      else alone.push(command.name);
      return original(...args);
    });
  try {
    const result = await fn();
    return { result, pipelines: [...perPipeline.values()], alone };
  } finally {
    spy.mockRestore();
  }
}

describe('scheduleAll', () => {
  it('adds one delayed job per key, due when asked, in one pipeline', async () => {
    const nodes = Array.from({ length: 50 }, (_, i) => `bulk-${RUN}-${i}`);
    const before = Date.now();
    const {
      result: ids,
      pipelines,
      alone,
    } = await traffic(() =>
      scheduler.scheduleAll(
        nodes.map((n, i) => ({ job: job(n, HOUR + i * 1000), delayMs: HOUR + i * 1000 })),
      ),
    );
    // One round trip: a single pipeline of one add per job, and nothing sent on its own.
    expect(pipelines).toEqual([50]);
    expect(alone).toEqual([]);
    expect(new Set(ids).size).toBe(nodes.length);
    for (const [i, n] of nodes.entries()) {
      const pending = await scheduler.pending(`heal:${n}:node-not-ready`);
      expect(pending?.state).toBe('delayed');
      expect(pending?.data.node).toBe(n);
      expect(pending?.dueAt).toBeGreaterThanOrEqual(before + HOUR + i * 1000);
      expect(pending?.dueAt).toBeLessThanOrEqual(Date.now() + HOUR + i * 1000);
    }
  });

  it('deduplicates like schedule: against jobs already there and within one call', async () => {
    const existing = `bulk-dedup-${RUN}-a`;
    const fresh = `bulk-dedup-${RUN}-b`;
    const first = await scheduler.schedule(job(existing, HOUR), HOUR);
    const ids = await scheduler.scheduleAll([
      { job: job(existing, HOUR), delayMs: HOUR },
      { job: job(fresh, HOUR), delayMs: HOUR },
      { job: job(fresh, HOUR), delayMs: HOUR },
    ]);
    expect(ids[0]).toBe(first);
    expect(ids[2]).toBe(ids[1]);
    const counts = await scheduler.counts();
    expect(counts.delayed).toBeGreaterThanOrEqual(2);
    expect((await scheduler.pending(`heal:${existing}:node-not-ready`))?.id).toBe(first);
  });

  it('moves a delayed job to the new due time of a flapping fault, payload included', async () => {
    const node = `bulk-flap-${RUN}`;
    await scheduler.scheduleAll([{ job: job(node, HOUR), delayMs: HOUR }]);
    const held = job(node, 2 * HOUR, true);
    await scheduler.scheduleAll([
      { job: held, delayMs: 2 * HOUR },
      { job: job(`bulk-flap-other-${RUN}`, HOUR), delayMs: HOUR },
    ]);
    const pending = await scheduler.pending(held.key);
    expect(pending?.dueAt).toBeGreaterThan(Date.now() + 1.5 * HOUR);
    expect(pending?.data.dueAt).toBe(held.dueAt);
    expect(pending?.data.flapping).toBe(true);
  });

  it('more jobs than one pipeline takes: pipelines of 1,000, all added, in order, ids unique', async () => {
    const nodes = Array.from({ length: 2500 }, (_, i) => `bulk-many-${RUN}-${i}`);
    const {
      result: ids,
      pipelines,
      alone,
    } = await traffic(() =>
      scheduler.scheduleAll(nodes.map((n) => ({ job: job(n, HOUR), delayMs: HOUR }))),
    );
    expect(pipelines).toEqual([1000, 1000, 500]);
    expect(alone).toEqual([]);
    expect(ids).toHaveLength(nodes.length);
    expect(new Set(ids).size).toBe(nodes.length);
    for (const i of [0, 999, 1000, 2499]) {
      expect((await scheduler.pending(`heal:${nodes[i]}:node-not-ready`))?.id).toBe(ids[i]);
    }
  });

  it('nothing to add: no call at all', async () => {
    const { result, pipelines, alone } = await traffic(() => scheduler.scheduleAll([]));
    expect(result).toEqual([]);
    expect(pipelines).toEqual([]);
    expect(alone).toEqual([]);
  });
});
