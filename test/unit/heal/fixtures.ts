// Shared builders for the heal tables: a fixed clock, ladders, observations and a driver.
import {
  newHealRecord,
  nextStep,
  type Command,
  type HealRecord,
  type Observation,
  type StepRates,
} from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';
import type { Gate } from '../../../src/safety/index.ts';

export const T0 = Date.parse('2025-03-01T12:00:00.000Z');
export const SEC = 1_000;
export const MIN = 60 * SEC;

/** The fake clock: `at(90 * SEC)` is T0 + 90s. */
export function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
}

/** node-not-ready: restart-kubelet 3m → reboot 10m → replace 20m. */
export const NOT_READY: readonly LadderStep[] = [
  { action: 'restart-kubelet', timeoutMs: 3 * MIN },
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

/** The generic ladder: cordon 1m → drain 10m → replace 20m. */
export const GENERIC: readonly LadderStep[] = [
  { action: 'cordon', timeoutMs: MIN },
  { action: 'drain', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

/** memory-pressure: drain 15m → reboot 10m → replace 20m. */
export const MEMORY: readonly LadderStep[] = [
  { action: 'drain', timeoutMs: 15 * MIN },
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

/** disk-almost-full: clean-disk 8m → drain 15m → replace 20m. */
export const DISK: readonly LadderStep[] = [
  { action: 'clean-disk', timeoutMs: 8 * MIN },
  { action: 'drain', timeoutMs: 15 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

/** A custom ladder that ends in a preparation step: clean-disk 8m → drain 15m. */
export const ENDS_IN_DRAIN: readonly LadderStep[] = [
  { action: 'clean-disk', timeoutMs: 8 * MIN },
  { action: 'drain', timeoutMs: 15 * MIN },
];

/** Only remedies, no replace: sync-clock 10m → reboot 15m. */
export const NO_REPLACE: readonly LadderStep[] = [
  { action: 'sync-clock', timeoutMs: 10 * MIN },
  { action: 'reboot', timeoutMs: 15 * MIN },
];

export function fresh(
  ladder: readonly LadderStep[] = NOT_READY,
  options: { dryRun?: boolean; fault?: string } = {},
): HealRecord {
  return newHealRecord({
    id: 'heal-0001',
    node: 'worker-1',
    fault: options.fault ?? 'node-not-ready',
    pool: 'general',
    ladder,
    faultStartedAt: at(-5 * MIN),
    now: at(0),
    ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
  });
}

// Observations, short.
export const start: Observation = { kind: 'start' };
export const tick: Observation = { kind: 'tick' };
export const firing: Observation = { kind: 'fault-firing' };
export const gone: Observation = { kind: 'node-gone' };
export function done(step: number, cordonedByUs?: boolean): Observation {
  return {
    kind: 'step-done',
    step,
    detail: `step ${step} ok`,
    ...(cordonedByUs === undefined ? {} : { cordonedByUs }),
  };
}
export function failed(step: number, permanent: boolean): Observation {
  return { kind: 'step-failed', step, detail: `step ${step} broke`, permanent };
}
export function resolved(offsetMs: number): Observation {
  return { kind: 'fault-resolved', at: T0 + offsetMs };
}
/** A gate refusing a step; `defer` (with the time to ask again, `until` from T0) when it may lift. */
export function blocked(gate: Gate, step?: number, defer?: { until: number }): Observation {
  return {
    kind: 'safety-blocked',
    gate,
    detail: `${gate} says no`,
    ...(step === undefined ? {} : { step }),
    ...(defer === undefined ? {} : { defer: true, until: T0 + defer.until }),
  };
}
/** The gates let held step `step` act now. */
export function cleared(step: number): Observation {
  return { kind: 'gate-cleared', step };
}
/** The acting step `step` cordoned the node (nodeheal's own cordon unless `byUs` is false). */
export function cordoned(step: number, byUs = true): Observation {
  return { kind: 'cordoned', step, byUs };
}
export const cancel: Observation = { kind: 'cancel', by: 'alice', detail: 'maintenance' };

/** An observation delivered at `t` (offset from T0). */
export type Event = readonly [t: number, observation: Observation];

export interface Run {
  record: HealRecord;
  command: Command;
  commands: Command[];
  changed: boolean[];
}

/** Feeds events through nextStep, as the runner would. */
export function drive(record: HealRecord, events: readonly Event[], rates?: StepRates): Run {
  let current = record;
  const commands: Command[] = [];
  const changed: boolean[] = [];
  for (const [t, observation] of events) {
    // nextStep must never mutate its input: a frozen record makes any attempt throw.
    const result = nextStep(deepFreeze(current), observation, at(t), rates);
    current = result.record;
    commands.push(result.command);
    changed.push(result.changed);
  }
  const command = commands.at(-1);
  if (command === undefined) throw new Error('drive needs at least one event');
  return { record: current, command, commands, changed };
}

/** Deep-freezes a value so that a mutation throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
