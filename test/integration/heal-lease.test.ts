// A heal acts on its node only while it may still hold the node's lock (lease-watchdog.ts), with
// a real worker mid-drain (a PDB holds the drain up, its evictions refused and retried) and a
// short lock (NODEHEAL_NODE_LOCK_TTL_MS 4 s: renewed every second, stale after 3 s):
// (1) another heal takes the node's lock: the first stops evicting, saves nothing more, leaves
//     the lock to its holder, says so (warning, nodeheal_heal_lease_lost_total{reason=
//     "held-by-other"}), and resumes from its record once the lock is free;
// (2) the worker's path to Redis is black-holed (every socket left open: tcp-forwarder.ts): the
//     drain, which needs no Redis, went on evicting until the watchdog stopped it; once the path
//     is back the heal is resumed and ends healed once.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keys, lockHolder, releaseLock, takeLock } from '../../src/store/index.ts';
import { startTcpForwarder, type TcpForwarder } from '../chaos/tcp-forwarder.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { makePodsUnevictable, setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { poolWithWorkload } from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
const LEASE_LOST = 'nodeheal_heal_lease_lost_total';
/** Longer than the drainer's longest retry delay (3 s): an eviction still going would show. */
const QUIET_MS = 5000;
let kube: KubeClients;
let harness: Harness;
let forwarder: TcpForwarder;

beforeAll(async () => {
  kube = adminClients(stack);
  forwarder = await startTcpForwarder();
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [
        { action: 'drain', timeout: '300s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workers: 0,
    // The worker reaches Redis through the forwarder; serve and the test directly.
    workerEnv: { NODEHEAL_NODE_LOCK_TTL_MS: '4000', NODEHEAL_REDIS_URL: forwarder.url },
  });
  forwarder.setTarget(Number(new URL(harness.redisUrl).port));
  await harness.startWorker();
});

afterAll(async () => {
  await harness?.stop();
  await forwarder?.stop();
});

/** nodeheal's eviction requests for pods of `namespace` (refused or not), from the audit log. */
function evictionAttempts(namespace: string): number {
  const log = stack.auditLog;
  if (!log) throw new Error('the stack keeps no audit log');
  let count = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('"eviction"')) continue;
    const event = JSON.parse(line) as {
      verb?: string;
      objectRef?: { subresource?: string; namespace?: string };
    };
    if (event.objectRef?.subresource !== 'eviction' || event.verb !== 'create') continue;
    if (event.objectRef.namespace === namespace) count++;
  }
  return count;
}

/** A pool with a workload, the victim's pods pinned by a PDB, its heal draining (and retrying). */
async function drainHeldUp(prefix: string) {
  const { nodes, namespace } = await poolWithWorkload(kube, prefix, {
    size: 3,
    replicas: 3,
    minAvailable: 0,
    spread: true,
  });
  const victim = nodes[0]!;
  expect(await makePodsUnevictable(kube, victim)).toBeGreaterThan(0);
  await eventually('pin PDB in force', async () => {
    const pdb = await kube.policy.readNamespacedPodDisruptionBudget({
      name: `pin-${victim}`,
      namespace,
    });
    return pdb.status?.disruptionsAllowed === 0 && (pdb.status.currentHealthy ?? 0) > 0;
  });
  await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
  await harness.fire(victim, 'NodeKernelDeadlock', deadlock);
  await eventually(
    'evictions refused by the PDB, retried',
    async () =>
      (await kube.core.readNode({ name: victim })).spec?.unschedulable === true &&
      evictionAttempts(namespace) >= 3,
    30_000,
  );
  const [heal] = await harness.healsFor(victim);
  expect(heal?.status).toBe('running');
  expect(await lockHolder(harness.redis, victim)).toBe(heal!.id);
  return { victim, namespace, heal: heal! };
}

/** The heal's record as stored (the exact JSON: any save by anyone changes it). */
async function storedRecord(healId: string): Promise<string | null> {
  return await harness.redis.get(keys.record(healId));
}

/** Waits for the worker's log to say `text`; returns the eviction count seen just after. */
async function stoppedSaying(text: string, namespace: string): Promise<number> {
  const worker = harness.workers[0]!;
  await eventually(`the worker to log "${text}"`, () => worker.output().includes(text), 30_000);
  // An eviction request already sent when the signal aborted may still land.
  await sleep(1000);
  return evictionAttempts(namespace);
}

/** Lets the drain through and waits for the heal to end; it must be the same heal, healed. */
async function unpinAndFinish(victim: string, namespace: string, healId: string) {
  await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });
  const done = await harness.finishedHeal(victim, 180_000);
  expect(done.id).toBe(healId);
  expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
  expect(done.transitions.filter((t) => t.kind === 'started')).toHaveLength(1);
  const events = await nodehealEvents(kube, victim);
  expect(events.filter((e) => e.reason === 'HealStarted')).toHaveLength(1);
  expect(events.filter((e) => e.reason === 'NodeReplaced')).toHaveLength(1);
}

describe('a heal that may have lost its node lock stops acting', () => {
  it('another heal takes the lock: the drain stops evicting, nothing more is saved, the heal resumes once the lock is free', async () => {
    const { victim, namespace, heal } = await drainHeldUp('lh');
    // Renewed every second for the whole drain so far, without a spurious stop.
    expect(await harness.workerMetric(LEASE_LOST, { reason: 'not-renewed' })).toBe(0);
    expect(await harness.workerMetric(LEASE_LOST, { reason: 'held-by-other' })).toBe(0);
    const before = await storedRecord(heal.id);
    expect(before).not.toBeNull();

    // The heal's lock goes (as when it lapses) and another heal takes the node.
    await releaseLock(harness.redis, victim, heal.id);
    expect(await takeLock(harness.redis, victim, 'heal-intruder', 600_000)).toBe(true);

    const evictions = await stoppedSaying(
      `heal ${heal.id} stops acting on ${victim}: its node lock is held by heal-intruder`,
      namespace,
    );
    await harness.workerMetricIs(LEASE_LOST, { reason: 'held-by-other' }, 1);
    await sleep(QUIET_MS);
    expect(evictionAttempts(namespace)).toBe(evictions);
    // Handed back: its job comes back, finds the lock taken and waits; nothing is saved, the
    // lock is left to its holder and the record still says the drain is acting.
    expect(await storedRecord(heal.id)).toBe(before);
    expect(await lockHolder(harness.redis, victim)).toBe('heal-intruder');
    const [still] = await harness.healsFor(victim);
    expect([still?.status, still?.stepState]).toEqual(['running', 'acting']);
    expect(await harness.workerMetric(LEASE_LOST, { reason: 'not-renewed' })).toBe(0);

    // The other heal lets go: the job resumes from the record and ends the heal, once.
    await releaseLock(harness.redis, victim, 'heal-intruder');
    await unpinAndFinish(victim, namespace, heal.id);
  });

  it("the worker's path to Redis black-holed mid-drain: evictions stop within the lease, and the heal resumes once the path is back", async () => {
    const { victim, namespace, heal } = await drainHeldUp('lc');
    const before = await storedRecord(heal.id);
    const atCut = evictionAttempts(namespace);

    forwarder.blackHole();
    try {
      const evictions = await stoppedSaying(
        `heal ${heal.id} stops acting on ${victim}: its node lock not renewed for`,
        namespace,
      );
      // What the watchdog is for: the drain needs no Redis and went on evicting in the cut.
      expect(evictions).toBeGreaterThan(atCut);
      await sleep(QUIET_MS);
      expect(evictionAttempts(namespace)).toBe(evictions);
      expect(await storedRecord(heal.id)).toBe(before);
    } finally {
      forwarder.restore();
    }
    await harness.workerMetricIs(LEASE_LOST, { reason: 'not-renewed' }, 1);
    await unpinAndFinish(victim, namespace, heal.id);
  });
});
