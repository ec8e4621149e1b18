// `approval: outage` against the real stack: a Ready node carrying the only replica of a
// Deployment waits for an operator before its drain (status awaiting-approval, gate approval,
// Event, gauge), goes on once approved through the admin API, ends `cancelled` (nodeheal's cordon
// undone) when rejected with a node annotation, and a NotReady node with the same workload is
// healed without waiting. The fault's setting (remedies.yaml) and the pool's (NODEHEAL_APPROVAL)
// are both used. What the test expects is read from the API, never worked out with nodeheal's code.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import type { HealDetail } from '../../src/status/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition, stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { kubectl } from '../stack/helpers/kubectl.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, poolLabel, waitNodeReady } from '../stack/helpers/pool.ts';
import { createNamespace, podsOnNode, waitPodsRunning } from '../stack/helpers/workloads.ts';
import { sleep } from '../stack/wait.ts';
import { HARNESS_ADMIN_TOKEN, startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
/** Pools with this label ask first (NODEHEAL_APPROVAL); kernel-deadlock asks in any pool. */
const ASKING_POOL_LABEL = 'nodeheal.test/approval';
let kube: KubeClients;
let harness: Harness;

beforeAll(async () => {
  kube = adminClients(stack);
  const identity = await nodehealKubeconfig(kube, stack);
  const ladder = [
    { action: 'cordon', timeout: '30s' },
    { action: 'drain', timeout: '120s' },
    { action: 'replace', timeout: '120s' },
  ];
  harness = await startHarness({
    kubeconfig: identity.path,
    ladders: { 'kernel-deadlock': ladder, 'readonly-filesystem': ladder },
    faultSettings: { 'kernel-deadlock': { approval: 'outage' } },
    workerEnv: {
      NODEHEAL_APPROVAL: JSON.stringify([
        { selector: { [ASKING_POOL_LABEL]: 'ask' }, approval: 'outage' },
      ]),
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

const image = 'registry.k8s.io/pause:3.10';

/** A pool and a one-replica Deployment on it; returns the node its pod runs on. */
async function soloOnPool(
  prefix: string,
  labels: Record<string, string> = {},
): Promise<{ node: string; namespace: string; pod: string }> {
  const pool = uniqueName(prefix);
  await createNodePool(kube, { name: pool, size: 2, labels });
  const namespace = uniqueName(prefix);
  await createNamespace(kube, namespace);
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'solo' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'solo' } },
        template: {
          metadata: { labels: { app: 'solo' } },
          spec: {
            containers: [{ name: 'app', image }],
            terminationGracePeriodSeconds: 1,
            nodeSelector: { [poolLabel]: pool },
          },
        },
      },
    },
  });
  await waitPodsRunning(kube, namespace, 'app=solo', 1);
  const [pod] = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=solo' })).items;
  return { node: pod!.spec!.nodeName!, namespace, pod: `${namespace}/${pod!.metadata!.name!}` };
}

/** The running heal of `node` once its step waits for approval. */
async function awaitingApproval(node: string): Promise<HealRecord> {
  return await eventually(
    `a heal of ${node} waiting for approval`,
    async () => (await harness.healsFor(node)).find((h) => h.gate === 'approval'),
    60_000,
  );
}

const statusOf = async (id: string) => {
  const res = await fetch(`${harness.serveUrl}/heals/${id}`, {
    headers: { Accept: 'application/json' },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as HealDetail;
};

const admin = (path: string, body: unknown) =>
  fetch(`${harness.serveUrl}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${HARNESS_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('approval: outage', () => {
  it('a Ready node with a single replica waits, shows why, and goes on once approved', async () => {
    const { node, pod } = await soloOnPool('appr-yes');
    await setNodeCondition(kube, node, 'KernelDeadlock', 'True');
    await harness.fire(node, 'NodeKernelDeadlock', { condition: 'KernelDeadlock', status: 'true' });

    const waiting = await awaitingApproval(node);
    // The cost on the record is the pod this test put there: one replica of Deployment/solo.
    const evicted = waiting.cost?.pods.filter((p) => p.kind !== 'daemonset');
    expect(evicted).toEqual([
      {
        pod,
        kind: 'single-replica',
        owner: 'Deployment/solo',
        replicas: 1,
        localData: [],
        pdbs: [],
      },
    ]);
    const held = waiting.transitions.findLast((t) => t.kind === 'held');
    expect(held?.detail).toBe(
      'drain of a Ready node waits for approval: no Ready replica left of Deployment/solo',
    );
    expect(waiting.ladder[waiting.stepIndex]?.action).toBe('drain');
    expect((await statusOf(waiting.id)).status).toBe('awaiting-approval');
    // The gauge is read from Redis when scraped; a scrape slower than the worker's 2 s refresh
    // bound shows the last value: wait for the held heal to show.
    await harness.workerMetricIs('nodeheal_heals_awaiting_approval', { node }, 1);
    const asked = await eventually('the HealAwaitingApproval Event', async () =>
      (await nodehealEvents(kube, node)).find((e) => e.reason === 'HealAwaitingApproval'),
    );
    expect(asked.type).toBe('Warning');
    expect(asked.message).toContain(`nodeheal.io/approve=${waiting.id}`);

    // Nothing is evicted while it waits (the cordon before it is no disruption).
    await sleep(3000);
    expect(
      (await podsOnNode(kube, node)).map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`),
    ).toContain(pod);
    expect((await harness.healsFor(node))[0]?.gate).toBe('approval');

    const res = await admin(`/heals/${waiting.id}/approve`, { by: 'ana', reason: 'solo can go' });
    expect(res.status).toBe(202);
    const done = await harness.finishedHeal(node, 120_000);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
    expect(done.transitions.some((t) => t.kind === 'step-done' && t.action === 'drain')).toBe(true);
    expect((await statusOf(done.id)).approval).toMatchObject({
      decision: 'approved',
      by: 'admin-api (ana)',
      reason: 'solo can go',
    });
    const approved = await eventually('the HealApproved Event', async () =>
      (await nodehealEvents(kube, node)).find((e) => e.reason === 'HealApproved'),
    );
    expect(approved.message).toContain('approved by admin-api (ana): solo can go');
    await harness.workerMetricIs('nodeheal_heals_awaiting_approval', { node }, 0);
  });

  it('a rejection on the node ends the heal cancelled and undoes its cordon (pool setting)', async () => {
    const { node, pod } = await soloOnPool('appr-no', { [ASKING_POOL_LABEL]: 'ask' });
    await harness.fire(node, 'NodeReadonlyFilesystem');
    const waiting = await awaitingApproval(node);
    expect(waiting.fault).toBe('readonly-filesystem');
    expect(waiting.cordonedByUs).toBe(true);
    expect((await kube.core.readNode({ name: node })).spec?.unschedulable).toBe(true);

    kubectl(stack, [
      'annotate',
      'node',
      node,
      `nodeheal.io/reject=${waiting.id}`,
      '--field-manager=ops-oncall',
    ]);
    const done = await harness.finishedHeal(node, 60_000);
    expect(done.status).toBe('cancelled');
    expect(done.outcomeReason).toContain(
      'approval rejected by annotation nodeheal.io/reject (by ops-oncall)',
    );
    await eventually('the node uncordoned', async () =>
      (await kube.core.readNode({ name: node })).spec?.unschedulable ? undefined : true,
    );
    // Its workload never moved.
    expect(
      (await podsOnNode(kube, node)).map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`),
    ).toContain(pod);
    expect((await statusOf(done.id)).approval).toMatchObject({
      decision: 'rejected',
      by: 'annotation nodeheal.io/reject (by ops-oncall)',
    });
  });

  it('a NotReady node with the same workload is healed without waiting', async () => {
    const { node } = await soloOnPool('appr-down');
    await stopHeartbeat(kube, node);
    await waitNodeReady(kube, node, 'Unknown', 90_000);
    await harness.fire(node, 'NodeKernelDeadlock', { condition: 'KernelDeadlock', status: 'true' });
    // How the drain of an unreachable node goes on (fence, skipped pods) is another test's
    // subject: here, that it began without a hold.
    const heal = await eventually(
      `the drain of ${node} under way`,
      async () =>
        (await harness.healsFor(node)).find((h) =>
          h.transitions.some((t) => t.action === 'drain' && t.kind === 'acting'),
        ),
      90_000,
    );
    const details = JSON.stringify(heal.transitions.map((t) => `${t.kind}: ${t.detail}`));
    expect(
      heal.transitions.some((t) => t.kind === 'held'),
      details,
    ).toBe(false);
    expect(await harness.workerMetric('nodeheal_heals_awaiting_approval', { node })).toBe(0);
    // The same workload, the same cost: it would have waited, had the node been Ready.
    expect(
      heal.cost?.pods.some((p) => p.kind === 'single-replica'),
      details,
    ).toBe(true);
  });
});
