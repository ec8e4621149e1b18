// How long each ladder step takes per (pool, fault, action): the last durations of its attempts,
// stored as JSON next to the success rates. Feeds `order: fastest` (fastest-order.ts) and the
// status page. Pure.
import { z } from 'zod';
import type { RemedyAction } from '../rules/index.ts';
import type { HealRecord } from './heal-record.ts';
import { faultOfStep } from './joined-faults.ts';

/** Durations kept per (pool, fault, action): the newest 20 attempts. */
export const DURATION_CAPACITY = 20;

/** Longest duration kept (a week): anything longer is a clock jump, not a step. */
const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/** Keyed by `durationKey(pool, fault, action)`: milliseconds, oldest first, at most 20. */
export const durationTableSchema = z.record(
  z.string(),
  z.array(z.int().min(0).max(MAX_DURATION_MS)).max(DURATION_CAPACITY),
);
export type DurationTable = z.infer<typeof durationTableSchema>;

/** One step attempt that ended, with how long it took from its first act to its result. */
export interface StepDuration {
  readonly pool: string;
  readonly fault: string;
  readonly action: RemedyAction;
  readonly ms: number;
}

export interface DurationStats {
  readonly count: number;
  /** Median (the lower of the two middle values for an even count); null without samples. */
  readonly p50Ms: number | null;
  readonly meanMs: number | null;
}

/**
 * `<pool>/<fault>:<action>`: pools are label values (no `/`), faults kebab-case, actions fixed,
 * so the key is unambiguous.
 */
export function durationKey(pool: string, fault: string, action: RemedyAction): string {
  return `${pool}/${fault}:${action}`;
}

/** The parts of a key; undefined for a key that is not one. */
export function parseDurationKey(
  key: string,
): { pool: string; fault: string; action: string } | undefined {
  const match = /^(.*)\/([^/:]+):([a-z-]+)$/.exec(key);
  if (match === null) return undefined;
  return { pool: match[1] ?? '', fault: match[2] ?? '', action: match[3] ?? '' };
}

/**
 * The table with the durations of ended step attempts appended; the input is not changed.
 *
 * - The newest duration goes last; beyond `DURATION_CAPACITY` the oldest are dropped.
 * - Negative or non-finite durations are clamped to 0; longer than a week to a week.
 */
export function recordDurations(
  table: DurationTable,
  durations: readonly StepDuration[],
): DurationTable {
  const next: DurationTable = { ...table };
  for (const d of durations) {
    const key = durationKey(d.pool, d.fault, d.action);
    const ms = Number.isFinite(d.ms) ? Math.min(Math.max(Math.round(d.ms), 0), MAX_DURATION_MS) : 0;
    next[key] = [...(next[key] ?? []), ms].slice(-DURATION_CAPACITY);
  }
  return next;
}

/** Count, median and mean of a list of durations. */
export function durationStats(samples: readonly number[] | undefined): DurationStats {
  const list = [...(samples ?? [])].sort((a, b) => a - b);
  if (list.length === 0) return { count: 0, p50Ms: null, meanMs: null };
  const mean = list.reduce((sum, ms) => sum + ms, 0) / list.length;
  return {
    count: list.length,
    p50Ms: list[Math.floor((list.length - 1) / 2)] ?? null,
    meanMs: Math.round(mean),
  };
}

export function durationStatsFor(
  table: DurationTable,
  pool: string,
  fault: string,
  action: RemedyAction,
): DurationStats {
  return durationStats(table[durationKey(pool, fault, action)]);
}

/**
 * How long each step attempt took that ended between two versions of a record (`after` =
 * `nextStep(before…)`): the attempts `stepResults` reports, the same ones the success rates count.
 *
 * - An attempt runs from the first time its step began acting (`started` or `acting`, retries
 *   and their backoff included) to the transition that gave its result: for a remedy that did
 *   not clear the fault, that includes the whole verification wait; for one that did, the time
 *   until the fault resolved.
 * - An attempt whose start is not among the transitions is left out.
 */
export function stepDurations(before: HealRecord | undefined, after: HealRecord): StepDuration[] {
  const seen = before?.id === after.id ? before.transitions.length : 0;
  const out: StepDuration[] = [];
  after.transitions.forEach((t, index) => {
    if (index < seen || t.result === undefined) return;
    let start: number | undefined;
    for (let i = index - 1; i >= 0; i -= 1) {
      const earlier = after.transitions[i];
      if (earlier === undefined || earlier.result !== undefined) break;
      if (earlier.step !== t.step) continue;
      if (earlier.kind === 'started' || earlier.kind === 'acting') start = earlier.at;
    }
    if (start === undefined) return;
    out.push({
      pool: after.pool,
      fault: faultOfStep(after, t.step),
      action: t.action,
      ms: t.at - start,
    });
  });
  return out;
}
