// The node `npm run bench:drain` drains (also used by `npm run bench:scale` inside a large
// cluster): a fresh KWOK node carrying `podCount` pods of ReplicaSets of 10 (every fourth with an
// emptyDir volume), optionally each behind a PDB of minAvailable replicas-1, all placed there
// while every other node is cordoned and Running before the drain starts.
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { mergePatch, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { createNamespace, isRunningAndReady, podsOnNode } from '../stack/helpers/workloads.ts';

export interface Scenario {
  name: string;
  pdb: boolean;
}

export const PODS_PER_REPLICA_SET = 10;
/** Node patches in flight at once: a cluster of 1,000 nodes must not meet the inflight limit. */
const PATCHES_IN_FLIGHT = 32;

export function drainScenarios(podCount: number): Scenario[] {
  return [
    { name: `${podCount} pods, no PDB`, pdb: false },
    { name: `${podCount} pods, PDB minAvailable n-1 per ReplicaSet`, pdb: true },
  ];
}

export async function setUnschedulable(
  kube: KubeClients,
  nodes: string[],
  value: boolean,
): Promise<void> {
  for (let i = 0; i < nodes.length; i += PATCHES_IN_FLIGHT) {
    await Promise.all(
      nodes
        .slice(i, i + PATCHES_IN_FLIGHT)
        .map((name) =>
          kube.core.patchNode({ name, body: { spec: { unschedulable: value } } }, mergePatch),
        ),
    );
  }
}

function replicaSet(name: string, replicas: number, emptyDir: boolean): V1ReplicaSet {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'app',
              image: 'registry.k8s.io/pause:3.10',
              ...(emptyDir ? { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] } : {}),
            },
          ],
          ...(emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
        },
      },
    },
  };
}

/**
 * A fresh node `<id>-0` with `podCount` ReplicaSet pods (and any DaemonSet's), every pod Running;
 * `others` (every other schedulable node) are cordoned meanwhile and opened again at the end.
 */
export async function prepareNode(
  kube: KubeClients,
  others: string[],
  id: string,
  scenario: Scenario,
  podCount: number,
): Promise<{ node: string; namespace: string }> {
  // The node first: in a large cluster KWOK works through one update per cordoned node, and a
  // node created behind that backlog took over a minute to turn Ready.
  const [node] = await createNodePool(kube, {
    name: id,
    size: 1,
    labels: { 'bench/role': 'target' },
  });
  await setUnschedulable(kube, others, true);
  const namespace = `${id}-ns`;
  await createNamespace(kube, namespace);
  const sets = Math.ceil(podCount / PODS_PER_REPLICA_SET);
  for (let i = 0; i < sets; i++) {
    const replicas = Math.min(PODS_PER_REPLICA_SET, podCount - i * PODS_PER_REPLICA_SET);
    const name = `rs-${i}`;
    await kube.apps.createNamespacedReplicaSet({
      namespace,
      body: replicaSet(name, replicas, i % 4 === 1),
    });
    if (scenario.pdb) {
      await kube.policy.createNamespacedPodDisruptionBudget({
        namespace,
        body: {
          metadata: { name },
          spec: { minAvailable: replicas - 1, selector: { matchLabels: { app: name } } },
        },
      });
    }
  }
  await eventually(
    `${podCount} pods Running on ${node}`,
    async () => {
      const pods = (await podsOnNode(kube, node!)).filter(
        (p) => p.metadata?.namespace === namespace && isRunningAndReady(p),
      );
      return pods.length === podCount;
    },
    180_000,
    500,
  );
  if (scenario.pdb) {
    // Every PDB has seen its pods (otherwise evictions get 429 for a budget not yet computed).
    await eventually(
      'PDBs computed',
      async () => {
        const list = await kube.policy.listNamespacedPodDisruptionBudget({ namespace });
        return list.items.every((p) => (p.status?.currentHealthy ?? 0) > 0);
      },
      60_000,
    );
  }
  await setUnschedulable(kube, others, false);
  return { node: node!, namespace };
}
