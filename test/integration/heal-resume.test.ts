// A worker SIGKILLed mid-drain: another worker resumes from the heal record and the node is
// drained and replaced exactly once. nodeheal runs as its chart's ServiceAccount (what it may not
// do is tested in rbac-limits.test.ts).
import { nodehealEvents } from '../stack/helpers/events.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makePodsUnevictable, setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { poolLabel } from '../stack/helpers/pool.ts';
import { podsOnNode, poolWithWorkload } from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;

beforeAll(async () => {
  kube = adminClients(stack);
  const identity = await nodehealKubeconfig(kube, stack);
  harness = await startHarness({
    kubeconfig: identity.path,
    ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '120s' }] },
  });
});

afterAll(async () => {
  await harness?.stop();
});

describe('resuming after a worker dies', () => {
  it('a worker killed with SIGKILL mid-drain: another resumes; drained and replaced exactly once', async () => {
    const { pool, nodes, namespace } = await poolWithWorkload(kube, 'rs', {
      size: 3,
      replicas: 6,
      minAvailable: 1,
    });
    const counts = await Promise.all(nodes.map(async (n) => (await podsOnNode(kube, n)).length));
    const victim = nodes[counts.findIndex((c) => c > 0)]!;
    // Its pods cannot be evicted yet: the drain will wait on them.
    const pinned = await makePodsUnevictable(kube, victim);
    expect(pinned).toBeGreaterThan(0);
    await eventually('pin PDB in force', async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({
        name: `pin-${victim}`,
        namespace,
      });
      return pdb.status?.disruptionsAllowed === 0 && (pdb.status.currentHealthy ?? 0) > 0;
    });

    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness.fire(victim, 'NodeKernelDeadlock', {
      condition: 'KernelDeadlock',
      status: 'true',
    });
    // The first worker cordons and starts draining, then dies without any chance to clean up.
    await eventually(
      'the drain to be under way',
      async () => {
        const node = await kube.core.readNode({ name: victim });
        return node.spec?.unschedulable === true;
      },
      30_000,
    );
    // The HealStarted Event is written beside the heal, not before it acts: a worker killed
    // before writing it loses it, which is not this test's subject (a resume doubles nothing).
    await eventually(
      'the HealStarted Event',
      async () => (await nodehealEvents(kube, victim)).some((e) => e.reason === 'HealStarted'),
      30_000,
    );
    await sleep(1000);
    const first = harness.workers[0]!;
    await first.kill('SIGKILL');
    const [heal] = await harness.healsFor(victim);
    expect(heal?.status).toBe('running');

    await harness.startWorker();
    await sleep(3000);
    // The pods may go now.
    await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });

    const done = await harness.finishedHeal(victim, 120_000);
    expect(done.id).toBe(heal!.id);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
    expect(done.transitions.filter((t) => t.kind === 'started')).toHaveLength(1);

    const events = await nodehealEvents(kube, victim);
    const count = (reason: string) =>
      events.filter((e) => e.reason === reason).reduce((n, e) => n + (e.count ?? 1), 0);
    expect(count('NodeDrained')).toBe(1);
    expect(count('NodeReplaced')).toBe(1);
    expect(count('HealStarted')).toBe(1);
    // Exactly one replacement node was created for the pool.
    const poolNodes = (
      await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` })
    ).items.map((n) => n.metadata!.name!);
    expect(poolNodes).toHaveLength(3);
    expect(poolNodes.filter((n) => !nodes.includes(n))).toHaveLength(1);
    expect(poolNodes).not.toContain(victim);
  });

  it('a worker stopped with SIGTERM mid-drain hands its heal back at once; the next resumes it', async () => {
    const { nodes, namespace } = await poolWithWorkload(kube, 'tm', {
      size: 3,
      replicas: 3,
      minAvailable: 1,
      spread: true,
    });
    const victim = nodes[0]!;
    await makePodsUnevictable(kube, victim);
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    const worker = harness.workers[harness.workers.length - 1]!;
    await harness.fire(victim, 'NodeKernelDeadlock', {
      condition: 'KernelDeadlock',
      status: 'true',
    });
    await eventually(
      'the drain to be under way',
      async () => (await kube.core.readNode({ name: victim })).spec?.unschedulable === true,
      30_000,
    );
    await sleep(1000);
    const stopping = Date.now();
    await worker.kill('SIGTERM');
    expect(Date.now() - stopping).toBeLessThan(10_000);
    const [paused] = await harness.healsFor(victim);
    expect(paused?.status).toBe('running');
    // Nothing was recorded as failed by the shutdown.
    expect(paused?.transitions.map((t) => t.kind)).toEqual(['started']);

    await harness.startWorker();
    await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });
    const done = await harness.finishedHeal(victim, 120_000);
    expect(done.id).toBe(paused!.id);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
    expect(done.transitions.filter((t) => t.kind === 'started')).toHaveLength(1);
  });
});
