// Budget slots of heals that are no longer running: a heal whose worker died (and whose job no
// worker resumed) or whose job was lost never releases its slot itself. Each slot carries a
// heartbeat the running heal renews with its node lock; a slot silent for longer than a bound is
// released. Pure: `now` is a parameter.
import type { BudgetState, InFlightHeal } from './budget-state.ts';

/**
 * How many node-lock lifetimes a slot may stay silent before it is released as a ghost's. The
 * heal renews its heartbeat every quarter lifetime, so a live heal misses this only if it could
 * not reach Redis for about 12 renewals in a row.
 */
export const GHOST_SLOT_LOCK_LIFETIMES = 3;

/** The bound after which a silent slot is a ghost's, for a node lock of `lockTtlMs`. */
export function ghostSlotAfterMs(lockTtlMs: number): number {
  return GHOST_SLOT_LOCK_LIFETIMES * lockTtlMs;
}

/** When the heal holding `slot` was last known to run. */
export function slotHeartbeat(slot: InFlightHeal): number {
  return slot.heartbeatAt ?? slot.since;
}

/**
 * The state with the slot of `healId` marked alive at `now`.
 *
 * - Only refreshes a slot the heal holds: a heal without one (never took one, or released as a
 *   ghost) gets none here; it takes one through the gates before it acts again.
 * - Unchanged (the same object) when the heal holds no slot; never moves a heartbeat back.
 */
export function renewSlot(state: BudgetState, healId: string, now: Date): BudgetState {
  const nowMs = now.getTime();
  const slot = state.inFlight.find((e) => e.healId === healId);
  if (slot === undefined || slotHeartbeat(slot) >= nowMs) return state;
  return {
    ...state,
    inFlight: state.inFlight.map((e) => (e.healId === healId ? { ...e, heartbeatAt: nowMs } : e)),
  };
}

/**
 * The state without the slots of heals that stopped running, and those slots.
 *
 * - A slot whose heartbeat (`heartbeatAt`, else `since`) is `afterMs` old or older at `now` is
 *   released; a younger one, or one with a heartbeat in the future (clock skew between workers),
 *   stays.
 * - The node's cooldown is not started (no `lastHealEndedAt`): the heal did not end, it stopped
 *   being heard from; its history entry stays, so the daily cap still counts it.
 * - Unchanged (the same object) when no slot is released.
 * - A heal whose slot was released and that comes back (its job resumed) is a heal without a slot:
 *   the gates decide again before its next act, and may hold it while others use the budget.
 */
export function releaseGhostSlots(
  state: BudgetState,
  now: Date,
  afterMs: number,
): { state: BudgetState; released: InFlightHeal[] } {
  const horizon = now.getTime() - afterMs;
  const released = state.inFlight.filter((e) => slotHeartbeat(e) <= horizon);
  if (released.length === 0) return { state, released };
  return {
    state: { ...state, inFlight: state.inFlight.filter((e) => slotHeartbeat(e) > horizon) },
    released,
  };
}
