// Scenario 3: Redis SIGKILLed and restarted from its AOF while heals are pending (debounced
// jobs not yet due, or due with no worker to take them yet), at a random moment of the debounce.
// The pending jobs must still be there after the restart, and once workers run, each heal runs
// once (counted from the outside: heal-accounting.ts).
import type { Harness } from '../integration/support/heal-harness.ts';
import { inspectQueue } from '../integration/support/queue-inspector.ts';
import { emptyStack, type Stack } from '../stack/stack.ts';
import { sleep } from '../stack/wait.ts';
import {
  breakNode,
  countHeal,
  newVictim,
  removeVictim,
  startChaosHarness,
  type ChaosCluster,
  type Victim,
} from './heal-accounting.ts';
import { sigkillAndRestartRedis } from './redis-restart.ts';
import { runRounds, type Tally } from './tally.ts';

export const PENDING_RESTART = 'redis-restart-pending';
/** Heals pending at once per round (the cluster budget is 3). */
const HEALS_PER_ROUND = 2;
/** The harness's debounce is 1 s: the kill falls before or after the jobs come due. */
const KILL_WINDOW_MS = 2000;

export interface PendingRig {
  harness: Harness;
  /** Where the restarted Redis processes live (stopped after the harness). */
  redisStack: Stack;
  stop(): Promise<void>;
}

export async function startPendingRig(c: ChaosCluster): Promise<PendingRig> {
  const harness = await startChaosHarness(c, 2);
  const redisStack = emptyStack();
  return {
    harness,
    redisStack,
    stop: async () => {
      await harness.stop();
      await redisStack.stop();
    },
  };
}

async function pendingJobs(redisUrl: string, victims: Victim[]): Promise<number> {
  const queue = inspectQueue(redisUrl);
  try {
    let n = 0;
    for (const v of victims) n += (await queue.jobsFor(`heal:${v.node}:kernel-deadlock`)).length;
    return n;
  } finally {
    await queue.close();
  }
}

async function oneRound(c: ChaosCluster, rig: PendingRig, tally: Tally, round: number) {
  const { harness } = rig;
  const victims: Victim[] = [];
  try {
    for (let i = 0; i < HEALS_PER_ROUND; i++) victims.push(await newVictim(c.kube));
    // No worker runs while the heals wait: they are pending in Redis alone.
    for (const w of harness.workers.filter((x) => !x.killedByTest())) await w.kill('SIGKILL');
    // Starting now: due after the 1 s debounce, so the kill falls before or after that.
    for (const v of victims) await breakNode(c.kube, harness, v, new Date());
    const wait = c.rng.between(0, KILL_WINDOW_MS);
    await sleep(wait);
    const before = await pendingJobs(harness.redisUrl, victims);
    await sigkillAndRestartRedis(harness.redisUrl, rig.redisStack);
    tally.faults += 1;
    const after = await pendingJobs(harness.redisUrl, victims);
    if (after !== before || after !== victims.length) {
      tally.problems.push(
        `round ${round}: ${before} heal jobs pending before the Redis kill, ${after} after`,
      );
    }
    for (let i = 0; i < 2; i++) await harness.startWorker();
    const summaries = [];
    for (const v of victims) summaries.push(await countHeal(c, harness, tally, round, v));
    c.log(
      `  ${PENDING_RESTART} round ${round}: Redis killed ${wait} ms after the alerts, ` +
        `${before} jobs pending before, ${after} after; ${summaries.join('; ')}`,
    );
  } finally {
    for (const v of victims) await removeVictim(c.kube, v);
  }
}

export async function pendingRestartRounds(
  c: ChaosCluster,
  rig: PendingRig,
  rounds: number,
): Promise<Tally> {
  return await runRounds(PENDING_RESTART, rounds, (tally, round) => oneRound(c, rig, tally, round));
}
