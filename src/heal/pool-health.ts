// Every pool's health from the Nodes as a watch sees them: what storm mode is judged on, all the
// time and not only when a heal asks the gates (a 12 s partition blip is a storm even when the
// heals it causes come due a minute later). The same grouping as the gates': a node's pool is its
// first pool label's value, and pool `default` (nodes with none) counts every node.
import type { V1Node } from '@kubernetes/client-node';
import type { PoolHealth } from '../safety/index.ts';
import { isUnhealthy, poolOf } from './world.ts';

export function poolHealths(
  nodes: readonly V1Node[],
  poolLabels: readonly string[],
): Map<string, PoolHealth> {
  const healths = new Map<string, PoolHealth>();
  let unlabelled = false;
  let unhealthyAll = 0;
  for (const node of nodes) {
    const unhealthy = isUnhealthy(node);
    if (unhealthy) unhealthyAll++;
    const { label, pool } = poolOf(node, poolLabels);
    if (label === undefined) {
      unlabelled = true;
      continue;
    }
    const health = healths.get(pool) ?? { total: 0, unhealthy: 0 };
    healths.set(pool, {
      total: health.total + 1,
      unhealthy: health.unhealthy + (unhealthy ? 1 : 0),
    });
  }
  if (unlabelled) {
    const { pool } = poolOf(undefined, poolLabels);
    healths.set(pool, { total: nodes.length, unhealthy: unhealthyAll });
  }
  return healths;
}
