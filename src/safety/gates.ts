// The safety gates: may this heal run this step on this node now? Pure: `now` is a parameter.
import type { RemedyAction } from '../rules/index.ts';
import { formatDuration } from '../rules/index.ts';
import { DAY_MS } from './budget-state.ts';
import type { BudgetState, InFlightHeal } from './budget-state.ts';
import type { BlockingGate } from './gate-names.ts';
import { safetyConfig } from './safety-config.ts';
import type { SafetyConfig } from './safety-config.ts';
import { isStormActive, unhealthyShare, updateStormState } from './storm.ts';

/** Opts a node out when its value is exactly `true` (the same key as actions' LABEL_EXCLUDE). */
export const OPT_OUT_LABEL = 'nodeheal.io/exclude';

/** Either label, with any value, marks a control-plane node. */
export const CONTROL_PLANE_LABELS = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
] as const;

/** Control-plane nodes in flight at once (DESIGN.md: one at a time; KCP quorum). */
export const MAX_CONTROL_PLANE_IN_FLIGHT = 1;

export interface GateInput {
  /** The heal asking; a heal that already holds a slot is not blocked by it. */
  readonly healId: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly pool: string;
  /** The step about to act. */
  readonly action: RemedyAction;
  /** The fault being healed (a fault an operator took over is kept off for the cooldown). */
  readonly fault?: string;
  /** `POST /admin/pause` is in effect. */
  readonly paused: boolean;
  /** NODEHEAL_DRY_RUN: flagged on the result, never blocks. */
  readonly dryRun: boolean;
  readonly budget: BudgetState;
  /** Overrides of DEFAULT_SAFETY_CONFIG. */
  readonly config?: Partial<SafetyConfig>;
}

export type GateResult =
  | {
      readonly allowed: true;
      /** Act through the dry-run implementations. */
      readonly dryRun: boolean;
      /** The heal already holds a budget slot; otherwise take one (`acquireSlot`) before acting. */
      readonly holdsSlot: boolean;
    }
  | {
      readonly allowed: false;
      readonly gate: BlockingGate;
      readonly detail: string;
      /**
       * The block may lift by waiting (paused, storm, cooldown, budgets, another control-plane
       * node in flight): before a heal's first act, delay the job and ask again rather than
       * start and abandon it. False for opt-out, a forbidden control-plane action, the daily cap.
       */
      readonly defer: boolean;
      /** When the block lifts, if known (cooldown end, storm cooldown end, oldest heal + 24 h). */
      readonly retryAt?: number;
    };

export function isOptedOut(labels: Readonly<Record<string, string>>): boolean {
  return labels[OPT_OUT_LABEL] === 'true';
}

export function isControlPlane(labels: Readonly<Record<string, string>>): boolean {
  return CONTROL_PLANE_LABELS.some((label) => Object.hasOwn(labels, label));
}

/** Cordon, drain and replace move workloads off a node or remove it. */
function isDisruptive(action: RemedyAction): boolean {
  return action === 'cordon' || action === 'drain' || action === 'replace';
}

function duration(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms)));
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** Other nodes in flight (not this heal, not this node: one node counts once). */
function otherNodes(budget: BudgetState, input: GateInput, pick: (e: InFlightHeal) => boolean) {
  const nodes = new Set<string>();
  for (const entry of budget.inFlight) {
    if (entry.healId === input.healId || entry.node === input.node) continue;
    if (pick(entry)) nodes.add(entry.node);
  }
  return [...nodes].sort();
}

function block(gate: BlockingGate, detail: string, defer: boolean, retryAt?: number): GateResult {
  return { allowed: false, gate, detail, defer, ...(retryAt === undefined ? {} : { retryAt }) };
}

/**
 * Whether the heal `healId` may act `action` on `node` now. The first gate that blocks wins, in
 * this order. Pure: the caller reads the budget state and stores what it changes.
 *
 * Every step:
 * - `paused`: an operator paused nodeheal (`POST /admin/pause`).
 * - `opt-out`: the node has the label `nodeheal.io/exclude` with the value exactly `true`
 *   (DESIGN.md contract; `True`, `yes` or an empty value do not count).
 * - `control-plane` (expert remedies only; NHC, KCP quorum): a node labelled
 *   `node-role.kubernetes.io/control-plane` or `…/master` (any value) may not be cordoned,
 *   drained or replaced unless `allowControlPlaneReplace`; restart-kubelet,
 *   restart-container-runtime, clean-disk, sync-clock and reboot are allowed.
 * - `storm` (EKS 20 %, NHC storm cooldown): the node's pool is in a storm, computed from the
 *   stored storm state and the pool health given (`updateStormState`): more than 20 % of the
 *   pool and more than 2 of its nodes unhealthy, until 5 min after the share is back at or under
 *   20 %. Unknown pool health blocks too (DESIGN.md: when unsure, do nothing).
 * - `daily-cap` (DESIGN.md: after 3 heals in 24 h, replace or abandon): the node already had
 *   `maxHealsPer24h` other heals start in the last 24 h (a start exactly 24 h ago no longer
 *   counts); expert remedies are blocked, cordon, drain and replace are not (`nextStep` skips to
 *   them).
 *
 * Starting a heal only (the heal holds no slot yet; one that holds a slot passed these when it
 * took it and is never blocked by them, so budgets do not stop a heal halfway):
 * - `cooldown` (DESIGN.md 30 min; OCI 20 min, KCP 1 h): the node's last heal ended less than
 *   `nodeCooldownMs` ago; at exactly 30 min it may heal again.
 * - `control-plane` (one at a time): another control-plane node is in flight.
 * - `pool-budget` (DESIGN.md 1 per pool; AKS, kured, OCI): as many other nodes of the pool are
 *   in flight as the budget allows.
 * - `cluster-budget` (DESIGN.md 3): as many other nodes of the cluster are in flight as the
 *   budget allows.
 * - Budgets count nodes, not heals: other heals of the same node never count against it (the node
 *   lock serialises them).
 *
 * Not blocking:
 * - `dry-run`: returned as `dryRun: true` on an allowed result; dry runs pass the same gates.
 */
export function checkGates(input: GateInput, now: Date): GateResult {
  const config = safetyConfig(input.config);
  const nowMs = now.getTime();
  const { budget, node, pool, action } = input;
  const controlPlane = isControlPlane(input.labels);
  const holdsSlot = budget.inFlight.some((entry) => entry.healId === input.healId);

  if (input.paused) return block('paused', 'nodeheal is paused (POST /admin/resume)', true);
  if (isOptedOut(input.labels)) {
    return block('opt-out', `${node} is labelled ${OPT_OUT_LABEL}=true`, false);
  }
  if (controlPlane && isDisruptive(action) && !config.allowControlPlaneReplace) {
    return block(
      'control-plane',
      `${node} is a control-plane node: only expert remedies run there, not ${action} (allowControlPlaneReplace is off)`,
      false,
    );
  }

  const health = budget.pools[pool];
  if (health === undefined) {
    return block('storm', `health of pool ${pool} is unknown; not acting while unsure`, true);
  }
  const storm = updateStormState(budget.storms[pool], health, now, config);
  if (isStormActive(storm)) {
    const share = `${health.unhealthy} of ${health.total} nodes (${percent(unhealthyShare(health))}) unhealthy`;
    return storm.recoveredAt === undefined
      ? block(
          'storm',
          `storm in pool ${pool} since ${new Date(storm.activeSince ?? nowMs).toISOString()}: ${share}`,
          true,
        )
      : block(
          'storm',
          `pool ${pool} recovering from a storm: ${share}; cooldown ends in ${duration(storm.recoveredAt + config.stormCooldownMs - nowMs)}`,
          true,
          storm.recoveredAt + config.stormCooldownMs,
        );
  }

  const history = budget.nodes[node];
  const recent = (history?.heals ?? [])
    .filter((h) => h.healId !== input.healId && h.startedAt > nowMs - DAY_MS)
    .map((h) => h.startedAt)
    .sort((a, b) => a - b);
  if (recent.length >= config.maxHealsPer24h && !isDisruptive(action)) {
    const oldest = recent[recent.length - config.maxHealsPer24h] ?? nowMs;
    return block(
      'daily-cap',
      `${node} was healed ${recent.length} times in the last 24h (cap ${config.maxHealsPer24h}): no more ${action}; replace it or leave it to a human`,
      false,
      oldest + DAY_MS,
    );
  }

  if (!holdsSlot) {
    const endedAt = history?.lastHealEndedAt;
    // After an operator took a heal over (uncordoned nodeheal's cordon), only that fault waits:
    // a new fault of the node is healed as usual.
    const otherFault =
      history?.takenOverFault !== undefined &&
      input.fault !== undefined &&
      input.fault !== history.takenOverFault;
    if (endedAt !== undefined && nowMs - endedAt < config.nodeCooldownMs && !otherFault) {
      return block(
        'cooldown',
        `${node} was healed ${duration(nowMs - endedAt)} ago; cooldown is ${duration(config.nodeCooldownMs)}`,
        true,
        endedAt + config.nodeCooldownMs,
      );
    }
    if (controlPlane) {
      const others = otherNodes(budget, input, (e) => e.controlPlane);
      if (others.length >= MAX_CONTROL_PLANE_IN_FLIGHT) {
        return block(
          'control-plane',
          `control-plane node ${others.join(', ')} is already being healed; one at a time`,
          true,
        );
      }
    }
    const inPool = otherNodes(budget, input, (e) => e.pool === pool);
    if (inPool.length >= config.poolBudget) {
      return block(
        'pool-budget',
        `pool ${pool} already has ${inPool.length} node(s) in flight (${inPool.join(', ')}); budget ${config.poolBudget}`,
        true,
      );
    }
    const inCluster = otherNodes(budget, input, () => true);
    if (inCluster.length >= config.clusterBudget) {
      return block(
        'cluster-budget',
        `${inCluster.length} node(s) in flight in the cluster (${inCluster.join(', ')}); budget ${config.clusterBudget}`,
        true,
      );
    }
  }

  return { allowed: true, dryRun: input.dryRun, holdsSlot };
}
