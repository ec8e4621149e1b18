// The expected time to heal of a ladder, learned from the durations and success rates of its
// steps, and `order: fastest`: the expert remedies tried in the order that heals soonest. Pure.
import type { LadderStep, RemedyAction } from '../rules/index.ts';
import { formatDuration } from '../rules/index.ts';
import { isExpertRemedy, isPreparation } from './heal-record.ts';
import { durationStats, durationKey, type DurationTable } from './step-durations.ts';
import { successKey, successStats, type SuccessTable } from './success-rate.ts';

/** Durations a reorderable step needs in the pool before `order: fastest` trusts them. */
export const MIN_DURATION_SAMPLES = 3;

/** What the cost model knows of one step. */
export interface StepCost {
  readonly action: RemedyAction;
  /** Expected duration: the mean of the recorded ones, else the step's timeout. */
  readonly durationMs: number;
  /** Recorded durations in this pool (0: `durationMs` is the timeout). */
  readonly samples: number;
  /** Chance the step ends the heal (smoothed: (successes + 1) / (attempts + 2)); 0 for cordon/drain. */
  readonly healChance: number;
  readonly successes: number;
  readonly attempts: number;
}

/**
 * The cost of each step of `ladder` for (`pool`, `fault`).
 *
 * - Duration: the mean of the step's recorded durations in that pool; without any, its timeout
 *   (what a remedy that does not clear the fault costs: the whole verification wait).
 * - Chance to heal: the success rate of the (fault, action) over its kept attempts with one
 *   success and one failure added (Laplace), so a step never tried counts 1/2 and one that never
 *   worked still has a small chance; cordon and drain never end a heal (0).
 */
export function stepCosts(
  ladder: readonly LadderStep[],
  pool: string,
  fault: string,
  durations: DurationTable,
  rates: SuccessTable,
): StepCost[] {
  return ladder.map((step) => {
    const d = durationStats(durations[durationKey(pool, fault, step.action)]);
    const s = successStats(rates[successKey(fault, step.action)]);
    return {
      action: step.action,
      durationMs: d.meanMs ?? step.timeoutMs,
      samples: d.count,
      healChance: isPreparation(step.action) ? 0 : (s.successes + 1) / (s.attempts + 2),
      successes: s.successes,
      attempts: s.attempts,
    };
  });
}

/**
 * Expected time to heal from step `from` on (milliseconds): E(i) = d(i) + (1 − p(i)) · E(i+1).
 *
 * - The last step (replace) ends the heal either way: E(last) = d(last); past the end, 0.
 * - A step that fails costs its time plus what comes after it; cordon and drain (p = 0) always
 *   cost their time plus the rest.
 */
export function expectedTimeToHeal(costs: readonly StepCost[], from = 0): number {
  let expected = 0;
  for (let i = costs.length - 1; i >= Math.max(0, from); i -= 1) {
    const cost = costs[i];
    if (cost === undefined) continue;
    const p = i === costs.length - 1 ? 1 : cost.healChance;
    expected = cost.durationMs + (1 - p) * expected;
  }
  return Math.round(expected);
}

export interface FastestOrder {
  /** The ladder to run (the written one when nothing moved). */
  readonly ladder: readonly LadderStep[];
  readonly reordered: boolean;
  /** Why, in words, for the heal record. */
  readonly note: string;
  readonly expectedMs: number;
  readonly writtenExpectedMs: number;
}

/** Smith's rule: the step with the least time per chance of healing goes first. */
function ratio(cost: StepCost): number {
  return cost.healChance <= 0 ? Number.POSITIVE_INFINITY : cost.durationMs / cost.healChance;
}

function describe(cost: StepCost): string {
  return (
    `${cost.action} (took ${formatDuration(cost.durationMs)} on average over ${cost.samples}, ` +
    `cleared the fault in ${cost.successes} of ${cost.attempts})`
  );
}

/**
 * `order: fastest`: the ladder's expert remedies in the order of least expected time to heal.
 *
 * - Only the leading expert remedies move (restart-kubelet, restart-container-runtime,
 *   clean-disk, sync-clock, reboot before the first cordon, drain or replace); cordon, drain,
 *   replace and everything after them keep their place, so replace (with its preparation) stays
 *   last.
 * - Enough history: each of those remedies has at least `MIN_DURATION_SAMPLES` recorded
 *   durations in this pool; otherwise the written order stands (the note says which lacks them).
 * - Order: by expected duration over chance to heal (`StepCost`), least first — the order that
 *   minimises `expectedTimeToHeal` when attempts are independent; ties keep the written order.
 */
export function orderFastest(
  ladder: readonly LadderStep[],
  pool: string,
  fault: string,
  durations: DurationTable,
  rates: SuccessTable,
): FastestOrder {
  const costs = stepCosts(ladder, pool, fault, durations, rates);
  const writtenExpectedMs = expectedTimeToHeal(costs);
  let lead = ladder.findIndex((step) => !isExpertRemedy(step.action));
  if (lead < 0) lead = ladder.length;
  const keep = (note: string): FastestOrder => ({
    ladder,
    reordered: false,
    note,
    expectedMs: writtenExpectedMs,
    writtenExpectedMs,
  });
  if (lead < 2) return keep('order: fastest: fewer than two remedies to order; written order');
  const lacking = costs.slice(0, lead).filter((c) => c.samples < MIN_DURATION_SAMPLES);
  if (lacking.length > 0) {
    const which = lacking.map((c) => `${c.action} ${c.samples}`).join(', ');
    return keep(
      `order: fastest: written order kept: not enough history in pool ${pool} ` +
        `(durations recorded: ${which}; ${MIN_DURATION_SAMPLES} needed each)`,
    );
  }
  const indexed = costs.map((cost, index) => ({ cost, step: ladder[index] as LadderStep, index }));
  const order = indexed
    .slice(0, lead)
    .sort((a, b) => ratio(a.cost) - ratio(b.cost) || a.index - b.index);
  const said = order.map((o) => describe(o.cost)).join(' before ');
  if (order.every((o, position) => o.index === position)) {
    return keep(
      `order: fastest: the written order is already the fastest: ${said}; ` +
        `expected time to heal ${formatDuration(writtenExpectedMs)}`,
    );
  }
  const moved = [...order, ...indexed.slice(lead)];
  const expectedMs = expectedTimeToHeal(moved.map((o) => o.cost));
  return {
    ladder: moved.map((o) => o.step),
    reordered: true,
    note:
      `order: fastest: ${said}; ` +
      `expected time to heal ${formatDuration(expectedMs)} instead of ` +
      `${formatDuration(writtenExpectedMs)} in the written order`,
    expectedMs,
    writtenExpectedMs,
  };
}
