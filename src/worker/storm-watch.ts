// Storm mode judged all the time: every few seconds the worker computes each pool's health from
// its watched Nodes and moves the pools' storm states in the shared budget (Redis), so that a
// storm starts when a pool's unhealthy share crosses the threshold, and its cooldown runs, even
// while no heal of that pool is at its gates. The gates still judge too, at every check; both
// write the same pure `updateStormState`, in compare-and-set updates.
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { poolHealths } from '../heal/index.ts';
import type { Logger } from '../log/index.ts';
import {
  EMPTY_BUDGET_STATE,
  isStormActive,
  updateStormState,
  type BudgetState,
  type PoolHealth,
  type SafetyConfig,
} from '../safety/index.ts';
import { updateBudget } from '../store/index.ts';

export interface StormWatchDeps {
  redis: Redis;
  /** The watched Nodes; undefined while the watch has not listed them yet. */
  nodes: () => readonly V1Node[] | undefined;
  poolLabels: readonly string[];
  safety: Partial<SafetyConfig>;
  metrics: { stormActive(active: boolean): void };
  logger: Pick<Logger, 'info' | 'warn'>;
  now: () => Date;
}

/** How often pool health is judged: a kubelet's status update period is 10 s. */
export const STORM_WATCH_MS = 2000;

/** The budget with every pool's health and storm state moved on; the same object when unchanged. */
export function withPoolHealth(
  state: BudgetState,
  healths: ReadonlyMap<string, PoolHealth>,
  now: Date,
  safety: Partial<SafetyConfig>,
): BudgetState {
  let changed = false;
  const pools = { ...state.pools };
  const storms = { ...state.storms };
  for (const [pool, health] of healths) {
    const before = state.pools[pool];
    if (before?.total !== health.total || before.unhealthy !== health.unhealthy) {
      pools[pool] = health;
      changed = true;
    }
    const storm = updateStormState(state.storms[pool], health, now, safety);
    if (JSON.stringify(storm) !== JSON.stringify(state.storms[pool] ?? {})) {
      storms[pool] = storm;
      changed = true;
    }
  }
  return changed ? { ...state, pools, storms } : state;
}

/** Starts judging storms every `intervalMs`; stop() ends it. Never throws (a missed tick is made up). */
export function watchStorms(
  deps: StormWatchDeps,
  intervalMs = STORM_WATCH_MS,
): { stop: () => void } {
  let running = false;
  // What this worker last saw of each pool's storm: a storm's start or end is told once, whoever
  // wrote it (this watch, or a heal's gates).
  const seen = new Map<string, boolean>();
  const tick = async () => {
    const nodes = deps.nodes();
    if (running || nodes === undefined) return;
    running = true;
    try {
      const healths = poolHealths(nodes, deps.poolLabels);
      const now = deps.now();
      const after = await updateBudget(deps.redis, (current) => {
        const state = current ?? EMPTY_BUDGET_STATE;
        const next = withPoolHealth(state, healths, now, deps.safety);
        return { next: next === state ? undefined : next, result: next };
      });
      for (const [pool, health] of healths) {
        const was = seen.get(pool) ?? false;
        const is = isStormActive(after.storms[pool]);
        seen.set(pool, is);
        if (!was && is) {
          deps.logger.warn(
            { pool, unhealthy: health.unhealthy, total: health.total },
            `storm mode on in pool ${pool}: ${health.unhealthy} of ${health.total} nodes unhealthy; its new heals wait`,
          );
        } else if (was && !is) {
          deps.logger.info({ pool }, `storm mode off in pool ${pool}: recovered past its cooldown`);
        }
      }
      deps.metrics.stormActive(Object.values(after.storms).some(isStormActive));
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not judge pool health for storm mode');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
