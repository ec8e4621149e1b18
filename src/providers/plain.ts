// A plain cloud node pool (a managed node group, an autoscaling group): deleting the Node lets the
// pool's own controller bring up a replacement. No surge: the pool only notices the missing node.
//
// - The Node is deleted with its uid as precondition, so a new Node that reuses the name is never
//   deleted by a late or repeated call.
// - Already gone (404), or the name now belongs to another uid (409): `replaced` (idempotent).
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ConflictError, kubeCall, NotFoundError } from '../kube/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import type { Provider, ReplaceResult } from '../actions/index.ts';
import { defineProvider } from './provider-definition.ts';

export interface PlainProviderOptions {
  logger?: Logger;
}

export class PlainProvider implements Provider {
  readonly name = 'plain' as const;
  readonly canSurge = false;
  readonly #core: CoreV1Api;
  readonly #logger: Logger;

  constructor(kc: KubeConfig, options: PlainProviderOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#logger = options.logger ?? silentLogger();
  }

  async replace(node: V1Node): Promise<ReplaceResult> {
    const name = node.metadata?.name ?? '';
    const uid = node.metadata?.uid;
    try {
      await kubeCall(`delete node ${name}`, () =>
        this.#core.deleteNode({ name, body: uid ? { preconditions: { uid } } : {} }),
      );
    } catch (error) {
      if (error instanceof NotFoundError) {
        return { outcome: 'replaced', detail: `node ${name} is already gone` };
      }
      if (error instanceof ConflictError) {
        return {
          outcome: 'replaced',
          detail: `node ${name} was already replaced (a Node with another uid has the name)`,
        };
      }
      throw error;
    }
    this.#logger.info({ node: name, provider: this.name }, 'node deleted for replacement');
    return {
      outcome: 'replaced',
      detail: `node ${name} deleted; the cloud node pool brings up its replacement`,
    };
  }
}

/** The `plain` provider: no settings beyond its name. */
export const plainProvider = defineProvider({
  name: 'plain',
  summary: 'deletes the Node object only; the cloud node pool brings up a replacement',
  configSchema: null,
  create: (kubeConfig, { logger }) => new PlainProvider(kubeConfig, { logger }),
  rbac: [
    {
      apiGroup: '',
      resource: 'nodes',
      verbs: ['delete'],
      why: 'delete the Node (uid precondition)',
    },
  ],
});
