// No slot held by a ghost (issue 13 item 5): a heal that stops running gives back what it holds
// within a bounded time. (1) Its node deleted outside nodeheal while a PodDisruptionBudget holds
// the drain: the drain stops, the heal ends `cancelled` within seconds, its budget slot and node
// lock are released, and another node of the pool heals with a budget of 1. (2) Its worker
// SIGKILLed mid-drain and no worker resuming it: the node lock expires by its TTL
// (NODEHEAL_NODE_LOCK_TTL_MS, 5 s here), the slot is released once silent for 3 lock lifetimes,
// and another node's heal takes it. Budget and lock are read from Redis as stored.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockHolder, readBudget } from '../../src/store/index.ts';
import { makePodsUnevictable, setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { poolWithWorkload } from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;

const LOCK_TTL_MS = 5000;
/** GHOST_SLOT_LOCK_LIFETIMES lock lifetimes. */
const GHOST_AFTER_MS = 3 * LOCK_TTL_MS;

beforeAll(async () => {
  kube = adminClients(stack);
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [
        { action: 'drain', timeout: '300s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_SAFETY: JSON.stringify({
        poolBudget: 1,
        clusterBudget: 1,
        nodeCooldownMs: 0,
        stormThreshold: 0.9,
      }),
      NODEHEAL_NODE_LOCK_TTL_MS: String(LOCK_TTL_MS),
      // Stalled jobs are looked for every 10 min only: a heal whose worker is killed is not handed
      // out again during the test, so it stays a ghost (as when its job is lost). A heal that is
      // resumed is heal-resume.test.ts's business.
      NODEHEAL_WORKER_STALLED_MS: '600000',
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

async function inFlight(): Promise<string[]> {
  return ((await readBudget(harness.redis))?.inFlight ?? []).map((s) => s.healId);
}

/** A pool of 3 with a workload; the first node's pods pinned by a PDB, its heal draining. */
async function drainingHeal(prefix: string) {
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
  await harness.fire(victim, 'NodeKernelDeadlock', { condition: 'KernelDeadlock', status: 'true' });
  await eventually(
    'the drain to be under way',
    async () => (await kube.core.readNode({ name: victim })).spec?.unschedulable === true,
    30_000,
  );
  const heal = await eventually('the heal to hold its slot and the node lock', async () => {
    const [h] = await harness.healsFor(victim);
    if (h?.status !== 'running') return undefined;
    const held = (await inFlight()).includes(h.id) && (await lockHolder(harness.redis, victim));
    return held === h.id ? h : undefined;
  });
  // Evictions are being refused (429) now.
  await sleep(1500);
  return { nodes, victim, heal };
}

async function healOther(node: string) {
  await setNodeCondition(kube, node, 'KernelDeadlock', 'True');
  await harness.fire(node, 'NodeKernelDeadlock', { condition: 'KernelDeadlock', status: 'true' });
  const done = await harness.finishedHeal(node, 120_000);
  expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
  expect(done.transitions.filter((t) => t.kind === 'started')).toHaveLength(1);
  return done;
}

describe('nothing held by a ghost', () => {
  it('a node deleted mid-drain: the heal ends at once, its slot and lock go, the next node heals', async () => {
    const { nodes, victim, heal } = await drainingHeal('gd');

    const deletedAt = Date.now();
    await kube.core.deleteNode({ name: victim });
    const done = await harness.finishedHeal(victim, 60_000);
    const tookMs = Date.now() - deletedAt;
    expect(done.id).toBe(heal.id);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('cancelled');
    expect(done.outcomeReason).toContain('deleted outside this heal');
    expect(done.outcomeReason).toContain('drain');
    // Promptly: not when the pod garbage collector removes the pinned pods (about a minute), nor
    // at the drain's timeout.
    expect(tookMs).toBeLessThan(15_000);
    await eventually(
      'the slot and the node lock released',
      async () =>
        !(await inFlight()).includes(heal.id) &&
        (await lockHolder(harness.redis, victim)) === undefined
          ? true
          : undefined,
      10_000,
    );

    // Budget 1: another node of the pool may heal now.
    const other = await healOther(nodes[1]!);
    expect(await inFlight()).not.toContain(other.id);
  });

  it('a worker SIGKILLed mid-drain, none resuming: lock and slot expire, another node takes the slot', async () => {
    const { nodes, victim, heal } = await drainingHeal('gk');

    for (const w of harness.workers.filter((x) => !x.killedByTest())) await w.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await harness.healsFor(victim))[0]?.status).toBe('running');

    // The node lock by its TTL.
    await eventually(
      'the node lock to expire',
      async () => ((await lockHolder(harness.redis, victim)) === undefined ? true : undefined),
      LOCK_TTL_MS + 5000,
      200,
    );
    expect(Date.now() - killedAt).toBeLessThan(LOCK_TTL_MS + 2000);
    // Nobody runs to release the slot yet.
    expect(await inFlight()).toContain(heal.id);

    // Silent past the bound; then a worker starts and another node of the pool falls due.
    await sleep(Math.max(0, killedAt + GHOST_AFTER_MS + 2000 - Date.now()));
    const fresh = await harness.startWorker();
    const other = await healOther(nodes[1]!);
    expect(await inFlight()).not.toContain(heal.id);
    // Said in its log; the line may still be in the pipe when the heal above is read as done.
    const released = `budget slot of heal ${heal.id} on ${victim} released`;
    await eventually(
      `the fresh worker to log "${released}"`,
      () => fresh.output().includes(released),
      10_000,
    );
    // The ghost's heal itself was not resumed: its slot went back because it went silent.
    expect((await harness.healsFor(victim))[0]?.status).toBe('running');
    expect(other.id).not.toBe(heal.id);
  });
});
