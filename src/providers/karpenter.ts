// Karpenter: a node is replaced by deleting its NodeClaim (karpenter.sh/v1, cluster-scoped);
// Karpenter drains what is left, terminates the instance and provisions capacity for the pods
// that need it. Karpenter decides on new capacity itself, so nodeheal does not surge.
//
// - The NodeClaim is the one whose `status.nodeName` is the node (or, before that is set, whose
//   `status.providerID` is the node's `spec.providerID`).
// - A NodeClaim already being deleted, or none left for a node labelled `karpenter.sh/nodepool`,
//   or the node itself gone: `replaced` (idempotent).
// - The NodeClaim CRD not installed, or a node Karpenter does not manage: `unsupported`.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { listCustomObjects, type KubeObject, type ResourceRef } from '../kube/index.ts';
import { ConflictError, kubeCall, kubeGet, NotFoundError } from '../kube/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import type { FenceResult, Provider, ReplaceResult } from '../actions/index.ts';
import { defineProvider } from './provider-definition.ts';

export const NODECLAIMS: ResourceRef = {
  group: 'karpenter.sh',
  version: 'v1',
  plural: 'nodeclaims',
};
export const KARPENTER_NODEPOOL_LABEL = 'karpenter.sh/nodepool';

export type NodeClaim = KubeObject<{ nodeName?: string; providerID?: string }>;

export interface KarpenterProviderOptions {
  logger?: Logger;
}

export class KarpenterProvider implements Provider {
  readonly name = 'karpenter' as const;
  readonly canSurge = false;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #logger: Logger;

  constructor(kc: KubeConfig, options: KarpenterProviderOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#logger = options.logger ?? silentLogger();
  }

  /** The NodeClaim of the node, or undefined; a 404 from the list means no CRD. */
  async findNodeClaim(node: V1Node): Promise<NodeClaim | undefined> {
    const name = node.metadata?.name ?? '';
    const providerID = node.spec?.providerID;
    const claims = await listCustomObjects<NodeClaim>(this.#custom, NODECLAIMS);
    return (
      claims.find((c) => c.status?.nodeName === name) ??
      (providerID ? claims.find((c) => c.status?.providerID === providerID) : undefined)
    );
  }

  async replace(node: V1Node): Promise<ReplaceResult> {
    const name = node.metadata?.name ?? '';
    let claim: NodeClaim | undefined;
    try {
      claim = await this.findNodeClaim(node);
    } catch (error) {
      if (error instanceof NotFoundError) {
        return { outcome: 'unsupported', detail: 'Karpenter NodeClaims are not installed here' };
      }
      throw error;
    }
    if (!claim) {
      const current = await kubeGet(`read node ${name}`, () => this.#core.readNode({ name }));
      if (!current || current.metadata?.uid !== node.metadata?.uid) {
        return { outcome: 'replaced', detail: `node ${name} is already gone` };
      }
      if (current.metadata?.labels?.[KARPENTER_NODEPOOL_LABEL] !== undefined) {
        return { outcome: 'replaced', detail: `the NodeClaim of node ${name} is already deleted` };
      }
      return {
        outcome: 'unsupported',
        detail: `no Karpenter NodeClaim has status.nodeName=${name}`,
      };
    }
    const claimName = claim.metadata?.name ?? '';
    if (claim.metadata?.deletionTimestamp) {
      return { outcome: 'replaced', detail: `NodeClaim ${claimName} is already being deleted` };
    }
    try {
      await kubeCall(`delete NodeClaim ${claimName}`, () =>
        this.#custom.deleteClusterCustomObject({
          ...NODECLAIMS,
          name: claimName,
          body: { preconditions: { uid: claim.metadata?.uid ?? '' } },
        }),
      );
    } catch (error) {
      if (!(error instanceof NotFoundError || error instanceof ConflictError)) throw error;
      return { outcome: 'replaced', detail: `NodeClaim ${claimName} is already deleted` };
    }
    this.#logger.info(
      { node: name, provider: this.name, nodeClaim: claimName },
      'NodeClaim deleted',
    );
    return {
      outcome: 'replaced',
      detail: `NodeClaim ${claimName} deleted; Karpenter provisions capacity for its pods`,
    };
  }

  /**
   * Fence: delete the NodeClaim (as `replace` does) and report `fenced` only once it is gone:
   * Karpenter removes a NodeClaim's termination finalizer after its instance is terminated.
   */
  async fence(node: V1Node): Promise<FenceResult> {
    const name = node.metadata?.name ?? '';
    const requested = await this.replace(node);
    if (requested.outcome !== 'replaced') return { outcome: 'failed', detail: requested.detail };
    const claim = await this.findNodeClaim(node).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (claim) {
      return {
        outcome: 'pending',
        detail: `NodeClaim ${claim.metadata?.name ?? ''} of ${name} is being deleted: waiting for Karpenter to terminate its instance`,
      };
    }
    return {
      outcome: 'fenced',
      detail: `karpenter: the NodeClaim of ${name} and its instance are gone (${requested.detail})`,
    };
  }
}

/** The `karpenter` provider: no settings beyond its name. */
export const karpenterProvider = defineProvider({
  name: 'karpenter',
  summary: 'deletes the NodeClaim of the node; Karpenter provisions capacity for its pods',
  configSchema: null,
  create: (kubeConfig, { logger }) => new KarpenterProvider(kubeConfig, { logger }),
  rbac: [
    {
      apiGroup: 'karpenter.sh',
      resource: 'nodeclaims',
      verbs: ['list', 'delete'],
      why: 'find the NodeClaim of the node (status.nodeName or providerID), delete it',
    },
    {
      apiGroup: '',
      resource: 'nodes',
      verbs: ['get'],
      why: 'tell a node already replaced (gone, or its NodeClaim deleted) from one Karpenter does not manage',
    },
  ],
});
