// Operators' controls obeyed by a running heal, with a real worker mid-drain (a PDB holds the
// drain up): a cancel stops the evictions within a second, ends the heal `cancelled` and undoes
// nodeheal's cordon; a pause lets the drain finish but starts no replace until resume.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { makePodsUnevictable, setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { podsOnNode, poolWithWorkload } from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { HARNESS_ADMIN_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';

const stack = inject('stack');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
let kube: KubeClients;
let harness: Harness;

beforeAll(async () => {
  kube = adminClients(stack);
  const identity = await nodehealKubeconfig(kube, stack);
  harness = await startHarness({
    kubeconfig: identity.path,
    ladders: {
      'kernel-deadlock': [
        { action: 'drain', timeout: '120s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

async function admin(path: string): Promise<Response> {
  return await fetch(`${harness.serveUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${HARNESS_ADMIN_TOKEN}` },
  });
}

/**
 * When nodeheal asked the apiserver to evict a pod of `namespace`: the audit log has every such
 * request of nodeheal's ServiceAccount (refused by a PDB or not), with the time it was received.
 */
function evictionAttempts(namespace: string): number[] {
  const log = stack.auditLog;
  if (!log) throw new Error('the stack keeps no audit log');
  const times: number[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('"eviction"')) continue;
    const event = JSON.parse(line) as {
      verb?: string;
      requestReceivedTimestamp?: string;
      objectRef?: { subresource?: string; namespace?: string };
    };
    if (event.objectRef?.subresource !== 'eviction' || event.verb !== 'create') continue;
    if (event.objectRef.namespace !== namespace || !event.requestReceivedTimestamp) continue;
    // RFC 3339 with microseconds: milliseconds are enough.
    times.push(Date.parse(event.requestReceivedTimestamp.replace(/(\.\d{3})\d*/, '$1')));
  }
  return times;
}

/** A pool with a workload, the victim's pods pinned by a PDB (the drain waits on them), and its fault fired. */
async function drainHeldUp(prefix: string) {
  const { nodes, namespace } = await poolWithWorkload(kube, prefix, {
    size: 3,
    replicas: 3,
    minAvailable: 1,
    spread: true,
  });
  const victim = nodes[0]!;
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
  await harness.fire(victim, 'NodeKernelDeadlock', deadlock);
  // The drain is under way: cordoned, and its evictions refused again and again by the PDB.
  await eventually(
    'evictions refused by the PDB, retried',
    async () =>
      (await kube.core.readNode({ name: victim })).spec?.unschedulable === true &&
      evictionAttempts(namespace).length >= 3,
    30_000,
  );
  const [heal] = await harness.healsFor(victim);
  expect(heal?.status).toBe('running');
  return { victim, namespace, pinned, heal: heal! };
}

describe('cancel', () => {
  it('a cancel mid-drain stops evicting within a second, uncordons, and ends the heal cancelled', async () => {
    const { victim, namespace, pinned, heal } = await drainHeldUp('cx');
    const cancelAt = Date.now();
    const res = await admin(`/heals/${heal.id}/cancel`);
    expect(res.status).toBe(202);

    const done = await harness.finishedHeal(victim, 30_000);
    expect(done.id).toBe(heal.id);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('cancelled');
    expect(done.outcomeReason).toMatch(
      /^cancelled by admin-api: cancel requested while drain was acting; nodeheal uncordons the node/,
    );
    expect(done.cordonedByUs).toBe(true);
    expect(done.endedAt! - cancelAt).toBeLessThan(3000);
    expect(done.transitions.map((t) => t.kind)).toEqual(['started', 'cancelled']);

    // Longer than the drainer's longest retry delay (3 s): any eviction still going would show.
    await sleep(5000);
    const attempts = evictionAttempts(namespace);
    expect(attempts.filter((t) => t < cancelAt).length).toBeGreaterThanOrEqual(3);
    expect(attempts.filter((t) => t > cancelAt + 1000)).toEqual([]);
    // The pinned pods are still on the node: nothing was evicted.
    const left = (await podsOnNode(kube, victim)).filter((p) => !p.metadata?.deletionTimestamp);
    expect(left.length).toBeGreaterThanOrEqual(pinned);

    // nodeheal's cordon is undone, and its marks are gone.
    const node = await kube.core.readNode({ name: victim });
    expect(node.spec?.unschedulable ?? false).toBe(false);
    expect(node.metadata?.annotations?.['nodeheal.io/cordoned-by']).toBeUndefined();
    expect(node.metadata?.annotations?.['nodeheal.io/heal']).toBeUndefined();

    const events = await nodehealEvents(kube, victim);
    const ended = events.filter((e) => e.reason === 'HealAbandoned');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.type).toBe('Normal');
    expect(ended[0]?.message).toContain('cancelled by admin-api');
    expect(ended[0]?.message).toContain('nodeheal uncordons the node');
    expect(events.map((e) => e.reason)).not.toContain('NodeDrained');

    const api = (await (await fetch(`${harness.serveUrl}/heals/${heal.id}`)).json()) as {
      status: string;
      cancelRequestedBy: string | null;
    };
    expect(api.status).toBe('cancelled');
    await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });
  });
});

describe('pause', () => {
  it('a pause mid-drain lets the drain finish and holds replace until resume', async () => {
    const { victim, namespace, heal } = await drainHeldUp('px');
    let resumed = false;
    try {
      expect((await admin('/admin/pause')).status).toBe(200);
      await sleep(1000);
      // The pods may go now: the drain in flight finishes although nodeheal is paused.
      await kube.policy.deleteNamespacedPodDisruptionBudget({ name: `pin-${victim}`, namespace });
      const held = await eventually(
        'the drain done and replace held by the pause',
        async () => {
          const record = await harness.store.get(heal.id);
          return record?.gate === 'paused' ? record : undefined;
        },
        60_000,
      );
      expect(held.status).toBe('running');
      expect(held.stepIndex).toBe(1);
      expect(held.stepState).toBe('pending');
      expect(held.transitions.map((t) => t.kind)).toEqual([
        'started',
        'step-done',
        'acting',
        'held',
      ]);
      expect((await nodehealEvents(kube, victim)).map((e) => e.reason)).toContain('NodeDrained');

      // The status API shows the heal waiting on the pause.
      const api = (await (await fetch(`${harness.serveUrl}/heals/${heal.id}`)).json()) as {
        status: string;
        gate: string | null;
        stepState: string;
        blocked: { gate: string } | null;
      };
      expect(api).toMatchObject({ status: 'running', gate: 'paused', stepState: 'pending' });
      expect(api.blocked?.gate).toBe('paused');

      // Nothing more happens while paused: no replace, the node is still there.
      await sleep(4000);
      const still = await harness.store.get(heal.id);
      expect(still?.transitions.map((t) => t.kind)).toEqual(held.transitions.map((t) => t.kind));
      expect(await kube.core.readNode({ name: victim })).toBeDefined();
      expect((await nodehealEvents(kube, victim)).map((e) => e.reason)).not.toContain(
        'NodeReplaced',
      );

      const resumeAt = Date.now();
      expect((await admin('/admin/resume')).status).toBe(200);
      resumed = true;
      const done = await harness.finishedHeal(victim, 120_000);
      expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
      expect(done.gate).toBeNull();
      // The first `acting` of replace was held back by the pause; the last one is after resume.
      const replaceActed = done.transitions.findLast((t) => t.kind === 'acting' && t.step === 1);
      expect(replaceActed?.at).toBeGreaterThanOrEqual(resumeAt);
      // The pause is looked at every 250 ms while a step is held: replace goes on at once.
      expect(replaceActed!.at - resumeAt).toBeLessThan(2000);
      expect(done.transitions.filter((t) => t.kind === 'started')).toHaveLength(1);
      const events = await nodehealEvents(kube, victim);
      expect(events.filter((e) => e.reason === 'NodeReplaced')).toHaveLength(1);
    } finally {
      if (!resumed) await admin('/admin/resume');
    }
  });
});
