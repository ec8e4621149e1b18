// nodeheal runs on one Redis (alone or as the primary Sentinel names), not on Redis Cluster: its
// Lua scripts and transactions touch keys of many hash slots (the intake's commit writes the
// histories of many nodes at once; the node lock, budget and records span several keys), which a
// cluster refuses (CROSSSLOT) or sends to another shard (MOVED). A cluster is refused at start,
// with the reason, rather than failing on the first heal (docs/reliability.md, Redis Cluster).
import type { Redis } from 'ioredis';

export const REDIS_CLUSTER_REFUSED =
  'Redis Cluster is not supported: nodeheal needs one Redis (or Redis Sentinel) because its ' +
  'scripts write keys of many hash slots at once; see docs/reliability.md, "Redis Cluster"';

/** Whether an `INFO cluster` answer says cluster mode is on (pure). */
export function clusterEnabledInInfo(info: string): boolean {
  return /^cluster_enabled:1\s*$/m.test(info);
}

/** Whether the Redis behind `redis` runs in cluster mode; undefined when it cannot be asked. */
export async function redisClusterEnabled(redis: Redis): Promise<boolean | undefined> {
  try {
    return clusterEnabledInInfo(await redis.info('cluster'));
  } catch {
    return undefined;
  }
}
