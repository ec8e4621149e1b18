// The node lock in Redis: one heal acts on a node at a time. It expires on its own (a worker that
// dies loses it) and the heal holding it renews it. A heal of another fault of the node that
// comes due meanwhile joins the holder (a list per heal) and waits for it to end.
import type { Redis } from 'ioredis';
import { keys } from './keys.ts';

const JOINED_PREFIX = keys.joinedPrefix;
const lockKey = keys.nodeLock;
const joinedKey = keys.joined;
const joinedToKey = keys.joinedTo;
/** The node lock's lifetime unless the worker says otherwise (NODEHEAL_NODE_LOCK_TTL_MS). */
export const LOCK_TTL_MS = 120_000;
/** Joined entries outlive any heal (a heal that dies leaves them to expire). */
const JOINED_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Takes the lock of `node` for `healId` for `ttlMs`, or extends it when the heal holds it already.
 * It expires unless renewed: a heal whose worker died lets go of the node within `ttlMs`.
 */
export async function takeLock(
  redis: Redis,
  node: string,
  healId: string,
  ttlMs: number = LOCK_TTL_MS,
): Promise<boolean> {
  const set = await redis.set(lockKey(node), healId, 'PX', ttlMs, 'NX');
  if (set === 'OK') return true;
  // Our own lock (a resumed heal, or a renewal): extend it.
  const extended = await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
    1,
    lockKey(node),
    healId,
    String(ttlMs),
  );
  return extended === 1;
}

/** The heal holding `node`'s lock, if any (operators, status, tests). */
export async function lockHolder(redis: Redis, node: string): Promise<string | undefined> {
  return (await redis.get(lockKey(node))) ?? undefined;
}

// KEYS: the node's lock. ARGV: the joining heal's id, its entry (JSON), the joined prefix, the
// joined-to key, the TTL. Atomic with `releaseScript`: an entry lands before the holder lets go
// (and is handed back by it) or finds the lock gone (nil: take the lock instead).
const joinScript = `
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then return false end
local list = ARGV[3] .. holder
redis.call('RPUSH', list, ARGV[2])
redis.call('EXPIRE', list, ARGV[5])
redis.call('SET', ARGV[4], holder, 'EX', ARGV[5])
return holder
`;

/**
 * Records `entry` (JSON) on the heal that holds `node`'s lock, unless `healId` holds it itself
 * or nobody does. Returns the holder's heal id when joined, else undefined.
 */
export async function joinHolder(
  redis: Redis,
  node: string,
  healId: string,
  entry: string,
): Promise<string | undefined> {
  const holder = (await redis.eval(
    joinScript,
    1,
    lockKey(node),
    healId,
    entry,
    JOINED_PREFIX,
    joinedToKey(healId),
    String(JOINED_TTL_SECONDS),
  )) as string | null;
  return holder ?? undefined;
}

/** The entries (JSON) recorded on heal `healId` so far, oldest first. */
export async function joinedEntries(redis: Redis, healId: string): Promise<string[]> {
  return await redis.lrange(joinedKey(healId), 0, -1);
}

/** The heal that heal `healId`'s job joined last, if it did. */
export async function joinedTo(redis: Redis, healId: string): Promise<string | undefined> {
  return (await redis.get(joinedToKey(healId))) ?? undefined;
}

export async function forgetJoinedTo(redis: Redis, healId: string): Promise<void> {
  await redis.del(joinedToKey(healId));
}

// KEYS: the node's lock, the heal's joined list. ARGV: the heal's id.
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return entries
`;

/**
 * Releases the lock of `node` if `healId` holds it, and returns the entries (JSON) of the heals
 * that joined it: their jobs wait for this heal to end and are woken by the caller.
 */
export async function releaseLock(redis: Redis, node: string, healId: string): Promise<string[]> {
  return (await redis.eval(releaseScript, 2, lockKey(node), joinedKey(healId), healId)) as string[];
}
