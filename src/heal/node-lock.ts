// The node lock in Redis: one heal acts on a node at a time. It expires on its own (a worker that
// dies loses it) and the heal holding it renews it.
import type { Redis } from 'ioredis';

const lockKey = (node: string) => `nodeheal:lock:node:${node}`;
export const LOCK_TTL_MS = 120_000;

/** Takes the lock of `node` for `healId`, or extends it when the heal holds it already. */
export async function takeLock(redis: Redis, node: string, healId: string): Promise<boolean> {
  const set = await redis.set(lockKey(node), healId, 'PX', LOCK_TTL_MS, 'NX');
  if (set === 'OK') return true;
  // Our own lock (a resumed heal, or a renewal): extend it.
  const extended = await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
    1,
    lockKey(node),
    healId,
    String(LOCK_TTL_MS),
  );
  return extended === 1;
}

/** Releases the lock of `node` if `healId` holds it. */
export async function releaseLock(redis: Redis, node: string, healId: string): Promise<void> {
  await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
    1,
    lockKey(node),
    healId,
  );
}
