// What the gates need to know about heals in flight, pool health, storms and node history.
// Stored as JSON (Redis), so every time is epoch milliseconds, never a Date.
import { z } from 'zod';

export const DAY_MS = 24 * 60 * 60_000;

export const inFlightHealSchema = z.object({
  healId: z.string().min(1),
  node: z.string().min(1),
  pool: z.string(),
  controlPlane: z.boolean(),
  /** When the heal took its slot. */
  since: z.number(),
  /**
   * When the heal holding the slot last said it runs (renewed with its node lock); `since` until
   * then. Records stored before it existed have none. A slot silent for too long is a ghost's
   * (`releaseGhostSlots`, slot-liveness.ts).
   */
  heartbeatAt: z.number().optional(),
});
export type InFlightHeal = z.infer<typeof inFlightHealSchema>;

export const poolHealthSchema = z.object({
  total: z.int().min(0),
  unhealthy: z.int().min(0),
});
/** Nodes of a pool and how many of them are unhealthy (Ready not True, or a fault firing). */
export type PoolHealth = z.infer<typeof poolHealthSchema>;

export const stormStateSchema = z.object({
  /** Set while a storm is on (including its cooldown). */
  activeSince: z.number().optional(),
  /** Set once the share is back at or under the threshold; the storm ends a cooldown later. */
  recoveredAt: z.number().optional(),
});
export type StormState = z.infer<typeof stormStateSchema>;

export const nodeHistorySchema = z.object({
  /** Heals of the node that took a slot in the last 24 h. */
  heals: z.array(z.object({ healId: z.string(), startedAt: z.number() })),
  /** When the node's last heal ended (released its slot). */
  lastHealEndedAt: z.number().optional(),
  /**
   * The fault of that heal when an operator ended it by lifting nodeheal's cordon: the cooldown
   * then keeps nodeheal off that fault only; a new fault of the node may still be healed.
   */
  takenOverFault: z.string().optional(),
});
export type NodeHistory = z.infer<typeof nodeHistorySchema>;

export const budgetStateSchema = z.object({
  inFlight: z.array(inFlightHealSchema),
  pools: z.record(z.string(), poolHealthSchema),
  storms: z.record(z.string(), stormStateSchema),
  nodes: z.record(z.string(), nodeHistorySchema),
});
/** Everything the gates read besides the node and the config; parse with `budgetStateSchema`. */
export type BudgetState = z.infer<typeof budgetStateSchema>;

export const EMPTY_BUDGET_STATE: BudgetState = { inFlight: [], pools: {}, storms: {}, nodes: {} };

/**
 * The state with `heal` holding a slot (call it when `checkGates` allowed the heal's first act).
 *
 * - Idempotent: a heal already in flight is not added twice, nor its start counted twice.
 * - The start is added to the node's history (for the daily cap); history older than 24 h is
 *   pruned.
 */
export function acquireSlot(
  state: BudgetState,
  heal: Omit<InFlightHeal, 'since'>,
  now: Date,
): BudgetState {
  const nowMs = now.getTime();
  const pruned = pruneHistory(state, now);
  if (pruned.inFlight.some((entry) => entry.healId === heal.healId)) return pruned;
  const history = pruned.nodes[heal.node] ?? { heals: [] };
  const heals = history.heals.some((h) => h.healId === heal.healId)
    ? history.heals
    : [...history.heals, { healId: heal.healId, startedAt: nowMs }];
  return {
    ...pruned,
    inFlight: [...pruned.inFlight, { ...heal, since: nowMs }],
    nodes: { ...pruned.nodes, [heal.node]: { ...history, heals } },
  };
}

/**
 * The state without the slot of `healId` (call it when the heal finished).
 *
 * - The node's `lastHealEndedAt` becomes `now` (the cooldown starts); `takenOverFault` (an
 *   operator ended the heal by lifting nodeheal's cordon) limits that cooldown to the fault.
 * - Idempotent: a heal that holds no slot changes nothing.
 */
export function releaseSlot(
  state: BudgetState,
  healId: string,
  now: Date,
  takenOverFault?: string,
): BudgetState {
  const entry = state.inFlight.find((e) => e.healId === healId);
  if (entry === undefined) return state;
  // The last heal's ending decides: an earlier heal's takeover does not carry over.
  const ended: NodeHistory = {
    heals: state.nodes[entry.node]?.heals ?? [],
    lastHealEndedAt: now.getTime(),
    ...(takenOverFault === undefined ? {} : { takenOverFault }),
  };
  return {
    ...state,
    inFlight: state.inFlight.filter((e) => e.healId !== healId),
    nodes: { ...state.nodes, [entry.node]: ended },
  };
}

/**
 * The state with node history older than 24 h dropped: heal starts at or before `now - 24h`, and
 * nodes with no such start whose last heal ended 24 h ago or more.
 */
export function pruneHistory(state: BudgetState, now: Date): BudgetState {
  const horizon = now.getTime() - DAY_MS;
  const nodes: Record<string, NodeHistory> = {};
  for (const [node, history] of Object.entries(state.nodes)) {
    const heals = history.heals.filter((h) => h.startedAt > horizon);
    const recentEnd = history.lastHealEndedAt !== undefined && history.lastHealEndedAt > horizon;
    if (heals.length === 0 && !recentEnd) continue;
    nodes[node] = {
      heals,
      ...(history.lastHealEndedAt === undefined
        ? {}
        : { lastHealEndedAt: history.lastHealEndedAt }),
      ...(history.takenOverFault === undefined ? {} : { takenOverFault: history.takenOverFault }),
    };
  }
  return { ...state, nodes };
}
