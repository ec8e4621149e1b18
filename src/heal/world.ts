// What the runner reads of the world before and between steps: pool membership and health,
// whether the fault is still there. Pure helpers over Kubernetes objects.
import type { V1Node } from '@kubernetes/client-node';

/** Labels that name a node pool, first match wins (Karpenter, Cluster API, EKS, GKE, AKS, ours). */
export const DEFAULT_POOL_LABELS = [
  'nodeheal.io/pool',
  'karpenter.sh/nodepool',
  'cluster.x-k8s.io/deployment-name',
  'eks.amazonaws.com/nodegroup',
  'cloud.google.com/gke-nodepool',
  'agentpool',
];

export function poolOf(
  node: V1Node | undefined,
  poolLabels: readonly string[],
): { label?: string; pool: string } {
  const labels = node?.metadata?.labels ?? {};
  for (const label of poolLabels) {
    const value = labels[label];
    if (value) return { label, pool: value };
  }
  return { pool: 'default' };
}

/**
 * A node is unhealthy when it is not Ready, or when any other condition is True: all standard
 * kubelet conditions (MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable) and the
 * node-problem-detector ones (KernelDeadlock, ReadonlyFilesystem...) are problems when True.
 */
export function isUnhealthy(node: V1Node): boolean {
  for (const c of node.status?.conditions ?? []) {
    if (c.type === 'Ready' ? c.status !== 'True' : c.status === 'True') return true;
  }
  return false;
}

/**
 * Whether the condition an alert was about is healthy again, from the alert's own labels
 * (kube-state-metrics series carry `condition` and `status`): undefined when the alert is not
 * about a node condition, so the runner relies on the alert resolving instead.
 */
export function conditionHealthy(
  node: V1Node,
  labels: Readonly<Record<string, string>>,
): boolean | undefined {
  // kube_node_spec_taint (kube-prometheus-stack's KubeNodeUnreachable): the taint decides.
  if (labels.key?.startsWith('node.kubernetes.io/') && labels.effect) {
    const tainted = (node.spec?.taints ?? []).some(
      (t) => t.key === labels.key && t.effect === labels.effect,
    );
    return !tainted;
  }
  const type = labels.condition;
  const badStatus = labels.status?.toLowerCase();
  if (!type || !badStatus) return undefined;
  const current = node.status?.conditions?.find((c) => c.type === type)?.status?.toLowerCase();
  if (current === undefined) return undefined;
  if (type === 'Ready') return current === 'true';
  return current !== badStatus;
}
