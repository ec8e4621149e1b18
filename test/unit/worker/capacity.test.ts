// A replacement is done when capacity is back, not when the old Node is gone (pure machine).
import { describe, expect, it } from 'vitest';
import { newHealRecord, type HealRecord } from '../../../src/heal/heal-record.ts';
import { nextStep } from '../../../src/heal/next-step.ts';
import type { Observation } from '../../../src/heal/observation.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const MIN = 60_000;

function replacing(poolReadyBefore: number | undefined): HealRecord {
  const fresh = newHealRecord({
    id: 'heal-1',
    node: 'n1',
    fault: 'node-not-ready',
    pool: 'p',
    ladder: [{ action: 'replace', timeoutMs: 20 * MIN }],
    faultStartedAt: T0 - MIN,
    now: new Date(T0),
    ...(poolReadyBefore === undefined ? {} : { poolReadyBefore }),
  });
  return nextStep(fresh, { kind: 'start' }, new Date(T0)).record;
}

function run(record: HealRecord, events: [number, Observation][]): HealRecord {
  let r = record;
  for (const [at, o] of events) r = nextStep(r, o, new Date(T0 + at)).record;
  return r;
}

const done: Observation = {
  kind: 'step-done',
  step: 0,
  detail: 'kwok: new node',
  replacement: 'n9',
};

describe('replace: healed when capacity is back', () => {
  it('the old node gone is not enough: it waits for capacity, then healed', () => {
    const r = run(replacing(4), [
      [1000, done],
      [2000, { kind: 'node-gone' }],
    ]);
    expect(r.status).toBe('running');
    expect(r.stepState).toBe('verifying');
    expect(r.nodeGone).toBe(true);
    expect(r.replacement).toBe('n9');
    const healed = run(r, [
      [3000, { kind: 'capacity-back', at: T0 + 3000, detail: 'n9 is Ready' }],
    ]);
    expect(healed.status).toBe('healed');
    expect(healed.capacityBackAt).toBe(T0 + 3000);
    expect(healed.outcomeReason).toMatch(/capacity back: n9 is Ready/);
  });

  it('capacity seen while the old node still exists does not count', () => {
    const r = run(replacing(4), [
      [1000, done],
      [2000, { kind: 'capacity-back', at: T0 + 2000, detail: 'n9 is Ready' }],
    ]);
    expect(r.status).toBe('running');
    expect(r.capacityBackAt).toBeNull();
  });

  it('no capacity within the node startup timeout (10m) after the node went: abandoned, saying so', () => {
    const early = run(replacing(4), [
      [1000, done],
      [2000, { kind: 'node-gone' }],
      [2000 + 10 * MIN - 1, { kind: 'tick' }],
    ]);
    expect(early.status).toBe('running');
    const r = run(early, [[2000 + 10 * MIN, { kind: 'tick' }]]);
    expect(r.status).toBe('abandoned');
    expect(r.outcomeReason).toMatch(/capacity is not back within 10m/);
    expect(r.outcomeReason).toMatch(/replacement n9 Ready or pool p back at 4 Ready nodes/);
  });

  it('the node vanishing while replace acts also waits for capacity', () => {
    const r = run(replacing(3), [[1000, { kind: 'node-gone' }]]);
    expect(r.status).toBe('running');
    expect(r.stepState).toBe('verifying');
    expect(r.deadline).toBe(T0 + 1000 + 10 * MIN);
  });

  it('no pool to count and no replacement named: the old node gone is all there is to see', () => {
    const r = run(replacing(undefined), [
      [1000, { kind: 'step-done', step: 0, detail: 'plain: deleted' }],
      [2000, { kind: 'node-gone' }],
    ]);
    expect(r.status).toBe('healed');
  });
});
