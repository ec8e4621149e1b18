import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OUTCOME_CAPACITY,
  outcomeRingSchema,
  ratesFrom,
  recordOutcome,
  recordStepOutcome,
  recordStepResults,
  statsFor,
  stepResults,
  successKey,
  successStats,
  successTableSchema,
  type OutcomeRing,
  type SuccessTable,
} from '../../../src/heal/index.ts';
import { done, drive, fresh, GENERIC, MIN, SEC, start, tick } from './fixtures.ts';

function ring(outcomes: string, capacity = 10): OutcomeRing {
  return { capacity, outcomes };
}

describe('recordOutcome: a bounded ring of the last outcomes', () => {
  it.each<[string, OutcomeRing | undefined, boolean, number | undefined, OutcomeRing]>([
    ['first success', undefined, true, undefined, ring('1', DEFAULT_OUTCOME_CAPACITY)],
    ['first failure, capacity 3', undefined, false, 3, ring('0', 3)],
    ['appends last', ring('10', 3), false, undefined, ring('100', 3)],
    ['drops the oldest when full', ring('100', 3), true, undefined, ring('001', 3)],
    ['a smaller capacity trims at once', ring('1100', 10), true, 2, ring('01', 2)],
    ['a larger capacity keeps everything', ring('11', 2), false, 5, ring('110', 5)],
    ['capacity is clamped to at least 1', ring('1', 1), false, 0, ring('0', 1)],
    ['capacity is clamped to 10,000', undefined, true, 1e9, ring('1', 10_000)],
  ])('%s', (_name, before, success, capacity, expected) => {
    expect(recordOutcome(before, success, capacity)).toEqual(expected);
    expect(outcomeRingSchema.parse(expected)).toEqual(expected);
  });
});

describe('successStats', () => {
  it.each<[string, OutcomeRing | undefined, number | undefined, number, number, number | null]>([
    ['nothing recorded', undefined, undefined, 0, 0, null],
    ['all outcomes', ring('1101'), undefined, 3, 4, 0.75],
    ['the last 2', ring('1100'), 2, 0, 2, 0],
    ['the last 3', ring('0111'), 3, 3, 3, 1],
    ['overLast beyond what is kept counts what there is', ring('10'), 20, 1, 2, 0.5],
    ['overLast 0', ring('111'), 0, 0, 0, null],
  ])('%s', (_name, r, overLast, successes, attempts, rate) => {
    expect(successStats(r, overLast)).toEqual({ successes, attempts, rate });
  });
});

describe('success table', () => {
  it('keys by fault and action', () => {
    expect(successKey('node-not-ready', 'reboot')).toBe('node-not-ready:reboot');
  });

  it('records per (fault, action) without changing the input', () => {
    const empty: SuccessTable = {};
    const one = recordStepOutcome(empty, 'node-not-ready', 'reboot', true, 5);
    const two = recordStepOutcome(one, 'node-not-ready', 'reboot', false);
    const other = recordStepOutcome(two, 'kubelet-down', 'reboot', false);
    expect(empty).toEqual({});
    expect(one).toEqual({ 'node-not-ready:reboot': ring('1', 5) });
    expect(other).toEqual({
      'node-not-ready:reboot': ring('10', 5),
      'kubelet-down:reboot': ring('0', DEFAULT_OUTCOME_CAPACITY),
    });
    expect(successTableSchema.parse(JSON.parse(JSON.stringify(other)))).toEqual(other);
    expect(statsFor(other, 'node-not-ready', 'reboot')).toEqual({
      successes: 1,
      attempts: 2,
      rate: 0.5,
    });
    expect(statsFor(other, 'node-not-ready', 'replace')).toEqual({
      successes: 0,
      attempts: 0,
      rate: null,
    });
  });

  it('ratesFrom answers nextStep over the last overLast attempts', () => {
    const table: SuccessTable = { 'node-not-ready:restart-kubelet': ring('1111100000', 10) };
    const rates = ratesFrom(table);
    expect(rates('node-not-ready', 'restart-kubelet', 4)).toEqual({ successes: 0, attempts: 4 });
    expect(rates('node-not-ready', 'restart-kubelet', 10)).toEqual({ successes: 5, attempts: 10 });
    expect(rates('node-not-ready', 'reboot', 4)).toBeUndefined();
  });

  it.each([
    ['outcomes other than 0 and 1', { capacity: 3, outcomes: '1x0' }],
    ['more outcomes than the capacity', { capacity: 2, outcomes: '101' }],
    ['capacity 0', { capacity: 0, outcomes: '' }],
  ])('the schema rejects %s', (_name, value) => {
    expect(outcomeRingSchema.safeParse(value).success).toBe(false);
  });
});

describe('stepResults: what a nextStep call adds to the table', () => {
  it('reads only the transitions added since the previous version', () => {
    const first = drive(fresh(GENERIC, { fault: 'unknown' }), [
      [0, start],
      [5 * SEC, done(0, true)],
    ]).record;
    const second = drive(first, [[3 * MIN, done(1)]]).record;
    expect(stepResults(undefined, first)).toEqual([
      {
        fault: 'unknown',
        action: 'cordon',
        stepIndex: 0,
        success: true,
        at: first.transitions[1]?.at,
      },
    ]);
    expect(stepResults(first, second)).toEqual([
      {
        fault: 'unknown',
        action: 'drain',
        stepIndex: 1,
        success: true,
        at: second.transitions[3]?.at,
      },
    ]);
    expect(stepResults(second, second)).toEqual([]);
  });

  it('feeds the table: a remedy that escalated is a failure', () => {
    const before = drive(fresh(), [
      [0, start],
      [10 * SEC, done(0)],
    ]).record;
    const after = drive(before, [[10 * SEC + 3 * MIN, tick]]).record;
    const table = recordStepResults({}, stepResults(before, after), 20);
    expect(table).toEqual({ 'node-not-ready:restart-kubelet': ring('0', 20) });
  });

  it('a record of another heal counts from its first transition', () => {
    const other = drive(fresh(), [[0, start]]).record;
    const mine = drive({ ...fresh(), id: 'heal-0002' }, [
      [0, start],
      [5 * SEC, { kind: 'step-failed', step: 0, detail: 'x', permanent: true }],
    ]).record;
    expect(stepResults(other, mine).map((r) => r.success)).toEqual([false]);
  });
});
