// What a test compares to say "nodeheal changed nothing": the fields nodeheal could write, not
// resourceVersion, which Kubernetes' own controllers and the simulated kubelets bump at any time
// (the unschedulable taint after a cordon, beta OS labels, node and pod status heartbeats).
import type { V1Node, V1Pod } from '@kubernetes/client-node';

const systemKey = /^(beta\.kubernetes\.io\/|node\.alpha\.kubernetes\.io\/)/;

function own(record: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).filter(([k]) => !systemKey.test(k)));
}

export function nodeView(node: V1Node) {
  return {
    uid: node.metadata?.uid,
    unschedulable: node.spec?.unschedulable ?? false,
    taints: (node.spec?.taints ?? []).filter((t) => !t.key.startsWith('node.kubernetes.io/')),
    labels: own(node.metadata?.labels),
    annotations: own(node.metadata?.annotations),
  };
}

export function podView(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}${pod.metadata?.deletionTimestamp ? ' (deleting)' : ''}`;
}
