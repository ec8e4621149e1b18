// Workloads placed on simulated nodes: ReplicaSets behind PDBs, a DaemonSet, bare pods.
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { uniqueName, type KubeClients } from './kube.ts';
import { eventually } from './poll.ts';
import { createNodePool, poolLabel } from './pool.ts';

const image = 'registry.k8s.io/pause:3.10';

export async function createNamespace(kube: KubeClients, name: string): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name } } });
  // Pods are admitted only once the ServiceAccount controller has created `default`.
  await eventually(`ServiceAccount default in ${name}`, async () =>
    kube.core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(() => true),
  );
}

function podSpec(nodeSelector?: Record<string, string>): V1PodSpec {
  return {
    containers: [{ name: 'app', image }],
    terminationGracePeriodSeconds: 1,
    ...(nodeSelector ? { nodeSelector } : {}),
  };
}

export interface ReplicaSetOptions {
  namespace: string;
  name: string;
  replicas: number;
  nodeSelector?: Record<string, string>;
  /** PDB minAvailable; equal to replicas makes every voluntary eviction fail with 429. */
  minAvailable?: number;
  /** Spread the pods evenly over nodes (hard topology spread on the hostname, skew 1). */
  spread?: boolean;
}

export async function createReplicaSetWithPdb(
  kube: KubeClients,
  o: ReplicaSetOptions,
): Promise<void> {
  const labels = { app: o.name };
  await kube.apps.createNamespacedReplicaSet({
    namespace: o.namespace,
    body: {
      metadata: { name: o.name, labels },
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...podSpec(o.nodeSelector),
            ...(o.spread
              ? {
                  topologySpreadConstraints: [
                    {
                      maxSkew: 1,
                      topologyKey: 'kubernetes.io/hostname',
                      whenUnsatisfiable: 'DoNotSchedule',
                      labelSelector: { matchLabels: labels },
                    },
                  ],
                }
              : {}),
          },
        },
      },
    },
  });
  if (o.minAvailable !== undefined) {
    await kube.policy.createNamespacedPodDisruptionBudget({
      namespace: o.namespace,
      body: {
        metadata: { name: o.name },
        spec: { minAvailable: o.minAvailable, selector: { matchLabels: labels } },
      },
    });
  }
}

export async function createDaemonSet(
  kube: KubeClients,
  namespace: string,
  name: string,
  nodeSelector?: Record<string, string>,
): Promise<void> {
  const labels = { app: name };
  await kube.apps.createNamespacedDaemonSet({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: podSpec(nodeSelector) },
      },
    },
  });
}

/** A pod with no controller, bound straight to a node, optionally with an emptyDir volume. */
export async function createBarePod(
  kube: KubeClients,
  o: { namespace: string; name: string; node: string; emptyDir?: boolean },
): Promise<void> {
  const spec = podSpec();
  spec.nodeName = o.node;
  if (o.emptyDir) {
    spec.volumes = [{ name: 'scratch', emptyDir: {} }];
    spec.containers[0]!.volumeMounts = [{ name: 'scratch', mountPath: '/scratch' }];
  }
  await kube.core.createNamespacedPod({
    namespace: o.namespace,
    body: { metadata: { name: o.name, labels: { app: o.name } }, spec },
  });
}

export function isRunningAndReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}

/** Waits until `count` pods match the selector in the namespace and all run and are Ready. */
export async function waitPodsRunning(
  kube: KubeClients,
  namespace: string,
  labelSelector: string,
  count: number,
  timeoutMs = 60_000,
): Promise<V1Pod[]> {
  return await eventually(
    `${count} running pods ${labelSelector} in ${namespace}`,
    async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector })).items.filter(
        (p) => !p.metadata?.deletionTimestamp,
      );
      return pods.length === count && pods.every(isRunningAndReady) ? pods : false;
    },
    timeoutMs,
  );
}

/** Pods bound to a node, found with a field selector (never a cluster-wide list and filter). */
export async function podsOnNode(kube: KubeClients, node: string): Promise<V1Pod[]> {
  const list = await kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
  return list.items;
}

/**
 * A node pool named after `prefix`, a namespace, and a ReplicaSet `app` behind a PDB on the
 * pool, waited for until every pod runs: the set-up most heal tests start from.
 */
export async function poolWithWorkload(
  kube: KubeClients,
  prefix: string,
  o: { size: number; replicas: number; minAvailable: number; spread?: boolean },
): Promise<{ pool: string; nodes: string[]; namespace: string }> {
  const pool = uniqueName(prefix);
  const nodes = await createNodePool(kube, { name: pool, size: o.size });
  const namespace = uniqueName(prefix);
  await createNamespace(kube, namespace);
  await createReplicaSetWithPdb(kube, {
    namespace,
    name: 'app',
    replicas: o.replicas,
    minAvailable: o.minAvailable,
    spread: o.spread ?? false,
    nodeSelector: { [poolLabel]: pool },
  });
  await waitPodsRunning(kube, namespace, 'app=app', o.replicas);
  return { pool, nodes, namespace };
}
