// A NotReady node in a 5-node pool is replaced: cordoned, drained with its PDB honoured, a new
// node Ready in the pool, the old one gone, the heal record complete.
import { nodehealEvents } from '../stack/helpers/events.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setNodeCondition, stopHeartbeat } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { poolLabel, readyStatus, waitNodeReady } from '../stack/helpers/pool.ts';
import { podsOnNode, waitPodsRunning, poolWithWorkload } from '../stack/helpers/workloads.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';

const stack = inject('stack');
let kube: KubeClients;
let harness: Harness;

beforeAll(async () => {
  kube = adminClients(stack);
  harness = await startHarness({
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'node-not-ready': [
        { action: 'restart-kubelet', timeout: '5s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
  });
});

afterAll(async () => {
  await harness?.stop();
});

describe('heal by replacement', () => {
  it('replaces a NotReady node: cordon, drain with the PDB honoured, new node Ready, old node gone', async () => {
    const { pool, nodes, namespace } = await poolWithWorkload(kube, 'rp', {
      size: 5,
      replicas: 5,
      minAvailable: 4,
      spread: true,
    });
    const onNodes = await Promise.all(nodes.map(async (n) => (await podsOnNode(kube, n)).length));
    const victim = nodes[onNodes.findIndex((c) => c > 0)]!;

    await stopHeartbeat(kube, victim);
    await waitNodeReady(kube, victim, 'Unknown', 90_000);
    // The alert kube-state-metrics + Prometheus would send: Ready condition unknown.
    await harness.fire(victim, 'NodeUnreachable', { condition: 'Ready', status: 'unknown' });

    const heal = await harness.finishedHeal(victim, 150_000);
    expect(heal.status, JSON.stringify(heal.transitions, null, 1)).toBe('healed');
    const kinds = heal.transitions.map((t) => `${t.kind}:${t.action}`);
    expect(kinds).toContain('escalated:restart-kubelet'); // no agent on a dead node: escalate
    expect(heal.nodeGone).toBe(true);
    // The node was unreachable: its provider fenced it (the simulated machine switched off)
    // before the out-of-service taint let its pods go.
    expect(heal.fence).toMatchObject({ method: 'provider', by: 'kwok' });
    expect(heal.outOfServiceAt).toBeGreaterThanOrEqual(heal.fence!.at);

    // The old node is gone; a new node of the same pool is Ready.
    await eventually(
      'old node gone',
      async () =>
        (await kube.core.listNode({ fieldSelector: `metadata.name=${victim}` })).items.length === 0,
    );
    const poolNodes = (await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` })).items;
    expect(poolNodes).toHaveLength(5);
    const replacement = poolNodes.find((n) => !nodes.includes(n.metadata!.name!));
    expect(replacement).toBeDefined();
    expect(readyStatus(replacement!)).toBe('True');

    // Events with the constant reasons, on the old node.
    const reasons = (await nodehealEvents(kube, victim)).map((e) => e.reason);
    for (const reason of [
      'HealStarted',
      'Escalated',
      'NodeDrained',
      'NodeReplaced',
      'HealSucceeded',
    ])
      expect(reasons).toContain(reason);
    // The workload is whole again.
    await waitPodsRunning(kube, namespace, 'app=app', 5, 120_000);
  });
});

describe('heal by replacement with surge', () => {
  let surgeHarness: Harness;
  beforeAll(async () => {
    surgeHarness = await startHarness({
      kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
      ladders: { 'kernel-deadlock': [{ action: 'replace', timeout: '120s' }] },
      workerEnv: { NODEHEAL_SURGE: 'true' },
    });
  });
  afterAll(async () => surgeHarness?.stop());

  it('brings the replacement up before draining, so evicted pods land on it', async () => {
    const { pool, nodes, namespace } = await poolWithWorkload(kube, 'sg', {
      size: 3,
      replicas: 3,
      minAvailable: 2,
      spread: true,
    });
    const victim = nodes[0]!;
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await surgeHarness.fire(victim, 'NodeKernelDeadlock', {
      condition: 'KernelDeadlock',
      status: 'true',
    });
    const heal = await surgeHarness.finishedHeal(victim, 120_000);
    expect(heal.status, JSON.stringify(heal.transitions.map((t) => t.detail))).toBe('healed');
    const replaced = heal.transitions.find((t) => t.kind === 'step-done' && t.action === 'replace');
    expect(replaced?.detail).toMatch(/surge: .* was up before the drain/);
    // The evicted pod found the replacement already there.
    const replacement = (await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` })).items
      .map((n) => n.metadata!.name!)
      .find((n) => !nodes.includes(n))!;
    const pods = await waitPodsRunning(kube, namespace, 'app=app', 3, 60_000);
    expect(pods.filter((p) => p.spec?.nodeName === replacement)).toHaveLength(1);
  });
});
