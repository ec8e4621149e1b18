// Reads what `disruptionCost` needs for one node: the pods bound to it (field selector, as the
// drain lists them; never every pod of the cluster), the replica counts of their owners (one get
// each), and the PDBs of their namespaces (one list per namespace). An owner or namespace that
// cannot be read is left out (its pods count as `other`, its PDBs as unread), never fatal.
import {
  AppsV1Api,
  PolicyV1Api,
  type KubeConfig,
  type V1PodDisruptionBudget,
  type V1Pod,
} from '@kubernetes/client-node';
import type { HealCost } from '../heal/index.ts';
import { kubeCall, kubeGet } from '../kube/index.ts';
import {
  disruptionCost,
  ownerKey,
  ownersToRead,
  type CostInputs,
  type OwnerInfo,
} from './disruption-cost.ts';

export interface CostReader {
  /** What disrupting `node` now would cost its workloads. */
  costOf(node: string): Promise<HealCost>;
}

export class KubeCostReader implements CostReader {
  readonly #apps: AppsV1Api;
  readonly #policy: PolicyV1Api;
  readonly #listPods: (node: string) => Promise<V1Pod[]>;
  readonly #now: () => number;

  constructor(
    kc: KubeConfig,
    listPods: (node: string) => Promise<V1Pod[]>,
    now: () => number = Date.now,
  ) {
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#policy = kc.makeApiClient(PolicyV1Api);
    this.#listPods = listPods;
    this.#now = now;
  }

  async costOf(node: string): Promise<HealCost> {
    const pods = await this.#listPods(node);
    const owners = new Map<string, OwnerInfo>();
    await Promise.all(
      ownersToRead(pods).map(async (ref) => {
        const owner = await this.#owner(ref).catch(() => undefined);
        if (owner) owners.set(ownerKey(ref.namespace, ref.kind, ref.name), owner);
      }),
    );
    const namespaces = [...new Set(pods.map((p) => p.metadata?.namespace ?? ''))].sort();
    const pdbs: V1PodDisruptionBudget[] = [];
    const unreadPdbs: string[] = [];
    await Promise.all(
      namespaces.map(async (namespace) => {
        try {
          const list = await kubeCall(`list PDBs in ${namespace}`, () =>
            this.#policy.listNamespacedPodDisruptionBudget({ namespace }),
          );
          pdbs.push(...list.items);
        } catch {
          unreadPdbs.push(namespace);
        }
      }),
    );
    const inputs: CostInputs = { pods, owners, pdbs, unreadPdbs: unreadPdbs.sort() };
    return disruptionCost(inputs, this.#now());
  }

  async #owner(ref: {
    namespace: string;
    kind: string;
    name: string;
  }): Promise<OwnerInfo | undefined> {
    const { namespace, name } = ref;
    if (ref.kind === 'ReplicaSet') {
      const rs = await kubeGet(`read ReplicaSet ${namespace}/${name}`, () =>
        this.#apps.readNamespacedReplicaSet({ namespace, name }),
      );
      if (!rs) return undefined;
      const deployment = rs.metadata?.ownerReferences?.find(
        (o) => o.controller === true && o.kind === 'Deployment',
      );
      return {
        replicas: rs.spec?.replicas ?? 1,
        workload: deployment ? `Deployment/${deployment.name}` : `ReplicaSet/${name}`,
      };
    }
    if (ref.kind === 'StatefulSet') {
      const sts = await kubeGet(`read StatefulSet ${namespace}/${name}`, () =>
        this.#apps.readNamespacedStatefulSet({ namespace, name }),
      );
      return sts
        ? { replicas: sts.spec?.replicas ?? 1, workload: `StatefulSet/${name}` }
        : undefined;
    }
    return undefined;
  }
}
