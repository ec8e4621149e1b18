// The chaos scenarios of `npm run chaos` (test/chaos/), sized down to 2 rounds each: heal
// workers SIGKILLed at random moments of heals; Redis SIGKILLed in a burst of webhook deliveries;
// Redis SIGKILLed and restarted while heals are pending. Nothing lost, nothing done twice, and
// the Events, evictions and provider calls the apiserver saw match the heal records. The seed of
// the random timing is printed (CHAOS_SEED plays it again).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChaosCluster } from '../chaos/heal-accounting.ts';
import {
  pendingRestartRounds,
  startPendingRig,
  type PendingRig,
} from '../chaos/pending-restart.ts';
import { redisKillRounds, startRedisKillRig, type RedisKillRig } from '../chaos/redis-kill.ts';
import { rngFromEnv } from '../chaos/rng.ts';
import { tallyLines, type Tally } from '../chaos/tally.ts';
import { startWorkerKillHarness, workerKillRounds } from '../chaos/worker-kill.ts';
import { adminClients } from '../stack/helpers/kube.ts';
import type { Harness } from './support/heal-harness.ts';

const stack = inject('stack');
const ROUNDS = 2;
let cluster: ChaosCluster;

beforeAll(() => {
  const rng = rngFromEnv();
  console.log(`chaos seed ${rng.seed} (CHAOS_SEED)`);
  cluster = { kube: adminClients(stack), stack, rng, log: (line) => console.log(line) };
});

/** Nothing lost or doubled, and every counted side effect as often as the records say. */
function expectClean(tally: Tally) {
  console.log(tallyLines(tally).join('\n'));
  expect(tally.rounds).toBe(ROUNDS);
  expect(tally.problems).toEqual([]);
  expect(tally.lost).toBe(0);
  expect(tally.doubled).toBe(0);
  expect(tally.recorded).toBe(tally.expected);
  for (const [reason, [seen, expected]] of tally.events) expect(seen, reason).toBe(expected);
  if (tally.evictions) {
    expect(tally.evictions.seen).toBe(tally.evictions.expected);
    expect(tally.evictions.repeated).toBe(0);
  }
  if (tally.provider) {
    expect(tally.provider.creates).toBe(tally.provider.expected);
    expect(tally.provider.deletes).toBe(tally.provider.expected);
  }
}

describe('chaos, counted', () => {
  let harness: Harness | undefined;
  let redisRig: RedisKillRig | undefined;
  let pendingRig: PendingRig | undefined;
  afterAll(async () => {
    await harness?.stop();
    await redisRig?.stop();
    await pendingRig?.stop();
  });

  it('workers SIGKILLed at random moments of heals: every heal ends once, every side effect once', async () => {
    harness = await startWorkerKillHarness(cluster);
    const tally = await workerKillRounds(cluster, harness, ROUNDS);
    await harness.stop();
    harness = undefined;
    expectClean(tally);
    expect(tally.expected).toBe(ROUNDS);
    // The kills landed while heals ran (the first one falls in a heal's first 0.8 s).
    expect(tally.faults).toBeGreaterThan(0);
    // A kill that cuts off an eviction leaves its pod counted by the PDB for 2 minutes: a round
    // may take that much longer (docs/reliability.md, Chaos).
  }, 900_000);

  it('Redis SIGKILLed in a burst of deliveries: every alert answered 200 is there after the restart; retries double nothing', async () => {
    redisRig = await startRedisKillRig(stack.kubeconfig!);
    // The Redis killed here runs the shipped queue/redis.conf: fsync before every answer.
    const client = new Redis(redisRig.stack.info.redisUrl!);
    try {
      const settings = await client.config('GET', 'append*');
      const value = (name: string) => settings[settings.indexOf(name) + 1];
      expect([value('appendonly'), value('appendfsync')]).toEqual(['yes', 'always']);
    } finally {
      client.disconnect();
    }
    const tally = await redisKillRounds(redisRig, cluster.rng, ROUNDS, cluster.log);
    await redisRig.stop();
    redisRig = undefined;
    expectClean(tally);
    expect(tally.expected).toBeGreaterThan(0);
  });

  it('Redis SIGKILLed and restarted with heals pending: each still runs, once', async () => {
    pendingRig = await startPendingRig(cluster);
    const tally = await pendingRestartRounds(cluster, pendingRig, ROUNDS);
    await pendingRig.stop();
    pendingRig = undefined;
    expectClean(tally);
    expect(tally.faults).toBe(ROUNDS);
  });
});
