// A manual uncordon wins (issue 13, item 3): an engineer who runs `kubectl uncordon` on a node
// nodeheal cordoned has decided. The heal stops (its drain with it), ends `cancelled` saying
// who, leaves the node schedulable, and nodeheal does not cordon it again within the node
// cooldown (a new fault of the node is healed). And a fault that clears before any disruptive step undoes nodeheal's own cordon.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { makePodsUnevictable, setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { kubectl } from '../stack/helpers/kubectl.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, deleteNodePool, poolLabel } from '../stack/helpers/pool.ts';
import { podsOnNode, poolWithWorkload } from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { HARNESS_ADMIN_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
const windowPool = uniqueName('muw');
let kube: KubeClients;
let harness: Harness | undefined;

/** A one-minute maintenance window twelve hours from now: the drain waits on it for the test. */
function windowNotNow() {
  const at = new Date(Date.now() + 12 * 3_600_000);
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  return { start: hhmm(at), end: hhmm(new Date(at.getTime() + 60_000)), timeZone: 'UTC' };
}

beforeAll(async () => {
  kube = adminClients(stack);
  await createNodePool(kube, { name: windowPool, size: 3 });
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [
        { action: 'cordon', timeout: '30s' },
        { action: 'drain', timeout: '120s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_MAINTENANCE_WINDOWS: JSON.stringify([
        { selector: { [poolLabel]: windowPool }, ...windowNotNow() },
      ]),
      // The default node cooldown (30 minutes; the harness's own is 0): nodeheal keeps off a
      // node an operator uncordoned.
      NODEHEAL_SAFETY: JSON.stringify({ nodeCooldownMs: 1_800_000, stormCooldownMs: 3000 }),
      NODEHEAL_DEFER_MS: '1000',
    },
  });
});

afterAll(async () => {
  await harness?.stop();
  if (kube) await deleteNodePool(kube, windowPool);
});

async function livePods(node: string): Promise<number> {
  return (await podsOnNode(kube, node)).filter((p) => !p.metadata?.deletionTimestamp).length;
}

describe('a manual uncordon wins', () => {
  it('kubectl uncordon mid-drain ends the heal cancelled, saying who; the node stays schedulable and is not cordoned again', async () => {
    const { nodes, namespace } = await poolWithWorkload(kube, 'mu', {
      size: 3,
      replicas: 3,
      minAvailable: 1,
      spread: true,
    });
    const victim = nodes[0]!;
    const pinned = await makePodsUnevictable(kube, victim);
    expect(pinned).toBeGreaterThan(0);
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    const draining = await eventually('the drain under way', async () => {
      const [heal] = await harness!.healsFor(victim);
      const node = await kube.core.readNode({ name: victim });
      return heal?.stepIndex === 1 && heal.stepState === 'acting' && node.spec?.unschedulable
        ? heal
        : undefined;
    });
    await sleep(1000);

    const uncordonedAt = Date.now();
    kubectl(stack, ['uncordon', victim]);
    const done = await harness!.finishedHeal(victim, 30_000);
    const story = JSON.stringify(done.transitions.map((t) => `${t.kind}: ${t.detail}`));
    expect(done.id).toBe(draining.id);
    expect(done.status, story).toBe('cancelled');
    expect(done.endedAt! - uncordonedAt, story).toBeLessThan(10_000);
    expect(done.outcomeReason, story).toMatch(
      /^uncordoned by .+ while drain was acting: nodeheal takes that as an operator's decision/,
    );
    expect(done.cordonedByUs).toBe(false);
    const events = await nodehealEvents(kube, victim);
    const ended = events.filter((e) => e.reason === 'HealAbandoned');
    expect(ended.map((e) => e.type)).toEqual(['Normal']);
    expect(ended[0]?.message).toContain('uncordoned by');

    // The alert goes on firing: nodeheal does not cordon the node again (the node cooldown),
    // and the pinned pods stay where the operator left them.
    await harness!.fire(victim, 'NodeKernelDeadlock', deadlock);
    await sleep(6000);
    const node = await kube.core.readNode({ name: victim });
    expect(node.spec?.unschedulable ?? false).toBe(false);
    expect(await livePods(victim)).toBeGreaterThanOrEqual(pinned);
    const heals = await harness!.healsFor(victim);
    expect(heals.map((h) => h.status)).toEqual(['cancelled']);
    await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });

    // A new fault of the node is not the one the operator took over: it is healed as usual.
    await setNodeCondition(kube, victim, 'MemoryPressure', 'True', 'KubeletHasInsufficientMemory');
    await harness!.fire(victim, 'NodeMemoryPressure', {
      condition: 'MemoryPressure',
      status: 'true',
    });
    const second = await eventually('a heal of the new fault', async () => {
      const found = (await harness!.healsFor(victim)).find((h) => h.fault === 'memory-pressure');
      return found?.transitions.some((t) => t.kind === 'started') ? found : undefined;
    });
    const cancel = await fetch(`${harness!.serveUrl}/heals/${second.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${HARNESS_ADMIN_TOKEN}` },
    });
    expect(cancel.status).toBe(202);
    await setNodeCondition(kube, victim, 'MemoryPressure', 'False', 'KubeletHasSufficientMemory');
  }, 180_000);

  it('a fault that clears before any disruptive step undoes nodeheal’s cordon', async () => {
    const [, victim] = (
      await kube.core.listNode({ labelSelector: `${poolLabel}=${windowPool}` })
    ).items.map((n) => n.metadata!.name!);
    await setNodeCondition(kube, victim!, 'KernelDeadlock', 'True');
    await harness!.fire(victim!, 'NodeKernelDeadlock', deadlock);
    // Cordoned; the drain waits for the maintenance window.
    const held = await eventually('the drain held by the window', async () => {
      const [heal] = await harness!.healsFor(victim!);
      return heal?.gate === 'window' ? heal : undefined;
    });
    expect(held.cordonedByUs).toBe(true);
    expect((await kube.core.readNode({ name: victim! })).spec?.unschedulable).toBe(true);

    await setNodeCondition(kube, victim!, 'KernelDeadlock', 'False');
    const done = await harness!.finishedHeal(victim!, 60_000);
    expect(done.status).toBe('healed');
    const node = await kube.core.readNode({ name: victim! });
    expect(node.spec?.unschedulable ?? false).toBe(false);
    expect(node.metadata?.annotations?.['nodeheal.io/cordoned-by']).toBeUndefined();
  }, 120_000);
});
