// An operator who lifts nodeheal's own cordon (kubectl uncordon) has decided: the heal stops,
// ends `cancelled` saying who, and leaves the node as the operator put it.
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';
import { done, drive, fresh, MIN, SEC, start } from './fixtures.ts';

/** cordon 1m → drain 10m → replace 20m. */
const CORDON_DRAIN_REPLACE: readonly LadderStep[] = [
  { action: 'cordon', timeoutMs: MIN },
  { action: 'drain', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

const uncordonedBy = (by: string): Observation => ({
  kind: 'operator-uncordoned',
  by,
  detail: 'drain was acting',
});

/** The heal draining, with nodeheal's cordon on, at 2 s. */
function draining() {
  return drive(fresh(CORDON_DRAIN_REPLACE), [
    [0, start],
    [SEC, done(0, true)],
  ]).record;
}

describe('an operator who uncordons a node nodeheal cordoned', () => {
  it('ends the heal cancelled, saying who, and nodeheal does not uncordon or re-cordon it', () => {
    const before = draining();
    expect(before.cordonedByUs).toBe(true);
    const run = drive(before, [[5 * SEC, uncordonedBy('kubectl-cordon')]]);
    expect(run.record.status).toBe('cancelled');
    expect(run.record.cordonedByUs).toBe(false);
    expect(run.record.recordon).toBe(false);
    expect(run.record.outcomeReason).toBe(
      "uncordoned by kubectl-cordon while drain was acting: nodeheal takes that as an operator's " +
        'decision, stops, and does not cordon the node again before its cooldown ends',
    );
    expect(run.command).toMatchObject({ kind: 'finish' });
  });

  it('is not seen when the cordon was not nodeheal’s', () => {
    const theirs = drive(fresh(CORDON_DRAIN_REPLACE), [
      [0, start],
      [SEC, done(0, false)],
    ]).record;
    const run = drive(theirs, [[5 * SEC, uncordonedBy('someone')]]);
    expect(run.changed).toEqual([false]);
    expect(run.record.status).toBe('running');
  });

  it('is not confused with nodeheal’s own uncordon while it confirms a fix', () => {
    const confirming = { ...draining(), confirmingSince: 3 * SEC };
    const run = drive(confirming, [[5 * SEC, uncordonedBy('nodeheal')]]);
    expect(run.changed).toEqual([false]);
    expect(run.record.status).toBe('running');
  });

  it('is ignored once the heal has ended', () => {
    const ended = drive(draining(), [[5 * SEC, uncordonedBy('a')]]).record;
    const again = drive(ended, [[6 * SEC, uncordonedBy('b')]]);
    expect(again.changed).toEqual([false]);
    expect(again.record.outcomeReason).toMatch(/^uncordoned by a /);
  });
});
