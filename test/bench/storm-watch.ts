// What `npm run bench:storm` samples while the storm runs: the worker's nodeheal_storm_active
// gauge and the shared budget in Redis (heals holding a slot, per pool, and each pool's storm
// state) every SAMPLE_MS; Redis' used memory and the heal queue's pending jobs every second; and
// every new heal job's scheduledAt (when serve decided and queued it), read from BullMQ's job
// hash as the job appears.
import { Redis } from 'ioredis';
import { readBudget } from '../../src/store/index.ts';
import { HEAL_QUEUE, type HealJob } from '../../src/queue/index.ts';

const SAMPLE_MS = 250;
const PREFIX = `nodeheal:${HEAL_QUEUE}`;

export interface StormSample {
  at: number;
  /** nodeheal_storm_active as the worker exports it; undefined when it did not answer. */
  gauge: number | undefined;
  inFlight: number;
  maxPerPool: number;
  /** Pools whose stored storm state is on (activeSince set), and which of them recovering. */
  stormPools: string[];
  recovering: string[];
}

export interface MemorySample {
  at: number;
  usedBytes: number;
  pending: number;
}

export interface ScheduledJob {
  node: string;
  alertname: string;
  startsAt: string;
  scheduledAt: number;
}

export interface StormWatch {
  samples: StormSample[];
  memory: MemorySample[];
  jobs: Map<string, ScheduledJob>;
  stop(): Promise<void>;
}

async function gaugeOf(workerUrl: string): Promise<number | undefined> {
  try {
    const text = await (
      await fetch(`${workerUrl}/metrics`, { signal: AbortSignal.timeout(2000) })
    ).text();
    const line = text.split('\n').find((l) => l.startsWith('nodeheal_storm_active'));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  } catch {
    return undefined;
  }
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Jobs waiting for their time or a worker: BullMQ's delayed, wait, prioritized and active. */
export async function pendingJobs(redis: Redis): Promise<number> {
  const [delayed, wait, prioritized, active] = await Promise.all([
    redis.zcard(`${PREFIX}:delayed`),
    redis.llen(`${PREFIX}:wait`),
    redis.zcard(`${PREFIX}:prioritized`),
    redis.llen(`${PREFIX}:active`),
  ]);
  return delayed + wait + prioritized + active;
}

async function newJobs(redis: Redis, jobs: Map<string, ScheduledJob>, seen: Set<string>) {
  const ids = await redis.zrange(`${PREFIX}:delayed`, 0, '-1');
  const fresh = ids.filter((id) => !seen.has(id));
  if (fresh.length === 0) return;
  const pipeline = redis.pipeline();
  for (const id of fresh) pipeline.hget(`${PREFIX}:${id}`, 'data');
  const results = (await pipeline.exec()) ?? [];
  fresh.forEach((id, i) => {
    seen.add(id);
    const raw = results[i]?.[1];
    if (typeof raw !== 'string') return;
    const data = JSON.parse(raw) as HealJob;
    jobs.set(id, {
      node: data.node,
      alertname: data.alertname,
      startsAt: data.startsAt,
      scheduledAt: Date.parse(data.scheduledAt),
    });
  });
}

export function startStormWatch(redisUrl: string, workerUrl: string): StormWatch {
  const redis = new Redis(redisUrl);
  const samples: StormSample[] = [];
  const memory: MemorySample[] = [];
  const jobs = new Map<string, ScheduledJob>();
  const seen = new Set<string>();
  let stopped = false;

  const fast = (async () => {
    while (!stopped) {
      const at = Date.now();
      const [gauge, budget] = await Promise.all([gaugeOf(workerUrl), readBudget(redis)]);
      const perPool = new Map<string, number>();
      for (const e of budget?.inFlight ?? []) perPool.set(e.pool, (perPool.get(e.pool) ?? 0) + 1);
      const storms = Object.entries(budget?.storms ?? {});
      samples.push({
        at,
        gauge,
        inFlight: budget?.inFlight.length ?? 0,
        maxPerPool: Math.max(0, ...perPool.values()),
        stormPools: storms.filter(([, s]) => s.activeSince !== undefined).map(([p]) => p),
        recovering: storms.filter(([, s]) => s.recoveredAt !== undefined).map(([p]) => p),
      });
      await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (Date.now() - at))));
    }
  })();
  const slow = (async () => {
    while (!stopped) {
      const at = Date.now();
      const [usedBytes, pending] = await Promise.all([usedMemory(redis), pendingJobs(redis)]);
      memory.push({ at, usedBytes, pending });
      await newJobs(redis, jobs, seen);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - at))));
    }
  })();
  return {
    samples,
    memory,
    jobs,
    stop: async () => {
      stopped = true;
      await Promise.all([fast, slow]);
      redis.disconnect();
    },
  };
}
