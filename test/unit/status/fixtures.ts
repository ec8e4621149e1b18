// Heal records for the status tests, built the way the worker builds them: newHealRecord, then
// nextStep with observations at offsets from a fixed clock.
import {
  newHealRecord,
  nextStep,
  type HealRecord,
  type Observation,
} from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';

export const T0 = Date.parse('2025-03-01T12:00:00.000Z');
export const SEC = 1000;
export const MIN = 60 * SEC;

/** The fake clock: `at(90 * SEC)` is T0 + 90 s. */
export function at(offsetMs: number, base = T0): Date {
  return new Date(base + offsetMs);
}

/** restart-kubelet 3m → reboot 10m → replace 20m. */
export const NOT_READY: readonly LadderStep[] = [
  { action: 'restart-kubelet', timeoutMs: 3 * MIN },
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

export interface HealSpec {
  id?: string;
  node?: string;
  fault?: string;
  pool?: string;
  ladder?: readonly LadderStep[];
  dryRun?: boolean;
  /** Time zero of the heal (its creation); T0 unless given. */
  base?: number;
}

export function fresh(spec: HealSpec = {}): HealRecord {
  const base = spec.base ?? T0;
  return newHealRecord({
    id: spec.id ?? 'heal-0001',
    node: spec.node ?? 'worker-1',
    fault: spec.fault ?? 'node-not-ready',
    pool: spec.pool ?? 'general',
    ladder: spec.ladder ?? NOT_READY,
    faultStartedAt: at(-5 * MIN, base),
    now: at(0, base),
    ...(spec.dryRun === undefined ? {} : { dryRun: spec.dryRun }),
  });
}

export type Event = readonly [offsetMs: number, observation: Observation];

/** Feeds observations through nextStep, as the runner would; offsets are from the heal's base. */
export function drive(record: HealRecord, events: readonly Event[]): HealRecord {
  const base = record.createdAt;
  let current = record;
  for (const [offset, observation] of events) {
    current = nextStep(current, observation, at(offset, base)).record;
  }
  return current;
}

export const start: Observation = { kind: 'start' };
export const tick: Observation = { kind: 'tick' };
export function done(step: number): Observation {
  return { kind: 'step-done', step, detail: `step ${step} ok` };
}
export function failed(step: number, detail = `step ${step} broke`): Observation {
  return { kind: 'step-failed', step, detail, permanent: true };
}
export function resolved(offsetMs: number, base = T0): Observation {
  return { kind: 'fault-resolved', at: base + offsetMs };
}

/** Running: restart-kubelet escalated (failed), reboot acting. */
export function escalatedToReboot(spec: HealSpec = {}): HealRecord {
  return drive(fresh(spec), [
    [0, start],
    [10 * SEC, failed(0, 'kubelet did not restart')],
  ]);
}

/** Healed: restart-kubelet done, the fault resolved while verifying. */
export function healedByKubelet(spec: HealSpec = {}): HealRecord {
  return drive(fresh(spec), [
    [0, start],
    [20 * SEC, done(0)],
    [90 * SEC, resolved(90 * SEC, spec.base ?? T0)],
  ]);
}

/** Abandoned: every step failed. */
export function abandoned(spec: HealSpec = {}): HealRecord {
  return drive(fresh(spec), [
    [0, start],
    [10 * SEC, failed(0)],
    [20 * SEC, failed(1)],
    [30 * SEC, failed(2)],
  ]);
}

/** Skipped: the node is opted out; a gate refused the heal before it acted. */
export function skippedByOptOut(spec: HealSpec = {}): HealRecord {
  return drive(fresh(spec), [
    [
      0,
      {
        kind: 'safety-blocked',
        gate: 'opt-out',
        detail: `${spec.node ?? 'worker-1'} is labelled nodeheal.io/exclude=true`,
        step: 0,
      },
    ],
  ]);
}

/** Running, reboot held by a pause (restart-kubelet escalated first). */
export function heldByPause(spec: HealSpec = {}): HealRecord {
  const base = spec.base ?? T0;
  return drive(escalatedToReboot(spec), [
    [
      20 * SEC,
      {
        kind: 'safety-blocked',
        gate: 'paused',
        detail: 'nodeheal is paused (POST /admin/resume)',
        step: 1,
        defer: true,
        until: base + 50 * SEC,
      },
    ],
  ]);
}
