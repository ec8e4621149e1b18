// The runner's side of the safety gates: read what they need (pool health, pause, the shared
// budget in Redis), ask the pure `checkGates`, and take a budget slot atomically when allowed.
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { updateBudget } from '../store/index.ts';
import type { RemedyAction } from '../rules/index.ts';
import {
  acquireSlot,
  checkGates,
  EMPTY_BUDGET_STATE,
  isStormActive,
  pruneHistory,
  releaseSlot,
  updateStormState,
  windowGate,
  windowsFor,
  type GateResult,
  type MaintenanceWindow,
  type PoolHealth,
  type SafetyConfig,
} from '../safety/index.ts';
import type { HealStore } from '../store/index.ts';
import { isUnhealthy, poolOf } from '../heal/index.ts';
import type { HealJob } from '../queue/index.ts';
import { askExternalGates, type ExternalGate } from './external-gates.ts';
import { logGhosts, withoutGhosts, type LivenessDeps } from './ghost-slots.ts';

export interface GateCheckDeps {
  redis: Redis;
  store: Pick<HealStore, 'paused'>;
  listNodes: (labelSelector?: string) => Promise<V1Node[]>;
  safety: Partial<SafetyConfig>;
  /** Maintenance windows per pool (NODEHEAL_MAINTENANCE_WINDOWS). */
  windows: readonly MaintenanceWindow[];
  poolLabels: readonly string[];
  dryRun: boolean;
  metrics: { stormActive(active: boolean): void };
  now: () => Date;
  /** Asked before the budget: the operator's blockers and silences, pre-step hooks. */
  externalGates?: readonly ExternalGate[];
  /** Slots silent for a few node-lock lifetimes are ghosts' (ghost-slots.ts); told in the log. */
  nodeLockTtlMs?: LivenessDeps['nodeLockTtlMs'];
  logger?: LivenessDeps['logger'];
}

/** The heal step the gates are asked about. */
export interface GateSubject {
  healId: string;
  step: number;
  job: Pick<HealJob, 'fault' | 'labels'>;
}

/** A gate answer taken for a heal's step a moment ago, with the node as read then. */
interface FreshGate {
  step: number;
  at: number;
  result: GateResult;
  node: V1Node;
}
/** In memory only: a resumed heal asks again. */
const fresh = new Map<string, FreshGate>();
/** How long an answer stays good for the act it was taken for. */
const FRESH_MS = 2000;

/** Remembers the gates' answer for `step`, so the act that follows does not ask twice. */
export function rememberGate(healId: string, entry: FreshGate): void {
  fresh.set(healId, entry);
}

/** The answer remembered for `step` if it is recent; forgets it either way. */
export function takeFreshGate(healId: string, step: number, now: number): FreshGate | undefined {
  const entry = fresh.get(healId);
  fresh.delete(healId);
  return entry && entry.step === step && now - entry.at < FRESH_MS ? entry : undefined;
}

export function forgetGate(healId: string): void {
  fresh.delete(healId);
}

/** Checks the safety gates for `action` on `node` and, when allowed, takes a budget slot (atomic in Redis). */
export async function checkAndHold(
  deps: GateCheckDeps,
  subject: GateSubject,
  node: V1Node,
  action: RemedyAction,
): Promise<GateResult> {
  const { healId } = subject;
  const name = node.metadata?.name ?? '';
  const labels = node.metadata?.labels ?? {};
  const { label, pool } = poolOf(node, deps.poolLabels);
  // Not for dry runs: they change nothing, so nobody's signal needs to hold them.
  if (!deps.dryRun && (deps.externalGates?.length ?? 0) > 0) {
    const hold = await askExternalGates(deps.externalGates ?? [], {
      healId,
      node,
      pool,
      action,
      step: subject.step,
      fault: subject.job.fault,
      alertLabels: subject.job.labels,
    });
    if (hold) {
      return {
        allowed: false,
        gate: hold.gate,
        detail: hold.detail,
        defer: true,
        ...(hold.retryAt === undefined ? {} : { retryAt: hold.retryAt }),
      };
    }
  }
  const members = await deps.listNodes(label ? `${label}=${pool}` : undefined);
  const health: PoolHealth = {
    total: members.length,
    unhealthy: members.filter(isUnhealthy).length,
  };
  const paused = (await deps.store.paused()) !== undefined;
  const ready =
    node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const now = deps.now();
  const result = await updateBudget(deps.redis, (current) => {
    const ghosts = withoutGhosts(deps, pruneHistory(current ?? EMPTY_BUDGET_STATE, now), now);
    let state = ghosts.state;
    state = {
      ...state,
      pools: { ...state.pools, [pool]: health },
      storms: {
        ...state.storms,
        [pool]: updateStormState(state.storms[pool], health, now, deps.safety),
      },
    };
    let gate = checkGates(
      {
        healId,
        node: name,
        labels,
        pool,
        action,
        fault: subject.job.fault,
        paused,
        dryRun: deps.dryRun,
        budget: state,
        config: deps.safety,
      },
      now,
    );
    // Outside the node's maintenance windows, a disruptive step of a Ready node waits (after the
    // other gates: an opted-out node is skipped, not held).
    if (gate.allowed) {
      const window = windowGate(windowsFor(deps.windows, labels), action, ready, now.getTime());
      if (!window.allowed) {
        gate = {
          allowed: false,
          gate: 'window',
          detail: window.detail,
          defer: true,
          ...(window.retryAt === undefined ? {} : { retryAt: window.retryAt }),
        };
      }
    }
    // Dry-run heals take no real budget: they must not hold back real ones.
    if (gate.allowed && !gate.holdsSlot && !deps.dryRun) {
      state = acquireSlot(
        state,
        {
          healId,
          node: name,
          pool,
          controlPlane: labels['node-role.kubernetes.io/control-plane'] !== undefined,
        },
        now,
      );
    }
    return {
      next: state,
      result: {
        gate,
        storm: Object.values(state.storms).some(isStormActive),
        ghosts: ghosts.released,
      },
    };
  });
  logGhosts(deps, result.ghosts, now);
  deps.metrics.stormActive(result.storm);
  return result.gate;
}

/** Gives the heal's budget slot back (its node's cooldown starts now); no slot, no change. */
export async function releaseBudgetSlot(
  deps: Pick<GateCheckDeps, 'redis'>,
  healId: string,
  now: Date,
  takenOverFault?: string,
): Promise<void> {
  await updateBudget(deps.redis, (s) => ({
    next: releaseSlot(s ?? EMPTY_BUDGET_STATE, healId, now, takenOverFault),
    result: undefined,
  }));
}
