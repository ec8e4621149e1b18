// serve and worker stop at once, saying why, when their Redis runs in cluster mode: a pod that
// crash-loops with the reason in its log is found sooner than heals that fail one by one.
import type { Redis } from 'ioredis';
import type { Logger } from '../log/index.ts';
import { REDIS_CLUSTER_REFUSED, redisClusterEnabled } from '../store/index.ts';

/** Looks each time `redis` becomes ready (a failover may bring another server) and exits 1 on a cluster. */
export function refuseRedisCluster(redis: Redis, logger: Logger): void {
  redis.on('ready', () => {
    void redisClusterEnabled(redis).then((enabled) => {
      if (enabled !== true) return;
      logger.fatal(REDIS_CLUSTER_REFUSED);
      process.stderr.write(`nodeheal: ${REDIS_CLUSTER_REFUSED}\n`);
      process.exit(1);
    });
  });
}
