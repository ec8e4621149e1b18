// What draining a node costs its workloads, worked out from what the API server has (pure): the
// pods on the node, their owners' replica counts and the PDBs of their namespaces. The reads
// live in cost-reader.ts; the shape kept on the heal record in src/heal/heal-cost.ts.
import type { V1LabelSelector, V1PodDisruptionBudget, V1Pod } from '@kubernetes/client-node';
import type { HealCost, PdbCost, PodCost, PodCostKind } from '../heal/index.ts';
import { MIRROR_POD_ANNOTATION, podKey } from './drain-plan.ts';

/** An owner of pods on the node (a ReplicaSet, StatefulSet...), as read from the API. */
export interface OwnerInfo {
  /** spec.replicas. */
  replicas: number;
  /** `Kind/name` shown for it: a ReplicaSet's Deployment when it has one. */
  workload: string;
}

export interface CostInputs {
  /** The pods bound to the node (field selector spec.nodeName). */
  pods: readonly V1Pod[];
  /** Owners by `namespace/Kind/name` (those that could be read). */
  owners: ReadonlyMap<string, OwnerInfo>;
  /** The PDBs of the pods' namespaces. */
  pdbs: readonly V1PodDisruptionBudget[];
  /** Namespaces whose PDBs could not be read. */
  unreadPdbs?: readonly string[];
  /** `namespace/claim` of PersistentVolumeClaims bound to local PersistentVolumes. */
  localClaims?: ReadonlySet<string>;
}

/** Owner kinds whose replica count says whether the workload survives the eviction (a
 * Deployment's pods belong to its ReplicaSet). */
export const REPLICATED_KINDS = ['ReplicaSet', 'StatefulSet'] as const;

/** `namespace/Kind/name`: how `CostInputs.owners` is keyed. */
export function ownerKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

function controllerOf(pod: V1Pod) {
  return pod.metadata?.ownerReferences?.find((o) => o.controller === true);
}

/** Whether a label selector selects `labels` (matchLabels and matchExpressions; empty: all). */
export function selects(
  selector: V1LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function pdbKey(pdb: V1PodDisruptionBudget): string {
  return `${pdb.metadata?.namespace ?? ''}/${pdb.metadata?.name ?? ''}`;
}

/**
 * What evicting the node's pods costs (pure).
 *
 * - Pods in phase Succeeded or Failed are left out: they hold nothing.
 * - A mirror pod (annotation `kubernetes.io/config.mirror`) is `mirror`, a DaemonSet's pod
 *   `daemonset`: the drain leaves them alone.
 * - A pod without a controller is `unmanaged`: nothing recreates it.
 * - A pod of a ReplicaSet (a Deployment's) or StatefulSet whose replicas are all on this node (one
 *   replica, usually) is `single-replica`: its workload has none left; with replicas elsewhere
 *   it is `replicated`. An owner that could not be read, or another kind (Job...), is `other`.
 * - `localData`: emptyDir volumes, and claims bound to local PersistentVolumes (`localClaims`).
 * - `pdbs`: the PDBs of its namespace whose selector selects it (an empty selector selects
 *   every pod of the namespace in policy/v1); each PDB involved is listed with its
 *   status.disruptionsAllowed and how many of the node's pods it covers.
 */
export function disruptionCost(inputs: CostInputs, now: number): HealCost {
  const live = inputs.pods.filter(
    (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
  );
  // Pods of each owner on this node.
  const onNode = new Map<string, number>();
  for (const pod of live) {
    const c = controllerOf(pod);
    if (!c) continue;
    const key = ownerKey(pod.metadata?.namespace ?? '', c.kind, c.name);
    onNode.set(key, (onNode.get(key) ?? 0) + 1);
  }
  const pdbPods = new Map<string, number>();
  const pods: PodCost[] = live.map((pod) => {
    const namespace = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    const c = controllerOf(pod);
    const key = c ? ownerKey(namespace, c.kind, c.name) : undefined;
    const owner = key ? inputs.owners.get(key) : undefined;
    let kind: PodCostKind;
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) kind = 'mirror';
    else if (!c) kind = 'unmanaged';
    else if (c.kind === 'DaemonSet') kind = 'daemonset';
    else if (!owner || !(REPLICATED_KINDS as readonly string[]).includes(c.kind)) kind = 'other';
    else kind = owner.replicas <= (onNode.get(key!) ?? 0) ? 'single-replica' : 'replicated';
    const localData: PodCost['localData'] = [];
    const volumes = pod.spec?.volumes ?? [];
    if (volumes.some((v) => v.emptyDir)) localData.push('emptyDir');
    if (
      volumes.some(
        (v) =>
          v.persistentVolumeClaim &&
          inputs.localClaims?.has(`${namespace}/${v.persistentVolumeClaim.claimName}`),
      )
    )
      localData.push('local-pv');
    const pdbs: string[] = [];
    if (kind !== 'mirror' && kind !== 'daemonset') {
      for (const pdb of inputs.pdbs) {
        if (pdb.metadata?.namespace !== namespace) continue;
        if (!selects(pdb.spec?.selector, labels)) continue;
        pdbs.push(pdbKey(pdb));
        pdbPods.set(pdbKey(pdb), (pdbPods.get(pdbKey(pdb)) ?? 0) + 1);
      }
    }
    return {
      pod: podKey(pod),
      kind,
      owner: owner?.workload ?? (c ? `${c.kind}/${c.name}` : null),
      replicas: owner?.replicas ?? null,
      localData,
      pdbs,
    };
  });
  const pdbs: PdbCost[] = inputs.pdbs
    .filter((pdb) => pdbPods.has(pdbKey(pdb)))
    .map((pdb) => ({
      name: pdbKey(pdb),
      disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
      pods: pdbPods.get(pdbKey(pdb)) ?? 0,
    }));
  return { at: now, pods, pdbs, unreadPdbs: [...(inputs.unreadPdbs ?? [])] };
}

/** The owners to read for `pods`: controllers of a kind whose replica count matters. */
export function ownersToRead(
  pods: readonly V1Pod[],
): { namespace: string; kind: string; name: string }[] {
  const seen = new Map<string, { namespace: string; kind: string; name: string }>();
  for (const pod of pods) {
    const c = controllerOf(pod);
    if (!c || !(REPLICATED_KINDS as readonly string[]).includes(c.kind)) continue;
    const namespace = pod.metadata?.namespace ?? '';
    seen.set(ownerKey(namespace, c.kind, c.name), { namespace, kind: c.kind, name: c.name });
  }
  return [...seen.values()];
}
