import { describe, expect, it } from 'vitest';
import {
  HEAL_RECORD_VERSION,
  InvalidHealError,
  healDurationMs,
  healRecordSchema,
  isExpertRemedy,
  isPreparation,
  newHealRecord,
  observationSchema,
  timeToHealMs,
} from '../../../src/heal/index.ts';
import {
  REMEDY_ACTIONS,
  type LadderStep,
  type RemedyAction,
} from '../../../src/rules/catalog-types.ts';
import { at, done, drive, fresh, MIN, NOT_READY, resolved, SEC, start, T0 } from './fixtures.ts';

describe('newHealRecord', () => {
  it('builds a pending record at step 0, due now', () => {
    expect(fresh()).toEqual({
      version: HEAL_RECORD_VERSION,
      id: 'heal-0001',
      key: 'heal:worker-1:node-not-ready',
      node: 'worker-1',
      fault: 'node-not-ready',
      pool: 'general',
      ladder: NOT_READY,
      ladderOrder: null,
      stepIndex: 0,
      stepState: 'pending',
      stepStartedAt: T0,
      deadline: T0,
      retries: 0,
      status: 'running',
      outcomeReason: null,
      dryRun: false,
      cordonedByUs: false,
      nodeGone: false,
      createdAt: T0,
      updatedAt: T0,
      faultStartedAt: T0 - 5 * MIN,
      faultResolvedAt: null,
      endedAt: null,
      poolLabel: null,
      poolReadyBefore: null,
      nodeStartupTimeoutMs: 600_000,
      replacement: null,
      capacityBackAt: null,
      fence: null,
      outOfServiceAt: null,
      origin: null,
      cost: null,
      gate: null,
      joined: [],
      ladderFault: null,
      ladderFrom: null,
      switchTo: null,
      uncordonSettleMs: 300_000,
      confirmingSince: null,
      recordon: false,
      uncordonedBy: null,
      transitions: [],
    });
  });

  it('copies the ladder (a later change to the rule does not reach it)', () => {
    const ladder: LadderStep[] = [
      { action: 'reboot', timeoutMs: MIN, skipBelowSuccessRate: { rate: 0.5, overLast: 4 } },
    ];
    const record = newHealRecord({
      id: 'h',
      node: 'n',
      fault: 'f',
      pool: 'p',
      ladder,
      faultStartedAt: T0,
      now: at(0),
    });
    ladder.push({ action: 'replace', timeoutMs: MIN });
    expect(record.ladder).toEqual([
      { action: 'reboot', timeoutMs: MIN, skipBelowSuccessRate: { rate: 0.5, overLast: 4 } },
    ]);
    expect(record.ladder[0]).not.toBe(ladder[0]);
    expect(record.faultStartedAt).toBe(T0);
  });

  it.each<[string, readonly LadderStep[], Date]>([
    ['an empty ladder', [], at(0)],
    ['a zero timeout', [{ action: 'reboot', timeoutMs: 0 }], at(0)],
    ['a fractional timeout', [{ action: 'reboot', timeoutMs: 1.5 }], at(0)],
    ['an invalid now', NOT_READY, new Date(Number.NaN)],
  ])('refuses %s', (_name, ladder, now) => {
    expect(() =>
      newHealRecord({ id: 'h', node: 'n', fault: 'f', pool: 'p', ladder, faultStartedAt: T0, now }),
    ).toThrow(InvalidHealError);
  });
});

describe('healRecordSchema', () => {
  it.each<[string, (r: Record<string, unknown>) => void]>([
    ['stepIndex past the ladder', (r) => (r.stepIndex = 3)],
    ['an unknown action', (r) => (r.ladder = [{ action: 'format-disk', timeoutMs: 1 }])],
    ['an unknown status', (r) => (r.status = 'done')],
    ['a Date instead of epoch ms', (r) => (r.createdAt = new Date(T0))],
    ['another version', (r) => (r.version = 2)],
  ])('rejects %s', (_name, mutate) => {
    const record = JSON.parse(JSON.stringify(fresh())) as Record<string, unknown>;
    mutate(record);
    expect(healRecordSchema.safeParse(record).success).toBe(false);
  });
});

describe('observationSchema', () => {
  it.each([
    { kind: 'start' },
    { kind: 'step-done', step: 1, detail: 'drained', cordonedByUs: true },
    { kind: 'step-failed', step: 0, detail: 'agent unreachable', permanent: false },
    { kind: 'fault-resolved', at: T0 },
    { kind: 'safety-blocked', gate: 'storm', detail: '4 of 10 unhealthy', step: 2 },
    { kind: 'cancel', by: 'admin', detail: 'POST /heals/x/cancel' },
  ])('accepts %o', (value) => {
    expect(observationSchema.parse(value)).toEqual(value);
  });

  it.each([
    { kind: 'explode' },
    { kind: 'step-done', step: -1, detail: 'x' },
    { kind: 'step-failed', step: 0, detail: 'x' },
    { kind: 'safety-blocked', gate: 'whatever', detail: 'x' },
    { kind: 'fault-resolved', at: '2025-03-01T12:00:00Z' },
  ])('rejects %o', (value) => {
    expect(observationSchema.safeParse(value).success).toBe(false);
  });
});

describe('action classes', () => {
  const preparation: RemedyAction[] = ['cordon', 'drain'];
  const expert: RemedyAction[] = [
    'restart-kubelet',
    'restart-container-runtime',
    'clean-disk',
    'sync-clock',
    'reboot',
  ];
  it.each(REMEDY_ACTIONS)('%s', (action) => {
    expect(isPreparation(action)).toBe(preparation.includes(action));
    expect(isExpertRemedy(action)).toBe(expert.includes(action));
  });
});

describe('durations for metrics', () => {
  it('time to heal runs from the fault start to its resolution', () => {
    const healed = drive(fresh(), [
      [0, start],
      [10 * SEC, done(0)],
      [MIN, resolved(50 * SEC)],
    ]).record;
    expect(timeToHealMs(healed)).toBe(5 * MIN + 50 * SEC);
    expect(healDurationMs(healed)).toBe(MIN);
  });

  it('nothing while running; no time to heal unless healed', () => {
    const running = drive(fresh(), [[0, start]]).record;
    expect(timeToHealMs(running)).toBeUndefined();
    expect(healDurationMs(running)).toBeUndefined();
    const cancelled = drive(fresh(), [[MIN, { kind: 'cancel', by: 'a', detail: 'b' }]]).record;
    expect(timeToHealMs(cancelled)).toBeUndefined();
    expect(healDurationMs(cancelled)).toBe(MIN);
  });
});
