// Node pools of KWOK-simulated nodes.
import type { V1Node } from '@kubernetes/client-node';
import { kwokManagedLabel, kwokManagedValue } from '../stack.ts';
import { statusOf, type KubeClients } from './kube.ts';
import { eventually } from './poll.ts';

export const poolLabel = 'nodeheal.test/pool';
export const internalIpAnnotation = 'nodeheal.test/internal-ip';

export interface PoolOptions {
  name: string;
  size: number;
  labels?: Record<string, string>;
  waitReady?: boolean;
}

/** The ConfigMap namespace where test pools claim their address blocks. */
const ADDRESS_CLAIMS_NAMESPACE = 'default';
const MAX_POOL_SIZE = 254;
/** Blocks below this one are known to be taken (by this file or another). */
let firstUnclaimedBlock = 0;

/**
 * Claims a /24 of InternalIPs no other pool in this cluster has, across every test file running
 * at once: a ConfigMap's create is atomic in the apiserver, so the first file to create block n
 * owns it. (A per-file counter gave concurrent files the same addresses, which made every
 * address-keyed `instance` ambiguous.)
 */
async function claimAddressBlock(kube: KubeClients, pool: string): Promise<string> {
  for (let block = firstUnclaimedBlock; block < 50 * 256; block += 1) {
    try {
      await kube.core.createNamespacedConfigMap({
        namespace: ADDRESS_CLAIMS_NAMESPACE,
        body: {
          metadata: { name: `nodeheal-test-address-block-${block}` },
          data: { pool },
        },
      });
      firstUnclaimedBlock = block + 1;
      return `10.${201 + Math.floor(block / 256)}.${block % 256}`;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }
  throw new Error('createNodePool: every test address block is taken');
}

export function readyStatus(node: V1Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** Creates `size` simulated nodes named `<name>-<i>` and (by default) waits until all are Ready. */
export async function createNodePool(kube: KubeClients, options: PoolOptions): Promise<string[]> {
  if (options.size > MAX_POOL_SIZE) {
    throw new Error(`createNodePool: at most ${MAX_POOL_SIZE} nodes per pool (one /24 each)`);
  }
  const prefix = await claimAddressBlock(kube, options.name);
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
            annotations: { [internalIpAnnotation]: `${prefix}.${i + 1}` },
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
