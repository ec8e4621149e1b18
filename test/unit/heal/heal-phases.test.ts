// The time to heal split into phases: detection, debounce, queued, gates, acting, verification.
import { describe, expect, it } from 'vitest';
import { healRecordSchema, newHealRecord, type HealRecord } from '../../../src/heal/index.ts';
import { healPhases, type HealPhases } from '../../../src/heal/heal-phases.ts';
import {
  at,
  done,
  drive,
  failed,
  MIN,
  NOT_READY,
  resolved,
  SEC,
  start,
  T0,
  tick,
} from '../status/fixtures.ts';

/**
 * A heal created at T0 for a fault that began 100 s before: the alert was received 30 s after
 * it began (detection), due 60 s later (debounce), and a worker took it 10 s after that.
 */
function withOrigin(): HealRecord {
  return newHealRecord({
    id: 'heal-phases',
    node: 'worker-1',
    fault: 'node-not-ready',
    pool: 'general',
    ladder: NOT_READY,
    faultStartedAt: at(-100 * SEC),
    now: at(0),
    alert: {
      alertname: 'NodeUnreachable',
      fingerprint: 'abc',
      labels: { alertname: 'NodeUnreachable', node: 'worker-1' },
      annotations: { summary: 'worker-1 is unreachable' },
      generatorURL: 'http://prometheus.example/graph?g0.expr=up',
      scheduledAt: at(-70 * SEC).toISOString(),
      dueAt: at(-10 * SEC).toISOString(),
    },
  });
}

const held = (step: number, until: number) =>
  ({
    kind: 'safety-blocked',
    gate: 'paused',
    detail: 'nodeheal is paused',
    step,
    defer: true,
    until,
  }) as const;

/** The phases add up to the total. */
function sum(p: HealPhases): number {
  return (
    (p.detectionMs ?? 0) +
    (p.debounceMs ?? 0) +
    (p.queuedMs ?? 0) +
    p.gatesMs +
    p.actingMs +
    p.verificationMs
  );
}

describe('healPhases', () => {
  it('splits a healed heal: detection, debounce, queued, acting, verification', () => {
    const record = drive(withOrigin(), [
      [0, start],
      [20 * SEC, done(0)],
      [90 * SEC, resolved(90 * SEC)],
    ]);
    expect(record.status).toBe('healed');
    const phases = healPhases(record, T0 + 10 * MIN);
    expect(phases).toEqual({
      detectionMs: 30 * SEC,
      debounceMs: 60 * SEC,
      queuedMs: 10 * SEC,
      gatesMs: 0,
      actingMs: 20 * SEC,
      verificationMs: 70 * SEC,
      totalMs: 190 * SEC,
      until: T0 + 90 * SEC,
      running: false,
    });
    expect(sum(phases)).toBe(phases.totalMs);
    expect(phases.totalMs).toBe(record.endedAt! - record.faultStartedAt);
  });

  it('counts each period a safety gate held a step, until the step acts again', () => {
    // restart-kubelet fails at 10 s; reboot is held by a pause from 15 s to 75 s, acts, then
    // is verified until the fault resolves at 100 s.
    const record = drive(withOrigin(), [
      [0, start],
      [10 * SEC, failed(0)],
      [15 * SEC, held(1, T0 + 45 * SEC)],
      [45 * SEC, held(1, T0 + 75 * SEC)], // asked again, still held: no new transition
      [50 * SEC, { kind: 'fault-firing' }],
      [75 * SEC, tick],
      [80 * SEC, done(1)],
      [100 * SEC, resolved(100 * SEC)],
    ]);
    expect(record.status).toBe('healed');
    expect(record.transitions.filter((t) => t.kind === 'held')).toHaveLength(1);
    const phases = healPhases(record, T0 + 10 * MIN);
    expect(phases.gatesMs).toBe(60 * SEC);
    // 0-10 s restart-kubelet, 10-15 s reboot until held, 75-80 s reboot.
    expect(phases.actingMs).toBe(20 * SEC);
    expect(phases.verificationMs).toBe(20 * SEC);
    expect(sum(phases)).toBe(phases.totalMs);
    expect(phases.totalMs).toBe(record.endedAt! - record.faultStartedAt);
  });

  it('runs a running heal up to now, in its current phase', () => {
    const record = drive(withOrigin(), [
      [0, start],
      [20 * SEC, done(0)],
    ]);
    const phases = healPhases(record, T0 + 50 * SEC);
    expect(phases.running).toBe(true);
    expect(phases.until).toBe(T0 + 50 * SEC);
    expect(phases.actingMs).toBe(20 * SEC);
    expect(phases.verificationMs).toBe(30 * SEC);
    expect(phases.totalMs).toBe(150 * SEC);
  });

  it('has no detection, debounce or queued for a record without an origin (older records)', () => {
    const stored = drive(withOrigin(), [[0, start]]);
    const older: Partial<HealRecord> = { ...stored };
    delete older.origin;
    // An older record as Redis holds it: no origin field at all.
    const record = healRecordSchema.parse(JSON.parse(JSON.stringify(older)));
    expect(record.origin).toBeNull();
    const phases = healPhases(record, T0 + 30 * SEC);
    expect(phases.detectionMs).toBeNull();
    expect(phases.debounceMs).toBeNull();
    expect(phases.queuedMs).toBeNull();
    expect(phases.actingMs).toBe(30 * SEC);
    // The total still runs from the fault's start.
    expect(phases.totalMs).toBe(130 * SEC);
  });

  it('never counts a negative phase when clocks disagree', () => {
    const record = withOrigin();
    // Received "before" the fault began and due "before" it was received (skewed replicas).
    const skewed: HealRecord = {
      ...record,
      origin: { ...record.origin!, receivedAt: T0 - 200 * SEC, dueAt: T0 - 300 * SEC },
    };
    const phases = healPhases(skewed, T0);
    expect(phases.detectionMs).toBe(0);
    expect(phases.debounceMs).toBe(0);
    for (const value of Object.values(phases)) {
      if (typeof value === 'number') expect(value).toBeGreaterThanOrEqual(0);
    }
  });

  it('stops at the end of a heal that ended with no step acting (skipped by a gate)', () => {
    const record = drive(withOrigin(), [
      [5 * SEC, { kind: 'safety-blocked', gate: 'opt-out', detail: 'opted out', step: 0 }],
    ]);
    expect(record.status).toBe('skipped');
    const phases = healPhases(record, T0 + 10 * MIN);
    expect(phases.until).toBe(T0 + 5 * SEC);
    expect(phases.actingMs).toBe(5 * SEC);
    expect(phases.totalMs).toBe(105 * SEC);
  });
});
