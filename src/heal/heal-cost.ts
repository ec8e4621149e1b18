// What a heal will disrupt, worked out before its first disruptive step (drain, replace, reboot)
// from the pods on the node: kept on the heal record (`cost`), shown on its status page and in
// its HealStarted and NodeDrained Events, counted in nodeheal_pods_evicted_total{kind}.
import { z } from 'zod';
import type { RemedyAction } from '../rules/index.ts';

/**
 * What happens to a pod on the node:
 * - `replicated`: its controller has replicas elsewhere (a PDB may cover it: `pdbs`).
 * - `single-replica`: every replica of its Deployment/ReplicaSet/StatefulSet is on this node
 *   (one replica, usually): the workload is down until its pod runs elsewhere.
 * - `unmanaged`: no controller: nothing recreates it.
 * - `other`: a controller of another kind (Job, a custom one): recreated by it, replicas unknown.
 * - `daemonset`, `mirror`: left alone by the drain.
 */
export const POD_COST_KINDS = [
  'replicated',
  'single-replica',
  'unmanaged',
  'other',
  'daemonset',
  'mirror',
] as const;
export type PodCostKind = (typeof POD_COST_KINDS)[number];

/** The kinds counted in nodeheal_pods_evicted_total{kind} (`local-data` overlaps the others). */
export const EVICTED_KINDS = [
  'replicated',
  'single-replica',
  'unmanaged',
  'other',
  'local-data',
] as const;
export type EvictedKind = (typeof EVICTED_KINDS)[number];

export const podCostSchema = z.object({
  /** `namespace/name`. */
  pod: z.string(),
  kind: z.enum(POD_COST_KINDS),
  /** `Kind/name` of its workload (a ReplicaSet's Deployment when it has one); null: none. */
  owner: z.string().nullable(),
  /** The owner's desired replicas; null when not known. */
  replicas: z.int().min(0).nullable(),
  /** Local data the pod loses when evicted: emptyDir volumes, local PersistentVolumes. */
  localData: z.array(z.enum(['emptyDir', 'local-pv'])),
  /** `namespace/name` of the PDBs that select it. */
  pdbs: z.array(z.string()),
});
export type PodCost = z.infer<typeof podCostSchema>;

export const pdbCostSchema = z.object({
  /** `namespace/name`. */
  name: z.string(),
  /** status.disruptionsAllowed: how many of its pods may go now. */
  disruptionsAllowed: z.int(),
  /** Pods of the node it covers. */
  pods: z.int().min(0),
});
export type PdbCost = z.infer<typeof pdbCostSchema>;

export const healCostSchema = z.object({
  /** When it was worked out. */
  at: z.number(),
  /** Every pod on the node (terminated ones left out), with what happens to it. */
  pods: z.array(podCostSchema),
  /** The PDBs of those pods, with their headroom then. */
  pdbs: z.array(pdbCostSchema),
  /** Namespaces whose PDBs could not be read (their headroom is unknown). */
  unreadPdbs: z.array(z.string()).default([]),
});
export type HealCost = z.infer<typeof healCostSchema>;

/** Drain, replace and reboot take the node's workloads away; the other steps do not. */
export function isDisruptive(action: RemedyAction): boolean {
  return action === 'drain' || action === 'replace' || action === 'reboot';
}

/** Pods the disruption evicts (everything but DaemonSet and mirror pods). */
export function evictedPods(cost: HealCost): PodCost[] {
  return cost.pods.filter((p) => p.kind !== 'daemonset' && p.kind !== 'mirror');
}

/** Evicted pods counted per kind (a pod with local data counts as `local-data` too). */
export function evictedByKind(cost: HealCost): Record<EvictedKind, number> {
  const counts: Record<EvictedKind, number> = {
    replicated: 0,
    'single-replica': 0,
    unmanaged: 0,
    other: 0,
    'local-data': 0,
  };
  for (const pod of evictedPods(cost)) {
    if (pod.kind !== 'daemonset' && pod.kind !== 'mirror') counts[pod.kind] += 1;
    if (pod.localData.length > 0) counts['local-data'] += 1;
  }
  return counts;
}

/**
 * Whether the disruption is an outage: a workload left with no replica (single replica), data
 * lost (emptyDir, local PV), or a pod nothing recreates.
 */
export function isOutage(cost: HealCost): boolean {
  return evictedPods(cost).some(
    (p) => p.kind === 'single-replica' || p.kind === 'unmanaged' || p.localData.length > 0,
  );
}

/**
 * One line for Events and logs, e.g. `evicts 4 pod(s): 2 replicated, 1 single replica
 * (downtime), 1 unmanaged (not recreated), 1 with local data (lost); 2 left alone (DaemonSet,
 * mirror); PDB headroom: shop/web 1`.
 */
export function costSummary(cost: HealCost): string {
  const evicted = evictedPods(cost);
  const counts = evictedByKind(cost);
  const parts: string[] = [];
  if (counts.replicated > 0) parts.push(`${counts.replicated} replicated`);
  if (counts['single-replica'] > 0)
    parts.push(`${counts['single-replica']} single replica (downtime)`);
  if (counts.unmanaged > 0) parts.push(`${counts.unmanaged} unmanaged (not recreated)`);
  if (counts.other > 0) parts.push(`${counts.other} of other controllers`);
  if (counts['local-data'] > 0) parts.push(`${counts['local-data']} with local data (lost)`);
  let text = `evicts ${evicted.length} pod(s)${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
  const left = cost.pods.length - evicted.length;
  if (left > 0) text += `; ${left} left alone (DaemonSet, mirror)`;
  if (cost.pdbs.length > 0) {
    const shown = cost.pdbs.slice(0, 5).map((p) => `${p.name} ${p.disruptionsAllowed}`);
    if (cost.pdbs.length > 5) shown.push(`… ${cost.pdbs.length - 5} more`);
    text += `; PDB headroom: ${shown.join(', ')}`;
  }
  if (cost.unreadPdbs.length > 0) text += `; PDBs unread in ${cost.unreadPdbs.join(', ')}`;
  return text;
}
