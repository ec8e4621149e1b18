// Scenario: the network to Redis cut, not closed, in the middle of a heal step. The workers reach
// Redis through a TCP forwarder (tcp-forwarder.ts); while a worker cordons, drains or replaces
// the node, the forwarder stops every byte both ways for 20 to 40 s with every socket left open
// (a black hole), then either passes again (the held bytes flow on) or closes every connection (a
// coin). The heal must still end once, healed, with every side effect once (heal-accounting.ts),
// and let go of the node. Per round it reports how long the workers took to notice (their
// /readyz, which PINGs Redis with a deadline, and their first warning), and how long the heal took
// to end after the path came back.
//
// `nodeheal serve` stays on a direct connection: during a heal it has nothing to do, and what it
// does while Redis is unreachable is redis-unreachable-am's subject.
import type { HealRecord } from '../../src/heal/index.ts';
import { keys } from '../../src/store/index.ts';
import { inspectQueue } from '../integration/support/queue-inspector.ts';
import type { Harness } from '../integration/support/heal-harness.ts';
import { readAuditLog } from '../stack/audit.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { sleep } from '../stack/wait.ts';
import {
  breakNode,
  countHeal,
  newVictim,
  removeVictim,
  startChaosHarnessWith,
  type ChaosCluster,
  type Victim,
} from './heal-accounting.ts';
import { startTcpForwarder, type TcpForwarder } from './tcp-forwarder.ts';
import { runRounds, type Tally } from './tally.ts';

export const REDIS_CUT = 'redis-cut';
const WORKERS = 2;
/** The cut falls this long at most after the heal record appears (a heal takes 1 to 2.5 s). */
const CUT_WINDOW_MS = 1500;
const CUT_MIN_S = 20;
const CUT_MAX_S = 40;

export interface RedisCutRig {
  harness: Harness;
  forwarder: TcpForwarder;
  stop(): Promise<void>;
}

/** serve on Redis directly, two workers through the forwarder. */
export async function startRedisCutRig(c: ChaosCluster): Promise<RedisCutRig> {
  const forwarder = await startTcpForwarder();
  const harness = await startChaosHarnessWith(c, 0, { NODEHEAL_REDIS_URL: forwarder.url });
  forwarder.setTarget(Number(new URL(harness.redisUrl).port));
  for (let i = 0; i < WORKERS; i++) await harness.startWorker();
  return {
    harness,
    forwarder,
    stop: async () => {
      await harness.stop();
      await forwarder.stop();
    },
  };
}

/** When each worker's /readyz first failed (ms after the cut), polled until `until` resolves. */
async function watchReadiness(
  harness: Harness,
  cutAt: number,
  until: Promise<void>,
): Promise<(number | undefined)[]> {
  const noticed: (number | undefined)[] = harness.workers.map(() => undefined);
  let over = false;
  void until.then(() => (over = true));
  while (!over) {
    await Promise.all(
      harness.workers.map(async (w, i) => {
        if (w.killedByTest() || noticed[i] !== undefined) return;
        const ok = await fetch(`${w.url}/readyz`, { signal: AbortSignal.timeout(3000) })
          .then((r) => r.ok)
          .catch(() => false);
        if (!ok && !over) noticed[i] = Date.now() - cutAt;
      }),
    );
    await sleep(250);
  }
  return noticed;
}

/** The workers' warnings and errors logged since `offsets` (their output length at the cut). */
function warningsSince(harness: Harness, offsets: number[], cutAt: number): string[] {
  const found: { at: number; text: string }[] = [];
  harness.workers.forEach((w, i) => {
    for (const line of w.output().slice(offsets[i]).split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { level?: number; time?: number; msg?: string };
      if ((entry.level ?? 0) < 40) continue;
      const at = (entry.time ?? cutAt) - cutAt;
      found.push({ at, text: `worker ${i} +${(at / 1000).toFixed(1)} s: ${entry.msg}` });
    }
  });
  return found.sort((a, b) => a.at - b.at).map((f) => f.text);
}

/** Requests about the victim's pods and nodes the apiserver answered between `from` and `to`. */
function actedBetween(c: ChaosCluster, v: Victim, from: number, to: number): number {
  return readAuditLog(c.stack.auditLog!).filter((r) => {
    const at = Date.parse(r.at);
    const ours = r.namespace === v.namespace || r.name.startsWith(v.pool);
    return (
      ours && r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch' && at >= from && at < to
    );
  }).length;
}

function phaseOf(heal: HealRecord | undefined): string {
  if (!heal) return 'queued';
  const step = heal.ladder[heal.stepIndex]?.action ?? '?';
  return `${step} ${heal.stepState}, last transition ${heal.transitions.at(-1)?.kind ?? 'none'}`;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}`);

/**
 * Nothing of the heal left behind: its node lock gone, and its BullMQ job no longer active (the
 * worker completes the job after it let go of the node, so that may take a moment; a job whose
 * worker hangs would stay active).
 */
async function leftovers(harness: Harness, node: string): Promise<string[]> {
  const left: string[] = [];
  const lock = await harness.redis.get(keys.nodeLock(node));
  if (lock !== null) left.push(`node lock still held by ${lock}`);
  const queue = inspectQueue(harness.redisUrl);
  try {
    const active = async () =>
      (await queue.jobsFor(`heal:${node}:kernel-deadlock`)).filter((j) => j.state === 'active');
    const stuck = await eventually(
      'the heal job no longer active',
      async () => ((await active()).length === 0 ? [] : undefined),
      30_000,
    ).catch(async () => await active());
    for (const job of stuck) left.push(`job ${job.id} still active 30 s after its heal ended`);
  } finally {
    await queue.close();
  }
  return left;
}

async function oneRound(c: ChaosCluster, rig: RedisCutRig, tally: Tally, round: number) {
  const { harness, forwarder } = rig;
  const victim = await newVictim(c.kube);
  try {
    await breakNode(c.kube, harness, victim);
    await eventually('the heal record', async () => (await harness.healsFor(victim.node))[0]);
    await sleep(c.rng.between(0, CUT_WINDOW_MS));
    const [heal] = await harness.healsFor(victim.node);
    let moment = 'none (heal over)';
    if (heal?.status === 'running') {
      const cutMs = c.rng.between(CUT_MIN_S, CUT_MAX_S) * 1000;
      const close = c.rng.next() < 0.5;
      const offsets = harness.workers.map((w) => w.output().length);
      const connections = forwarder.open();
      forwarder.blackHole();
      const cutAt = Date.now();
      tally.faults += 1;
      const holeOver = sleep(cutMs);
      const noticed = await watchReadiness(harness, cutAt, holeOver);
      await holeOver;
      if (close) forwarder.closeAll();
      else forwarder.restore();
      const backAt = Date.now();
      const done = await harness.finishedHeal(victim.node, 360_000).catch((error: unknown) => {
        // A heal that never ends after the path came back: the hang this scenario looks for.
        tally.lost += 1;
        tally.expected += 1;
        tally.problems.push(`round ${round}: ${String(error)}`);
        return undefined;
      });
      if (done === undefined) return;
      const warnings = warningsSince(harness, offsets, cutAt);
      moment =
        `${connections} connections cut for ${cutMs / 1000} s at ${phaseOf(heal)}, then ` +
        `${close ? 'closed' : 'passing again'}; ` +
        `${actedBetween(c, victim, cutAt, backAt)} changes to the node and its pods during the cut; ` +
        `/readyz failed after ` +
        `${noticed.map(seconds).join(' and ')} s; heal ended ` +
        `${seconds((done.endedAt ?? backAt) - backAt)} s after the path came back; ` +
        `${warnings.length} warnings${warnings.length > 0 ? `, first: ${warnings[0]}` : ''}`;
    }
    const summary = await countHeal(c, harness, tally, round, victim);
    for (const left of await leftovers(harness, victim.node))
      tally.problems.push(`round ${round}: ${left}`);
    c.log(`  ${REDIS_CUT} round ${round}: ${moment}; ${summary}`);
  } finally {
    await removeVictim(c.kube, victim);
  }
}

/** Runs `rounds` heals with the workers' network to Redis cut under them. */
export async function redisCutRounds(
  c: ChaosCluster,
  rig: RedisCutRig,
  rounds: number,
): Promise<Tally> {
  return await runRounds(REDIS_CUT, rounds, (tally, round) => oneRound(c, rig, tally, round));
}
