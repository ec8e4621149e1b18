// The dry-run twins read the real cluster and record what they would do; nothing changes: every
// object keeps every field nodeheal could write and no Event is written.
import type { KubeConfig } from '@kubernetes/client-node';
import { nodeView, podView } from '../stack/helpers/views.ts';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_DRAIN_OPTIONS, KubeDrainer } from '../../src/actions/drain.ts';
import {
  DryRunDrainer,
  DryRunNodeOps,
  DryRunProvider,
  DryRunRecorder,
} from '../../src/actions/dry-run.ts';
import { KubeNodeOps } from '../../src/actions/kube-node-ops.ts';
import { createProviders } from '../../src/providers/select-provider.ts';
import { adminClients, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool, poolLabel } from '../stack/helpers/pool.ts';
import {
  createBarePod,
  createNamespace,
  createReplicaSetWithPdb,
  podsOnNode,
  waitPodsRunning,
} from '../stack/helpers/workloads.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
let kube: KubeClients;

/** nodeheal's own identity (the chart's ClusterRole): what nodeheal's code runs with. */
let asNodeheal: KubeConfig;

beforeAll(async () => {
  kube = adminClients(stack);
  asNodeheal = (await nodehealKubeconfig(kube, stack)).kc;
});

/** What nodeheal could change on the node and its pods, and the nodeheal Events about it. */
async function snapshot(node: string) {
  const n = await kube.core.readNode({ name: node });
  const pods = (await podsOnNode(kube, node)).map(podView).sort();
  const events = await kube.core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.name=${node}`,
  });
  return {
    node: nodeView(n),
    pods,
    events: events.items.filter((e) => e.source?.component === 'nodeheal').length,
  };
}

describe('dry-run twins', () => {
  it('DryRunNodeOps answers like the real thing and mutates nothing', async () => {
    const [node] = await createNodePool(kube, { name: uniqueName('dry'), size: 1 });
    const recorder = new DryRunRecorder();
    const ops = new DryRunNodeOps(new KubeNodeOps(asNodeheal), recorder);
    const before = await snapshot(node!);

    expect((await ops.get(node!))?.metadata?.name).toBe(node);
    expect(await ops.cordon(node!)).toBe('cordoned');
    expect(await ops.uncordon(node!)).toBe('not-ours');
    await ops.annotateHeal(node!, 'heal-9 cordon');
    await ops.event(node!, 'HealStarted', 'would start', 'Normal');
    expect(await ops.cordon(uniqueName('absent'))).toBe('absent');

    expect(await snapshot(node!)).toEqual(before);
    expect(recorder.calls.map((c) => [c.op, c.result])).toEqual([
      ['cordon', 'cordoned'],
      ['uncordon', 'not-ours'],
      ['annotate-heal', undefined],
      ['event', undefined],
      ['cordon', 'absent'],
    ]);
    expect(recorder.calls[3]?.detail).toEqual({
      reason: 'HealStarted',
      message: 'would start',
      type: 'Normal',
    });
  });

  it('DryRunDrainer plans from the real pods (blocked or what it would evict) and evicts nothing', async () => {
    const pool = uniqueName('drydrain');
    const [node] = await createNodePool(kube, { name: pool, size: 1 });
    const namespace = uniqueName('drydrain-ns');
    await createNamespace(kube, namespace);
    await createReplicaSetWithPdb(kube, {
      namespace,
      name: 'web',
      replicas: 2,
      minAvailable: 1,
      nodeSelector: { [poolLabel]: pool },
    });
    await waitPodsRunning(kube, namespace, 'app=web', 2);
    await createBarePod(kube, { namespace, name: 'bare', node: node! });
    await waitPodsRunning(kube, namespace, 'app=bare', 1);
    const before = await snapshot(node!);
    const recorder = new DryRunRecorder();
    const drainer = new DryRunDrainer(new KubeDrainer(asNodeheal), recorder);

    const blocked = await drainer.drain(node!, { ...DEFAULT_DRAIN_OPTIONS, unmanaged: 'block' });
    expect(blocked).toMatchObject({ outcome: 'blocked', pods: [`${namespace}/bare`] });
    const planned = await drainer.drain(node!, { ...DEFAULT_DRAIN_OPTIONS, unmanaged: 'evict' });
    expect(planned).toMatchObject({ outcome: 'drained', evicted: 3, skipped: 0 });

    expect(await snapshot(node!)).toEqual(before);
    expect(recorder.calls).toHaveLength(2);
    expect((recorder.calls[1]?.detail.evict as string[]).sort()).toEqual(
      before.pods.map((p) => p.split('/').slice(0, 2).join('/')).sort(),
    );
  });

  it('DryRunProvider records the replacement and deletes or creates nothing', async () => {
    const pool = uniqueName('dryrep');
    const [node] = await createNodePool(kube, { name: pool, size: 1 });
    const recorder = new DryRunRecorder();
    const real = createProviders(asNodeheal);
    const target = await kube.core.readNode({ name: node! });
    for (const provider of Object.values(real)) {
      const dry = new DryRunProvider(provider, recorder);
      expect([dry.name, dry.canSurge]).toEqual([provider.name, provider.canSurge]);
      expect(await dry.replace(target)).toMatchObject({ outcome: 'replaced' });
    }
    const after = await kube.core.readNode({ name: node! });
    expect(nodeView(after)).toEqual(nodeView(target));
    const poolNodes = await kube.core.listNode({ labelSelector: `${poolLabel}=${pool}` });
    expect(poolNodes.items.map((n) => n.metadata?.name)).toEqual([node]);
    expect(recorder.calls.map((c) => c.detail.provider)).toEqual(Object.keys(real));
  });
});
