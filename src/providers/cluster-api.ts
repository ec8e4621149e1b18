// Cluster API: a node is replaced by deleting the Machine that owns it; the Machine's controller
// (MachineSet under a MachineDeployment, or KubeadmControlPlane) creates the new Machine, with its
// own surge policy (maxSurge), so nodeheal itself does not surge.
//
// - The Machine is the one whose `status.nodeRef.name` is the node. Cluster API annotates its
//   Nodes with `cluster.x-k8s.io/machine` and `cluster.x-k8s.io/cluster-namespace`: that Machine is
//   read first (one GET) and used if its nodeRef matches; otherwise all Machines are listed.
// - A Machine without a controller owner would not come back: `unsupported`, nothing deleted.
// - A Machine already being deleted, or gone while the node still carries the Cluster API
//   annotation, or the node itself gone: `replaced` (idempotent).
// - The Machine CRD not installed, or no Machine for a node Cluster API does not manage:
//   `unsupported`.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { listCustomObjects, type KubeObject, type ResourceRef } from '../kube/index.ts';
import { ConflictError, kubeCall, kubeGet, NotFoundError } from '../kube/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import type { FenceResult, Provider, ReplaceResult } from '../actions/index.ts';
import { defineProvider } from './provider-definition.ts';

export const MACHINES: ResourceRef = {
  group: 'cluster.x-k8s.io',
  version: 'v1beta1',
  plural: 'machines',
};
export const CAPI_MACHINE_ANNOTATION = 'cluster.x-k8s.io/machine';
export const CAPI_NAMESPACE_ANNOTATION = 'cluster.x-k8s.io/cluster-namespace';

export type Machine = KubeObject<{ nodeRef?: { name?: string } }>;

export interface ClusterApiProviderOptions {
  logger?: Logger;
}

function machineKey(machine: Machine): string {
  return `${machine.metadata?.namespace ?? ''}/${machine.metadata?.name ?? ''}`;
}

export class ClusterApiProvider implements Provider {
  readonly name = 'cluster-api' as const;
  readonly canSurge = false;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #logger: Logger;

  constructor(kc: KubeConfig, options: ClusterApiProviderOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#logger = options.logger ?? silentLogger();
  }

  /** The Machine whose status.nodeRef names the node, or undefined; 404 from the list = no CRD. */
  async findMachine(node: V1Node): Promise<Machine | undefined> {
    const name = node.metadata?.name ?? '';
    const annotations = node.metadata?.annotations ?? {};
    const hinted = annotations[CAPI_MACHINE_ANNOTATION];
    const hintedNamespace = annotations[CAPI_NAMESPACE_ANNOTATION];
    if (hinted && hintedNamespace) {
      const machine = (await kubeGet(`read Machine ${hintedNamespace}/${hinted}`, () =>
        this.#custom.getNamespacedCustomObject({
          ...MACHINES,
          namespace: hintedNamespace,
          name: hinted,
        }),
      )) as Machine | undefined;
      if (machine?.status?.nodeRef?.name === name) return machine;
    }
    const machines = await listCustomObjects<Machine>(this.#custom, MACHINES);
    return machines.find((m) => m.status?.nodeRef?.name === name);
  }

  async replace(node: V1Node): Promise<ReplaceResult> {
    const name = node.metadata?.name ?? '';
    const log = this.#logger.child({ node: name, provider: this.name });
    let machine: Machine | undefined;
    try {
      machine = await this.findMachine(node);
    } catch (error) {
      if (error instanceof NotFoundError) {
        return { outcome: 'unsupported', detail: 'Cluster API Machines are not installed here' };
      }
      throw error;
    }
    if (!machine) {
      const current = await kubeGet(`read node ${name}`, () => this.#core.readNode({ name }));
      if (!current || current.metadata?.uid !== node.metadata?.uid) {
        return { outcome: 'replaced', detail: `node ${name} is already gone` };
      }
      if (current.metadata?.annotations?.[CAPI_MACHINE_ANNOTATION]) {
        return {
          outcome: 'replaced',
          detail: `Machine ${current.metadata.annotations[CAPI_MACHINE_ANNOTATION]} of node ${name} is already deleted`,
        };
      }
      return {
        outcome: 'unsupported',
        detail: `no Cluster API Machine has status.nodeRef.name=${name}`,
      };
    }
    const key = machineKey(machine);
    if (machine.metadata?.deletionTimestamp) {
      return { outcome: 'replaced', detail: `Machine ${key} is already being deleted` };
    }
    const owner = machine.metadata?.ownerReferences?.find((o) => o.controller === true);
    if (!owner) {
      return {
        outcome: 'unsupported',
        detail: `Machine ${key} has no controller (MachineSet, control plane): deleting it would not bring a replacement`,
      };
    }
    try {
      await kubeCall(`delete Machine ${key}`, () =>
        this.#custom.deleteNamespacedCustomObject({
          ...MACHINES,
          namespace: machine.metadata?.namespace ?? '',
          name: machine.metadata?.name ?? '',
          body: { preconditions: { uid: machine.metadata?.uid ?? '' } },
        }),
      );
    } catch (error) {
      if (!(error instanceof NotFoundError || error instanceof ConflictError)) throw error;
      return { outcome: 'replaced', detail: `Machine ${key} is already deleted` };
    }
    log.info({ machine: key, owner: `${owner.kind}/${owner.name}` }, 'Machine deleted');
    return {
      outcome: 'replaced',
      detail: `Machine ${key} deleted; ${owner.kind} ${owner.name} creates its replacement`,
    };
  }

  /**
   * Fence: delete the Machine (as `replace` does) and report `fenced` only once it is gone.
   * Cluster API keeps a Machine's finalizer until its infrastructure machine is deleted, so a
   * Machine that no longer exists is a machine that no longer runs.
   */
  async fence(node: V1Node): Promise<FenceResult> {
    const name = node.metadata?.name ?? '';
    const requested = await this.replace(node);
    if (requested.outcome !== 'replaced') return { outcome: 'failed', detail: requested.detail };
    const machine = await this.findMachine(node).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (machine) {
      return {
        outcome: 'pending',
        detail: `Machine ${machineKey(machine)} of ${name} is being deleted: waiting for Cluster API to delete its infrastructure`,
      };
    }
    return {
      outcome: 'fenced',
      detail: `cluster-api: the Machine of ${name} and its infrastructure are deleted (${requested.detail})`,
    };
  }
}

/** The `cluster-api` provider: no settings beyond its name. */
export const clusterApiProvider = defineProvider({
  name: 'cluster-api',
  summary: 'deletes the Machine of the node; its MachineSet (or control plane) makes a new one',
  configSchema: null,
  create: (kubeConfig, { logger }) => new ClusterApiProvider(kubeConfig, { logger }),
  rbac: [
    {
      apiGroup: 'cluster.x-k8s.io',
      resource: 'machines',
      verbs: ['get', 'list', 'delete'],
      why: 'find the Machine whose status.nodeRef is the node (the annotated one, else all), delete it',
    },
    {
      apiGroup: '',
      resource: 'nodes',
      verbs: ['get'],
      why: 'tell a node already replaced (gone, or its Machine deleted) from one Cluster API does not manage',
    },
  ],
});
