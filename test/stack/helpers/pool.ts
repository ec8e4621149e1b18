// Node pools of KWOK-simulated nodes.
import type { V1Node } from '@kubernetes/client-node';
import { kwokManagedLabel, kwokManagedValue } from '../stack.ts';
import type { KubeClients } from './kube.ts';
import { eventually } from './poll.ts';

export const poolLabel = 'nodeheal.test/pool';
export const internalIpAnnotation = 'nodeheal.test/internal-ip';

export interface PoolOptions {
  name: string;
  size: number;
  labels?: Record<string, string>;
  /** Third octet of the nodes' InternalIPs (10.201.<octet>.<index+1>); distinct per pool. */
  ipOctet?: number;
  waitReady?: boolean;
}

let nextOctet = 1;

export function readyStatus(node: V1Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** Creates `size` simulated nodes named `<name>-<i>` and (by default) waits until all are Ready. */
export async function createNodePool(kube: KubeClients, options: PoolOptions): Promise<string[]> {
  const octet = options.ipOctet ?? nextOctet++;
  const names = Array.from({ length: options.size }, (_, i) => `${options.name}-${i}`);
  await Promise.all(
    names.map((name, i) =>
      kube.core.createNode({
        body: {
          metadata: {
            name,
            labels: {
              ...options.labels,
              [poolLabel]: options.name,
              [kwokManagedLabel]: kwokManagedValue,
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'node-role.kubernetes.io/worker': '',
            },
            annotations: { [internalIpAnnotation]: `10.201.${octet}.${i + 1}` },
          },
          spec: {},
        },
      }),
    ),
  );
  if (options.waitReady ?? true) {
    await Promise.all(names.map((n) => waitNodeReady(kube, n, 'True')));
  }
  return names;
}

export async function waitNodeReady(
  kube: KubeClients,
  name: string,
  status: 'True' | 'False' | 'Unknown',
  timeoutMs = 60_000,
): Promise<V1Node> {
  return await eventually(
    `node ${name} Ready=${status}`,
    async () => {
      const node = await kube.core.readNode({ name });
      // Ready also means schedulable: the node lifecycle controller lifts the not-ready taint a
      // moment after Ready turns True, and until then the scheduler puts nothing there.
      const tainted = node.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready');
      return readyStatus(node) === status && (status !== 'True' || !tainted) ? node : false;
    },
    timeoutMs,
  );
}

export async function deleteNodePool(kube: KubeClients, name: string): Promise<void> {
  await kube.core.deleteCollectionNode({ labelSelector: `${poolLabel}=${name}` });
}
