// How well each remedy works per fault: the outcomes of its last attempts in a bounded ring,
// stored as JSON. Feeds `skipBelowSuccessRate` (through `ratesFrom`) and the status page.
import { z } from 'zod';
import type { RemedyAction } from '../rules/index.ts';
import type { HealRecord } from './heal-record.ts';
import { faultOfStep } from './joined-faults.ts';
import type { StepRates } from './next-step.ts';

/** Outcomes kept per (fault, action) unless the caller says otherwise. */
export const DEFAULT_OUTCOME_CAPACITY = 100;

/** The largest ring: the catalog allows `overLast` up to 10,000. */
export const MAX_OUTCOME_CAPACITY = 10_000;

export const outcomeRingSchema = z
  .object({
    capacity: z.int().min(1).max(MAX_OUTCOME_CAPACITY),
    /** One character per attempt, oldest first: `1` success, `0` failure. */
    outcomes: z.string().regex(/^[01]*$/),
  })
  .refine((ring) => ring.outcomes.length <= ring.capacity, {
    message: 'more outcomes than the capacity',
    path: ['outcomes'],
  });

/** The last `capacity` outcomes of one (fault, action). */
export type OutcomeRing = z.infer<typeof outcomeRingSchema>;

/** Rings keyed by `successKey(fault, action)`. */
export const successTableSchema = z.record(z.string(), outcomeRingSchema);
export type SuccessTable = z.infer<typeof successTableSchema>;

export interface SuccessStats {
  readonly successes: number;
  readonly attempts: number;
  /** successes / attempts; null when there are no attempts. */
  readonly rate: number | null;
}

/** One step attempt that ended, as read from a record's transitions. */
export interface StepResult {
  readonly fault: string;
  readonly action: RemedyAction;
  readonly stepIndex: number;
  readonly success: boolean;
  readonly at: number;
}

/** `<fault>:<action>`: fault names are kebab-case and actions fixed, so the key is unambiguous. */
export function successKey(fault: string, action: RemedyAction): string {
  return `${fault}:${action}`;
}

function clampCapacity(capacity: number): number {
  return Math.min(Math.max(Math.floor(capacity), 1), MAX_OUTCOME_CAPACITY);
}

/**
 * The ring with one more outcome.
 *
 * - The newest outcome goes last; beyond `capacity` the oldest are dropped.
 * - `capacity` defaults to the ring's own (or `DEFAULT_OUTCOME_CAPACITY` for a new ring) and is
 *   clamped to 1…10,000; a smaller capacity trims the ring at once. It must be at least the
 *   largest `overLast` of the steps it serves, or their skip gate can never trigger.
 */
export function recordOutcome(
  ring: OutcomeRing | undefined,
  success: boolean,
  capacity?: number,
): OutcomeRing {
  const size = clampCapacity(capacity ?? ring?.capacity ?? DEFAULT_OUTCOME_CAPACITY);
  const outcomes = `${ring?.outcomes ?? ''}${success ? '1' : '0'}`.slice(-size);
  return { capacity: size, outcomes };
}

/**
 * Successes among the last `overLast` outcomes (all kept outcomes when omitted).
 *
 * - Fewer outcomes than `overLast`: counts what there is (the caller compares `attempts` with
 *   `overLast`, as `nextStep` does).
 */
export function successStats(ring: OutcomeRing | undefined, overLast?: number): SuccessStats {
  const all = ring?.outcomes ?? '';
  const n = overLast === undefined ? all.length : Math.max(0, Math.floor(overLast));
  // slice(-0) would be the whole string
  const window = n === 0 ? '' : all.slice(-n);
  const attempts = window.length;
  let successes = 0;
  for (const outcome of window) if (outcome === '1') successes += 1;
  return { successes, attempts, rate: attempts === 0 ? null : successes / attempts };
}

/** The table with one more outcome for (fault, action); the input is not changed. */
export function recordStepOutcome(
  table: SuccessTable,
  fault: string,
  action: RemedyAction,
  success: boolean,
  capacity?: number,
): SuccessTable {
  const key = successKey(fault, action);
  return { ...table, [key]: recordOutcome(table[key], success, capacity) };
}

/** The table with the step results of one `nextStep` call (see `stepResults`). */
export function recordStepResults(
  table: SuccessTable,
  results: readonly StepResult[],
  capacity?: number,
): SuccessTable {
  return results.reduce(
    (acc, result) => recordStepOutcome(acc, result.fault, result.action, result.success, capacity),
    table,
  );
}

export function statsFor(
  table: SuccessTable,
  fault: string,
  action: RemedyAction,
  overLast?: number,
): SuccessStats {
  return successStats(table[successKey(fault, action)], overLast);
}

/** The `rates` argument of `nextStep`, read from a table; undefined when nothing is recorded. */
export function ratesFrom(table: SuccessTable): StepRates {
  return (fault, action, overLast) => {
    const ring = table[successKey(fault, action)];
    if (ring === undefined) return undefined;
    const { successes, attempts } = successStats(ring, overLast);
    return { successes, attempts };
  };
}

/**
 * The step attempts that ended between two versions of a record (`after` = `nextStep(before…)`).
 *
 * - A step succeeded when the heal was healed at it (its remedy cleared the fault, its
 *   replacement removed the node) or, for cordon/drain, when it completed and the ladder moved on.
 * - It failed when it escalated (failed, or did not clear the fault in time) or abandoned the
 *   heal by failing.
 * - Skipped steps, cancellations, safety blocks and endings where the outcome is ambiguous (the
 *   fault resolved while the step failed or waited to be retried) are not attempts.
 */
export function stepResults(before: HealRecord | undefined, after: HealRecord): StepResult[] {
  const seen = before?.id === after.id ? before.transitions.length : 0;
  return after.transitions.slice(seen).flatMap((t) =>
    t.result === undefined
      ? []
      : [
          {
            fault: faultOfStep(after, t.step),
            action: t.action,
            stepIndex: t.step,
            success: t.result === 'success',
            at: t.at,
          },
        ],
  );
}
