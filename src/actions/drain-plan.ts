// What a drain does with each pod on a node, decided without the API server. Kept pure and apart
// from the drainer so that the real drain and the dry run (dry-run.ts) apply the very same policy,
// and so that the policy can be read and tested without a cluster.
//
// - Skipped: mirror (static) pods, DaemonSet pods, pods that already terminated (Succeeded or
//   Failed). Pods already being deleted are not evicted again but are waited for.
// - Policies: pods with emptyDir volumes and pods without a controller either are evicted or block
//   the whole drain before anything is evicted (`blocked`, listing them).
// - Whether a node is unreachable (its kubelet will never confirm a deletion) is read from the Node
//   alone, so it belongs here too; the drainer decides when to ask.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { DrainOptions } from './interfaces.ts';

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';

export type SkipReason = 'mirror' | 'daemonset' | 'terminated';

export interface DrainPlan {
  /** Pods to evict. */
  evict: V1Pod[];
  /** Pods already being deleted: not evicted again, but waited for. */
  terminating: V1Pod[];
  skipped: { pod: V1Pod; reason: SkipReason }[];
  /** Set when a policy blocks the drain; nothing is evicted then. */
  blocked?: { reason: string; pods: string[] };
}

/** `namespace/name`, the form pods take in results and logs. */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

function controllerOf(pod: V1Pod) {
  return pod.metadata?.ownerReferences?.find((o) => o.controller === true);
}

/**
 * Sorts the pods on a node into what a drain does with them (pure).
 *
 * - A mirror pod (annotation `kubernetes.io/config.mirror`) is skipped: the API cannot evict it.
 * - A pod in phase Succeeded or Failed is skipped: it holds nothing.
 * - A pod whose controller is a DaemonSet is skipped: the DaemonSet would put it back.
 * - A pod with a deletionTimestamp is only waited for.
 * - With `emptyDir: 'block'`, any other pod with an emptyDir volume blocks the drain.
 * - With `unmanaged: 'block'`, any other pod without a controller blocks the drain.
 * - Pods to evict are ordered round-robin across their controllers.
 */
export function planDrain(
  pods: readonly V1Pod[],
  options: Pick<DrainOptions, 'emptyDir' | 'unmanaged'>,
): DrainPlan {
  const plan: DrainPlan = { evict: [], terminating: [], skipped: [] };
  const withEmptyDir: string[] = [];
  const unmanaged: string[] = [];
  for (const pod of pods) {
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
      plan.skipped.push({ pod, reason: 'mirror' });
    } else if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      plan.skipped.push({ pod, reason: 'terminated' });
    } else if (controllerOf(pod)?.kind === 'DaemonSet') {
      plan.skipped.push({ pod, reason: 'daemonset' });
    } else if (pod.metadata?.deletionTimestamp) {
      plan.terminating.push(pod);
    } else {
      if (options.emptyDir === 'block' && pod.spec?.volumes?.some((v) => v.emptyDir)) {
        withEmptyDir.push(podKey(pod));
      }
      if (options.unmanaged === 'block' && !controllerOf(pod)) unmanaged.push(podKey(pod));
      plan.evict.push(pod);
    }
  }
  const reasons: string[] = [];
  if (withEmptyDir.length > 0) {
    reasons.push(`${withEmptyDir.length} pod(s) with emptyDir volumes (emptyDir policy: block)`);
  }
  if (unmanaged.length > 0) {
    reasons.push(`${unmanaged.length} pod(s) without a controller (unmanaged policy: block)`);
  }
  plan.evict = interleaveByController(plan.evict);
  if (reasons.length > 0) {
    plan.blocked = {
      reason: reasons.join('; '),
      pods: [...new Set([...withEmptyDir, ...unmanaged])],
    };
  }
  return plan;
}

/**
 * Round-robin over the pods' controllers (pure): a workload whose PDB lets one pod go at a time
 * then holds one eviction slot, not all of them, and the other workloads drain alongside.
 */
export function interleaveByController(pods: readonly V1Pod[]): V1Pod[] {
  const groups = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const owner = controllerOf(pod)?.uid ?? `pod:${podKey(pod)}`;
    const group = groups.get(owner);
    if (group) group.push(pod);
    else groups.set(owner, [pod]);
  }
  const out: V1Pod[] = [];
  const lists = [...groups.values()];
  for (let i = 0; out.length < pods.length; i++) {
    for (const list of lists) if (i < list.length) out.push(list[i]!);
  }
  return out;
}

/** Whether the node's kubelet is out of reach, so pod deletions on it will never be confirmed. */
export function isNodeUnreachable(node: V1Node | undefined): boolean {
  if (!node) return true;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'Unknown') return true;
  return node.spec?.taints?.some((t) => t.key === UNREACHABLE_TAINT) === true;
}
