// Nothing held by a ghost: a heal keeps its node lock and its budget slot only while it runs. The
// runner renews both together (every quarter of the lock's lifetime); a heal whose worker died,
// or whose job was lost, stops renewing: its lock expires by its TTL and its slot is released
// by the next worker that reads the budget (`releaseGhostSlots`, after GHOST_SLOT_LOCK_LIFETIMES
// lock lifetimes of silence), with a log line naming the heal.
import type { Redis } from 'ioredis';
import type { Logger } from '../log/index.ts';
import {
  ghostSlotAfterMs,
  releaseGhostSlots,
  renewSlot,
  type BudgetState,
  type InFlightHeal,
} from '../safety/index.ts';
import { lockHolder, LOCK_TTL_MS, takeLock, updateBudget } from '../store/index.ts';

export interface LivenessDeps {
  redis: Redis;
  /** The node lock's lifetime (NODEHEAL_NODE_LOCK_TTL_MS); LOCK_TTL_MS when unset. */
  nodeLockTtlMs?: number;
  dryRun: boolean;
  logger?: Pick<Logger, 'warn'>;
  now: () => Date;
}

export function nodeLockTtl(deps: Pick<LivenessDeps, 'nodeLockTtlMs'>): number {
  return deps.nodeLockTtlMs ?? LOCK_TTL_MS;
}

/** The budget without the slots of heals silent for too long, and those slots. */
export function withoutGhosts(
  deps: Pick<LivenessDeps, 'nodeLockTtlMs'>,
  state: BudgetState,
  now: Date,
): { state: BudgetState; released: InFlightHeal[] } {
  return releaseGhostSlots(state, now, ghostSlotAfterMs(nodeLockTtl(deps)));
}

/** One warning per slot released as a ghost's: which heal, on which node, silent since when. */
export function logGhosts(
  deps: Pick<LivenessDeps, 'logger' | 'nodeLockTtlMs'>,
  released: readonly InFlightHeal[],
  now: Date,
): void {
  for (const slot of released) {
    const since = slot.heartbeatAt ?? slot.since;
    deps.logger?.warn(
      {
        ghostHealId: slot.healId,
        node: slot.node,
        pool: slot.pool,
        silentMs: now.getTime() - since,
        boundMs: ghostSlotAfterMs(nodeLockTtl(deps)),
      },
      `budget slot of heal ${slot.healId} on ${slot.node} released: not renewed since ${new Date(since).toISOString()} (its worker died or its job is gone)`,
    );
  }
}

/**
 * What a renewal found: the lock extended (or re-taken: it had lapsed and nobody took it), held by
 * another heal (this one must stop acting: lease-watchdog.ts), or not answered (Redis failed; the
 * next renewal tries again, and the watchdog's clock decides how long that may go on).
 */
export type RenewResult =
  | { kind: 'renewed' }
  | { kind: 'held-by-other'; holder: string }
  | { kind: 'failed'; error: unknown };

/**
 * Renews what a running heal holds: its node lock (re-taken if it lapsed and nobody took it) and
 * the heartbeat of its budget slot; ghosts' slots found on the way are released. Never throws:
 * a missed renewal is made up by the next one. A lock another heal holds is said, not fought
 * over, and the slot's heartbeat is then not renewed either. The answer is the lock's: a slot
 * that could not be renewed is only logged (it has three lock lifetimes before it counts as a
 * ghost's).
 */
export async function renewHold(
  deps: LivenessDeps,
  node: string,
  healId: string,
): Promise<RenewResult> {
  try {
    if (!(await takeLock(deps.redis, node, healId, nodeLockTtl(deps)))) {
      // Refused: another heal's lock, or ours lapsing between the two commands of takeLock
      // (then nobody holds it and the next renewal takes it again).
      const holder = await lockHolder(deps.redis, node);
      if (holder !== undefined && holder !== healId) return { kind: 'held-by-other', holder };
      return { kind: 'failed', error: new Error('the node lock lapsed during its renewal') };
    }
  } catch (error) {
    deps.logger?.warn({ err: error, healId, node }, 'could not renew the node lock');
    return { kind: 'failed', error };
  }
  // Dry-run heals hold no slot.
  if (deps.dryRun) return { kind: 'renewed' };
  try {
    const now = deps.now();
    const released = await updateBudget(deps.redis, (current) => {
      if (current === undefined) return { next: undefined, result: [] };
      const renewed = renewSlot(current, healId, now);
      const { state, released } = withoutGhosts(deps, renewed, now);
      return { next: state === current ? undefined : state, result: released };
    });
    logGhosts(deps, released, now);
  } catch (error) {
    deps.logger?.warn({ err: error, healId, node }, 'could not renew the budget slot');
  }
  return { kind: 'renewed' };
}
