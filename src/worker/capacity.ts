// Is capacity back after a replacement? The runner's side of the rule: read the replacement node
// and the pool, report `capacity-back` for the machine (which decides with its deadline).
import type { V1Node } from '@kubernetes/client-node';
import type { NodeOps } from '../actions/index.ts';
import type { HealRecord } from '../heal/index.ts';
import type { Observation } from '../heal/index.ts';
import { poolOf } from '../heal/index.ts';

export interface CapacityDeps {
  nodeOps: Pick<NodeOps, 'get'>;
  listNodes: (labelSelector?: string) => Promise<V1Node[]>;
  poolLabels: readonly string[];
  now: () => Date;
}

export function isReady(node: V1Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The pool's label selector and how many of its nodes are Ready now. */
export async function poolReadyCount(
  deps: Pick<CapacityDeps, 'listNodes' | 'poolLabels'>,
  node: V1Node,
): Promise<{ label: string; pool: string; ready: number } | undefined> {
  const { label, pool } = poolOf(node, deps.poolLabels);
  if (!label) return undefined;
  const members = await deps.listNodes(`${label}=${pool}`);
  return { label, pool, ready: members.filter(isReady).length };
}

/**
 * What a replacement's verification sees (the old node is already gone):
 * - the replacement the provider named is Ready → `capacity-back`;
 * - else the pool has at least as many Ready nodes as when the heal started → `capacity-back`;
 * - else nothing yet.
 */
export async function observeCapacity(
  deps: CapacityDeps,
  record: HealRecord,
  poolLabelSelector: string | undefined,
): Promise<Observation | undefined> {
  const at = deps.now().getTime();
  if (record.replacement !== null && isReady(await deps.nodeOps.get(record.replacement))) {
    return { kind: 'capacity-back', at, detail: `replacement ${record.replacement} is Ready` };
  }
  if (record.poolReadyBefore !== null && poolLabelSelector) {
    const ready = (await deps.listNodes(poolLabelSelector)).filter(isReady).length;
    if (ready >= record.poolReadyBefore) {
      return {
        kind: 'capacity-back',
        at,
        detail: `pool ${record.pool} has ${ready} Ready nodes (${record.poolReadyBefore} before the heal)`,
      };
    }
  }
  return undefined;
}
