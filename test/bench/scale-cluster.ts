// A large simulated cluster for `npm run bench:scale`: pools of KWOK nodes (250 per pool, one
// /24 of InternalIPs each) and bare pods bound straight to them (spec.nodeName set at create, so
// the scheduler is not what is measured; KWOK's stage then marks each Running). Grows in steps,
// so the same run can measure nodeheal at two sizes, and times each step from the first create
// to every node Ready (and schedulable) and every pod Running.
import type { V1Node } from '@kubernetes/client-node';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool, readyStatus } from '../stack/helpers/pool.ts';
import { createNamespace } from '../stack/helpers/workloads.ts';

/** Label on every node and pod of the bulk cluster (not on the benchmark's heal targets). */
export const BULK_LABEL = 'nodeheal.test/scale';
const NODES_PER_POOL = 250;
/** Creates in flight at once: enough to keep two cores busy, below the apiserver's 200 mutating. */
const CREATES_IN_FLIGHT = 64;
/** Pods of one namespace: namespaces of about a hundred nodes' worth, as tenants would have. */
const PODS_PER_NAMESPACE = 3000;

export interface GrowthStep {
  nodes: number;
  pods: number;
  nodesSeconds: number;
  podsSeconds: number;
}

export interface ScaleCluster {
  nodes: string[];
  pods: number;
  /** Adds nodes and pods until the cluster has `nodes` nodes and `pods` pods; times the step. */
  growTo(nodes: number, pods: number): Promise<GrowthStep>;
}

async function inBatches<T>(items: T[], each: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await each(items[next++] as T);
  };
  await Promise.all(Array.from({ length: CREATES_IN_FLIGHT }, lane));
}

function schedulable(node: V1Node): boolean {
  return (
    readyStatus(node) === 'True' &&
    !node.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready')
  );
}

/**
 * True once no bulk pod is anything but Running: a list that stops at the first match (limit 1),
 * served from the apiserver's watch cache, instead of 30,000 pods listed every second.
 */
async function allRunning(kube: KubeClients): Promise<boolean> {
  const list = await kube.core.listPodForAllNamespaces({
    labelSelector: `${BULK_LABEL}=bulk`,
    fieldSelector: 'status.phase!=Running',
    limit: 1,
  });
  return list.items.length === 0;
}

export function startScaleCluster(kube: KubeClients): ScaleCluster {
  const nodes: string[] = [];
  let pods = 0;
  let pools = 0;
  const namespaces = new Set<string>();

  const addNodes = async (count: number) => {
    while (count > 0) {
      const size = Math.min(NODES_PER_POOL, count);
      const name = `scale${pools++}`;
      const created = await createNodePool(kube, {
        name,
        size,
        labels: { [BULK_LABEL]: 'bulk' },
        waitReady: false,
      });
      nodes.push(...created);
      count -= size;
    }
  };

  const addPods = async (count: number) => {
    const specs = Array.from({ length: count }, (_, k) => {
      const i = pods + k;
      return {
        i,
        node: nodes[i % nodes.length]!,
        namespace: `scale-${Math.floor(i / PODS_PER_NAMESPACE)}`,
      };
    });
    for (const ns of new Set(specs.map((s) => s.namespace))) {
      if (namespaces.has(ns)) continue;
      await createNamespace(kube, ns);
      namespaces.add(ns);
    }
    await inBatches(specs, (s) =>
      kube.core.createNamespacedPod({
        namespace: s.namespace,
        body: {
          metadata: { name: `p-${s.i}`, labels: { [BULK_LABEL]: 'bulk', app: `a-${s.i % 50}` } },
          spec: {
            nodeName: s.node,
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
          },
        },
      }),
    );
    pods += count;
  };

  return {
    nodes,
    get pods() {
      return pods;
    },
    async growTo(targetNodes, targetPods) {
      const started = performance.now();
      await addNodes(targetNodes - nodes.length);
      await eventually(
        `${targetNodes} bulk nodes Ready`,
        async () => {
          const list = await kube.core.listNode({ labelSelector: `${BULK_LABEL}=bulk` });
          return list.items.filter(schedulable).length === targetNodes;
        },
        600_000,
        1000,
      );
      const nodesSeconds = (performance.now() - started) / 1000;
      const podsStarted = performance.now();
      await addPods(targetPods - pods);
      await eventually(`${targetPods} bulk pods Running`, () => allRunning(kube), 1_800_000, 500);
      return {
        nodes: targetNodes,
        pods: targetPods,
        nodesSeconds,
        podsSeconds: (performance.now() - podsStarted) / 1000,
      };
    },
  };
}
