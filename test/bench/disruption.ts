// What a drain did to the workloads on the node, seen through watches (no polling): for each
// workload (Deployment, ReplicaSet, StatefulSet) in a namespace, the lowest count of Ready pods
// while the node was drained, against the floor its PodDisruptionBudget allows (minAvailable, or
// replicas - maxUnavailable); and the time from the first eviction (a pod on the node marked for
// deletion) to the moment every workload again had all its replicas Running and Ready on other
// nodes. Used by `npm run bench:drain`.
import {
  Watch,
  type V1LabelSelector,
  type V1PodDisruptionBudget,
  type V1Pod,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type { KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { isRunningAndReady } from '../stack/helpers/workloads.ts';

export interface WorkloadDisruption {
  /** `Kind/name`; a Deployment's pods count for the Deployment, not for its ReplicaSet. */
  workload: string;
  replicas: number;
  /** The fewest Ready pods the PDB allows; undefined without a PDB. */
  floor: number | undefined;
  /** Lowest count of Ready, not terminating pods (as the PDB controller counts them). */
  lowestReady: number;
  /** Lowest ReplicaSet/StatefulSet status.readyReplicas (the controller's own view, lags). */
  lowestStatusReady: number | undefined;
  /** Lowest Ready count went below the floor. */
  breached: boolean;
}

export interface DisruptionReport {
  workloads: WorkloadDisruption[];
  /** Pods of the namespace on the node marked for deletion (evicted). */
  evicted: number;
  /** Seconds from the first eviction to every workload fully Running and Ready elsewhere. */
  recoverySeconds: number | undefined;
  /** When (epoch ms) every workload was fully Running and Ready elsewhere; bench:heal's end. */
  recoveredAtMs: number | undefined;
  /** A watch ended or failed before the report was taken (figures may be incomplete). */
  watchBroken: boolean;
}

export interface DisruptionMonitor {
  /** Waits (up to timeoutMs) until every workload runs its replicas off the node, then reports. */
  finish(timeoutMs?: number): Promise<DisruptionReport>;
}

interface Workload {
  key: string;
  replicas: number;
  labels: Record<string, string>;
  floor: number | undefined;
  lowestReady: number;
  lowestStatusReady: number | undefined;
}

function scaled(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.replace('%', ''));
  return Math.ceil((percent / 100) * total);
}

function matches(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  const wanted = selector?.matchLabels ?? {};
  if (selector?.matchExpressions?.length) return false; // not used by the benchmark
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

/** The floor the first PDB matching the workload's pods allows, as the disruption controller. */
function floorOf(pdbs: V1PodDisruptionBudget[], w: Workload): number | undefined {
  const pdb = pdbs.find((p) => matches(p.spec?.selector, w.labels));
  if (!pdb?.spec) return undefined;
  if (pdb.spec.minAvailable !== undefined) return scaled(pdb.spec.minAvailable, w.replicas);
  if (pdb.spec.maxUnavailable !== undefined)
    return w.replicas - scaled(pdb.spec.maxUnavailable, w.replicas);
  return undefined;
}

/** Starts watching `namespace`; call before the drain, and `finish` after it. */
export async function watchDisruption(
  kube: KubeClients,
  namespace: string,
  node: string,
): Promise<DisruptionMonitor> {
  // Start from the steady state: the controllers' status caught up with the pods (Ready pods
  // are counted before a ReplicaSet's status.readyReplicas says so).
  await eventually(
    `status of the workloads in ${namespace} caught up`,
    async () => {
      const [rs, sts] = await Promise.all([
        kube.apps.listNamespacedReplicaSet({ namespace }),
        kube.apps.listNamespacedStatefulSet({ namespace }),
      ]);
      return [...rs.items, ...sts.items].every(
        (w) => (w.status?.readyReplicas ?? 0) === (w.spec?.replicas ?? 1),
      );
    },
    60_000,
    200,
  );
  const [deployments, replicaSets, statefulSets, pdbs, podList] = await Promise.all([
    kube.apps.listNamespacedDeployment({ namespace }),
    kube.apps.listNamespacedReplicaSet({ namespace }),
    kube.apps.listNamespacedStatefulSet({ namespace }),
    kube.policy.listNamespacedPodDisruptionBudget({ namespace }),
    kube.core.listNamespacedPod({ namespace }),
  ]);
  const workloads = new Map<string, Workload>();
  const add = (kind: string, o: { metadata?: { name?: string }; spec?: unknown }) => {
    const spec = o.spec as { replicas?: number; template?: { metadata?: { labels?: object } } };
    const w: Workload = {
      key: `${kind}/${o.metadata?.name ?? ''}`,
      replicas: spec.replicas ?? 1,
      labels: (spec.template?.metadata?.labels ?? {}) as Record<string, string>,
      floor: undefined,
      lowestReady: Infinity,
      lowestStatusReady: undefined,
    };
    w.floor = floorOf(pdbs.items, w);
    workloads.set(w.key, w);
  };
  deployments.items.forEach((d) => add('Deployment', d));
  statefulSets.items.forEach((s) => add('StatefulSet', s));
  // A ReplicaSet owned by a Deployment counts as its Deployment.
  const rsOwner = new Map<string, string>();
  for (const rs of replicaSets.items) {
    const owner = rs.metadata?.ownerReferences?.find((r) => r.controller);
    if (owner?.kind === 'Deployment') rsOwner.set(rs.metadata!.name!, `Deployment/${owner.name}`);
    else {
      add('ReplicaSet', rs);
      workloads.get(`ReplicaSet/${rs.metadata?.name ?? ''}`)!.lowestStatusReady =
        rs.status?.readyReplicas ?? 0;
    }
  }
  const workloadOf = (pod: V1Pod): Workload | undefined => {
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
    if (!owner) return undefined;
    const key =
      owner.kind === 'ReplicaSet'
        ? (rsOwner.get(owner.name) ?? `ReplicaSet/${owner.name}`)
        : `${owner.kind}/${owner.name}`;
    return workloads.get(key);
  };

  const pods = new Map<string, V1Pod>();
  for (const p of podList.items) pods.set(p.metadata!.uid!, p);
  const evicted = new Set<string>();
  let firstEviction: number | undefined;
  let recoveredAt: number | undefined;
  let watchBroken = false;
  let onRecovered: (() => void) | undefined;

  const readyCount = (w: Workload, elsewhereOnly: boolean) => {
    let n = 0;
    for (const p of pods.values()) {
      if (p.metadata?.deletionTimestamp || !isRunningAndReady(p)) continue;
      if (elsewhereOnly && p.spec?.nodeName === node) continue;
      if (workloadOf(p) === w) n++;
    }
    return n;
  };
  const observe = (w: Workload | undefined) => {
    if (w) w.lowestReady = Math.min(w.lowestReady, readyCount(w, false));
    if (firstEviction === undefined || recoveredAt !== undefined) return;
    for (const x of workloads.values()) if (readyCount(x, true) < x.replicas) return;
    recoveredAt = performance.now();
    onRecovered?.();
  };
  for (const w of workloads.values()) observe(w);

  const watch = new Watch(kube.kc);
  const broken = () => {
    watchBroken = true;
  };
  const podWatch = await watch.watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { resourceVersion: podList.metadata?.resourceVersion, allowWatchBookmarks: false },
    (type: string, pod: V1Pod) => {
      const uid = pod.metadata?.uid ?? '';
      if (type === 'DELETED') pods.delete(uid);
      else pods.set(uid, pod);
      const onNode = pod.spec?.nodeName === node;
      if (onNode && (type === 'DELETED' || pod.metadata?.deletionTimestamp) && workloadOf(pod)) {
        evicted.add(uid);
        firstEviction ??= performance.now();
      }
      observe(workloadOf(pod));
    },
    broken,
  );
  const statusWatch = await watch.watch(
    `/apis/apps/v1/namespaces/${namespace}/replicasets`,
    { resourceVersion: replicaSets.metadata?.resourceVersion },
    (_type: string, rs: V1ReplicaSet) => {
      const name = rs.metadata?.name ?? '';
      const w = workloads.get(rsOwner.get(name) ?? `ReplicaSet/${name}`);
      if (!w) return;
      const ready = rs.status?.readyReplicas ?? 0;
      w.lowestStatusReady = Math.min(w.lowestStatusReady ?? Infinity, ready);
    },
    broken,
  );

  return {
    async finish(timeoutMs = 120_000) {
      if (recoveredAt === undefined) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          onRecovered = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const ended = watchBroken;
      podWatch.abort();
      statusWatch.abort();
      return {
        workloads: [...workloads.values()].map((w) => ({
          workload: w.key,
          replicas: w.replicas,
          floor: w.floor,
          lowestReady: w.lowestReady,
          lowestStatusReady: w.lowestStatusReady,
          breached: w.floor !== undefined && w.lowestReady < w.floor,
        })),
        evicted: evicted.size,
        recoverySeconds:
          firstEviction !== undefined && recoveredAt !== undefined
            ? (recoveredAt - firstEviction) / 1000
            : undefined,
        recoveredAtMs: recoveredAt === undefined ? undefined : performance.timeOrigin + recoveredAt,
        watchBroken: ended,
      };
    },
  };
}
