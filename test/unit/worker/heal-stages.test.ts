// Where an ended heal's time went (nodeheal_heal_stage_seconds, from healPhases), and the running heal's step
// series (nodeheal_heal_step_start_time_seconds): one per heal, replaced as it moves, gone at
// its end.
import { describe, expect, it } from 'vitest';
import { newHealRecord, type HealRecord, type Transition } from '../../../src/heal/heal-record.ts';
import { createHealMetrics, observeHealStep } from '../../../src/metrics/index.ts';
import { healStageSeconds } from '../../../src/worker/record-step.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const S = 1000;

function transition(
  at: number,
  kind: Transition['kind'],
  from: Transition['from'],
  to: Transition['to'],
  step = 0,
): Transition {
  return {
    at: T0 + at * S,
    kind,
    step,
    action: step === 0 ? 'drain' : 'reboot',
    from,
    to,
    detail: kind,
  };
}

const alert = {
  alertname: 'NodeNotReady',
  fingerprint: 'f1',
  labels: { node: 'n1' },
  startsAt: new Date(T0 - 100 * S).toISOString(),
  scheduledAt: new Date(T0 - 70 * S).toISOString(),
  dueAt: new Date(T0 - 10 * S).toISOString(),
};

function ended(transitions: Transition[], withOrigin?: typeof alert): HealRecord {
  const record = newHealRecord({
    id: 'heal-1',
    node: 'n1',
    fault: 'node-not-ready',
    pool: 'p',
    ladder: [
      { action: 'drain', timeoutMs: 600 * S },
      { action: 'reboot', timeoutMs: 600 * S },
    ],
    faultStartedAt: T0 - 100 * S,
    now: new Date(T0),
    ...(withOrigin ? { alert: withOrigin } : {}),
  });
  const last = transitions.at(-1)!;
  return { ...record, transitions, status: 'healed', endedAt: last.at, updatedAt: last.at };
}

describe('healStageSeconds', () => {
  it("splits a heal as its status page does (healPhases), the alert's times from its job without origin", () => {
    const record = ended([
      transition(0, 'held', 'pending', 'pending'),
      // A note while held: still held.
      transition(20, 'fault-firing', 'pending', 'pending'),
      transition(50, 'started', 'pending', 'acting'),
      transition(80, 'step-done', 'acting', 'pending'),
      transition(80, 'acting', 'pending', 'acting', 1),
      transition(90, 'step-done', 'acting', 'verifying', 1),
      transition(150, 'healed', 'verifying', 'healed', 1),
    ]);
    expect(record.origin).toBeNull();
    expect(healStageSeconds(record, alert)).toEqual({
      detection: 30,
      debounce: 60,
      queued: 10,
      gates: 50,
      acting: 40,
      verification: 60,
    });
  });

  it("takes the record's origin over its job, and never goes negative", () => {
    const early = { ...alert, dueAt: new Date(T0 + 5 * S).toISOString() };
    const record = ended(
      [
        transition(5, 'retry-scheduled', 'pending', 'pending'),
        transition(15, 'started', 'pending', 'acting'),
        transition(20, 'cancelled', 'acting', 'cancelled'),
      ],
      early,
    );
    const garbled = { ...alert, scheduledAt: 'x', dueAt: 'y' };
    expect(healStageSeconds(record, garbled)).toEqual({
      detection: 30,
      debounce: 75,
      queued: 0,
      gates: 0,
      acting: 20,
      verification: 0,
    });
  });
});

describe('observeHealStep', () => {
  it('keeps one series per heal, replaced as it moves and removed at its end', async () => {
    const metrics = createHealMetrics();
    const step = {
      node: 'n1',
      fault: 'node-not-ready',
      step: 0,
      action: 'drain',
      state: 'acting',
      gate: '',
      startedAt: T0,
    };
    observeHealStep(metrics, 'heal-1', step);
    observeHealStep(metrics, 'heal-2', { ...step, node: 'n2' });
    observeHealStep(metrics, 'heal-1', { ...step, state: 'held', gate: 'window' });
    const series = async () =>
      (await metrics.registry.getSingleMetricAsString('nodeheal_heal_step_start_time_seconds'))
        .split('\n')
        .filter((line) => !line.startsWith('#') && line !== '');
    expect(await series()).toEqual([
      `nodeheal_heal_step_start_time_seconds{node="n2",fault="node-not-ready",heal_id="heal-2",step="0",action="drain",state="acting",gate=""} ${T0 / 1000}`,
      `nodeheal_heal_step_start_time_seconds{node="n1",fault="node-not-ready",heal_id="heal-1",step="0",action="drain",state="held",gate="window"} ${T0 / 1000}`,
    ]);
    observeHealStep(metrics, 'heal-1', null);
    observeHealStep(metrics, 'heal-2', null);
    expect(await series()).toEqual([]);
    expect(metrics.healSteps.size).toBe(0);
  });
});
