import { describe, expect, it, vi } from 'vitest';
import { nextStep, type StepRates, type StepStats } from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';
import { at, done, drive, fresh, MIN, NOT_READY, SEC, start, tick } from './fixtures.ts';

/** restart-kubelet skipped below 20 % over the last 20 attempts, then reboot, then replace. */
const RATED: readonly LadderStep[] = [
  {
    action: 'restart-kubelet',
    timeoutMs: 3 * MIN,
    skipBelowSuccessRate: { rate: 0.2, overLast: 20 },
  },
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

/** The gate on the last step. */
const RATED_LAST: readonly LadderStep[] = [
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN, skipBelowSuccessRate: { rate: 0.5, overLast: 4 } },
];

/** The gate on a step reached by escalation. */
const RATED_MIDDLE: readonly LadderStep[] = [
  { action: 'sync-clock', timeoutMs: 10 * MIN },
  { action: 'reboot', timeoutMs: 15 * MIN, skipBelowSuccessRate: { rate: 0.3, overLast: 10 } },
  { action: 'replace', timeoutMs: 20 * MIN },
];

function fixed(stats: StepStats | undefined): StepRates {
  return () => stats;
}

describe('nextStep: skipBelowSuccessRate', () => {
  it.each<{
    name: string;
    ladder: readonly LadderStep[];
    rates: StepRates | undefined;
    skipped: boolean;
  }>([
    { name: 'no rates given', ladder: RATED, rates: undefined, skipped: false },
    { name: 'nothing recorded', ladder: RATED, rates: fixed(undefined), skipped: false },
    {
      name: '19 attempts, none worked: too few to judge',
      ladder: RATED,
      rates: fixed({ successes: 0, attempts: 19 }),
      skipped: false,
    },
    {
      name: '20 attempts, 3 worked (15 %): skipped',
      ladder: RATED,
      rates: fixed({ successes: 3, attempts: 20 }),
      skipped: true,
    },
    {
      name: '20 attempts, 0 worked: skipped',
      ladder: RATED,
      rates: fixed({ successes: 0, attempts: 20 }),
      skipped: true,
    },
    {
      name: '20 attempts, 4 worked (exactly 20 %): not skipped',
      ladder: RATED,
      rates: fixed({ successes: 4, attempts: 20 }),
      skipped: false,
    },
    {
      name: '20 attempts, 5 worked (25 %): not skipped',
      ladder: RATED,
      rates: fixed({ successes: 5, attempts: 20 }),
      skipped: false,
    },
    {
      name: '40 attempts, 7 worked (17.5 %): skipped',
      ladder: RATED,
      rates: fixed({ successes: 7, attempts: 40 }),
      skipped: true,
    },
    {
      name: 'a step without the gate is never skipped',
      ladder: NOT_READY,
      rates: fixed({ successes: 0, attempts: 1000 }),
      skipped: false,
    },
  ])('$name', ({ ladder, rates, skipped }) => {
    const run = drive(fresh(ladder), [[0, start]], rates);
    if (skipped) {
      expect(run.command).toMatchObject({ kind: 'skip-step', step: RATED[0], stepIndex: 0 });
      expect(run.command.kind === 'skip-step' && run.command.reason).toMatch(
        /^restart-kubelet skipped: it cleared node-not-ready in \d+ of its last \d+ attempts/,
      );
      expect(run.record.stepIndex).toBe(1);
      expect(run.record.stepState).toBe('pending');
      expect(run.record.transitions.map((t) => [t.kind, t.step, t.from, t.to])).toEqual([
        ['skipped', 0, 'pending', 'pending'],
      ]);
    } else {
      expect(run.command).toMatchObject({ kind: 'act', stepIndex: 0 });
      expect(run.record.transitions.map((t) => t.kind)).toEqual(['started']);
    }
  });

  it('asks for the fault, the action and overLast', () => {
    const rates = vi.fn<StepRates>(() => undefined);
    nextStep(fresh(RATED), start, at(0), rates);
    expect(rates).toHaveBeenCalledWith('node-not-ready', 'restart-kubelet', 20);
  });

  it('after a skip, a tick acts the next step and that is the start of the heal', () => {
    const run = drive(
      fresh(RATED),
      [
        [0, start],
        [SEC, tick],
      ],
      fixed({ successes: 0, attempts: 20 }),
    );
    expect(run.command).toMatchObject({ kind: 'act', stepIndex: 1, step: { action: 'reboot' } });
    expect(run.record.transitions.map((t) => t.kind)).toEqual(['skipped', 'started']);
  });

  it('a step reached by escalation is skipped too', () => {
    const run = drive(
      fresh(RATED_MIDDLE),
      [
        [0, start],
        [10 * SEC, done(0)],
        [10 * SEC + 10 * MIN, tick],
      ],
      fixed({ successes: 2, attempts: 10 }),
    );
    expect(run.command).toMatchObject({ kind: 'skip-step', stepIndex: 1 });
    expect(run.record.stepIndex).toBe(2);
    expect(run.record.transitions.map((t) => t.kind)).toEqual([
      'started',
      'step-done',
      'escalated',
      'skipped',
    ]);
    const next = nextStep(
      run.record,
      tick,
      at(10 * SEC + 10 * MIN),
      fixed({ successes: 2, attempts: 10 }),
    );
    expect(next.command).toMatchObject({ kind: 'act', stepIndex: 2, step: { action: 'replace' } });
  });

  it('skipping the last step abandons the heal', () => {
    const run = drive(
      fresh(RATED_LAST),
      [
        [0, start],
        [10 * SEC, done(0)],
        [10 * SEC + 10 * MIN, tick],
      ],
      fixed({ successes: 1, attempts: 4 }),
    );
    expect(run.record.status).toBe('abandoned');
    expect(run.record.outcomeReason).toMatch(
      /^Ladder exhausted: the last step was skipped \(replace skipped/,
    );
    expect(run.record.transitions.map((t) => t.kind)).toEqual([
      'started',
      'step-done',
      'escalated',
      'skipped',
      'abandoned',
    ]);
  });

  it('a resumed record after a skip acts the next step on start', () => {
    const skipped = drive(fresh(RATED), [[0, start]], fixed({ successes: 0, attempts: 20 })).record;
    const resumed = nextStep(skipped, start, at(MIN));
    expect(resumed.command).toMatchObject({ kind: 'act', stepIndex: 1 });
  });
});
