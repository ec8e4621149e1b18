// Storm mode: when a large share of a pool is unhealthy at once, the cause is rarely the nodes
// (a network partition, a broken exporter); healing them would make things worse.
import type { PoolHealth, StormState } from './budget-state.ts';
import { DEFAULT_SAFETY_CONFIG } from './safety-config.ts';
import type { SafetyConfig } from './safety-config.ts';

export type StormConfig = Pick<
  SafetyConfig,
  'stormThreshold' | 'stormMinNodes' | 'stormCooldownMs'
>;

/** Unhealthy nodes / all nodes; 0 for an empty pool. */
export function unhealthyShare(health: PoolHealth): number {
  return health.total <= 0 ? 0 : health.unhealthy / health.total;
}

/**
 * A storm starts when the share exceeds the threshold and more than `stormMinNodes` nodes are
 * unhealthy (DESIGN.md: 20 % and more than 2 nodes; EKS 20 %). Exactly 20 %, or exactly 2
 * nodes, is not a storm.
 */
export function stormCondition(health: PoolHealth, config: Partial<StormConfig> = {}): boolean {
  const threshold = config.stormThreshold ?? DEFAULT_SAFETY_CONFIG.stormThreshold;
  const minNodes = config.stormMinNodes ?? DEFAULT_SAFETY_CONFIG.stormMinNodes;
  return unhealthyShare(health) > threshold && health.unhealthy > minNodes;
}

/** A storm is on from `activeSince` until its cooldown after recovery has passed. */
export function isStormActive(state: StormState | undefined): boolean {
  return state?.activeSince !== undefined;
}

/**
 * The storm state of a pool after seeing its health at `now`. Pure; call it whenever pool
 * health is observed, and store the result.
 *
 * - Unknown health (`undefined`) changes nothing.
 * - The storm condition (above) starts a storm, or keeps it on; `activeSince` stays the first
 *   moment and any recovery in progress is forgotten.
 * - Hysteresis: a storm on recovers only when the share is back at or under the threshold
 *   (a pool of 5 with 2 unhealthy, 40 %, stays in storm even though 2 nodes would not start
 *   one). The first such sighting sets `recoveredAt`; the share exceeding the threshold again
 *   clears it.
 * - The storm ends (`{}`) once `now - recoveredAt >= stormCooldownMs` (DESIGN.md: 5 min, the
 *   NHC storm cooldown); until then it is still on.
 */
export function updateStormState(
  prev: StormState | undefined,
  health: PoolHealth | undefined,
  now: Date,
  config: Partial<StormConfig> = {},
): StormState {
  const previous = prev ?? {};
  if (health === undefined) return previous;
  const nowMs = now.getTime();
  const threshold = config.stormThreshold ?? DEFAULT_SAFETY_CONFIG.stormThreshold;
  const cooldown = config.stormCooldownMs ?? DEFAULT_SAFETY_CONFIG.stormCooldownMs;
  if (stormCondition(health, config)) return { activeSince: previous.activeSince ?? nowMs };
  if (previous.activeSince === undefined) return {};
  if (unhealthyShare(health) > threshold) return { activeSince: previous.activeSince };
  const recoveredAt = previous.recoveredAt ?? nowMs;
  if (nowMs - recoveredAt >= cooldown) return {};
  return { activeSince: previous.activeSince, recoveredAt };
}
