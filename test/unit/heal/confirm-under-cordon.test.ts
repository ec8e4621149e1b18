// A resolution nodeheal may have caused itself: a fault whose alerts resolve while nodeheal's own
// cordon is on the node (kube-prometheus-stack's rules stop firing on cordoned nodes) is a cure
// only if they stay resolved once nodeheal uncordons it; if they fire again, the node is
// cordoned again and the ladder goes on.
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';
import { cordoned, done, drive, fresh, MIN, SEC, start, tick } from './fixtures.ts';

/** cordon 1m → reboot 10m → replace 20m: the remedy is verified under nodeheal's cordon. */
const CORDON_FIRST: readonly LadderStep[] = [
  { action: 'cordon', timeoutMs: MIN },
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

const underCordon = (offset: number): Observation => ({
  kind: 'fault-resolved',
  at: offset,
  evidence: 'its alerts resolved',
  underOwnCordon: true,
});
const uncordoned: Observation = { kind: 'uncordoned', step: 1 };
const firing: Observation = { kind: 'fault-firing' };

/** The heal verifying the reboot, with nodeheal's cordon on, at 20 s. */
function verifyingReboot() {
  return drive(fresh(CORDON_FIRST), [
    [0, start],
    [SEC, done(0, true)],
    [20 * SEC, done(1)],
  ]).record;
}

describe('a resolution under nodeheal’s own cordon', () => {
  it('is not a cure: the heal uncordons the node to confirm it', () => {
    const before = verifyingReboot();
    expect(before.cordonedByUs).toBe(true);
    const run = drive(before, [[30 * SEC, underCordon(30 * SEC)]]);
    expect(run.record.status).toBe('running');
    expect(run.record.confirmingSince).not.toBeNull();
    expect(run.command).toMatchObject({ kind: 'confirm', uncordon: true, stepIndex: 1 });
    expect(run.record.transitions.at(-1)).toMatchObject({ kind: 'confirming' });
    expect(run.record.transitions.at(-1)!.detail).toMatch(/may be what silenced them/);
    // The settle period is the record's (5 minutes by default).
    expect(run.record.deadline).toBe(run.record.confirmingSince! + 5 * MIN);
  });

  it('heals when the alerts stay resolved for the settle period after the uncordon, saying so', () => {
    const run = drive(verifyingReboot(), [
      [30 * SEC, underCordon(30 * SEC)],
      [31 * SEC, uncordoned],
      [31 * SEC + 2 * MIN, underCordon(31 * SEC)],
      [30 * SEC + 5 * MIN, tick],
    ]);
    expect(run.changed).toEqual([true, true, false, true]);
    expect(run.record.status).toBe('healed');
    expect(run.record.cordonedByUs).toBe(false);
    expect(run.record.outcomeReason).toMatch(
      /reboot worked: .* stayed resolved for 5m after nodeheal uncordoned the node/,
    );
    // Already uncordoned: the finish does not uncordon again.
    expect(run.command).toMatchObject({ kind: 'finish', uncordon: false });
  });

  it('fires again: the remedy did not work, the ladder goes on and the node is cordoned again first', () => {
    const run = drive(verifyingReboot(), [
      [30 * SEC, underCordon(30 * SEC)],
      [31 * SEC, uncordoned],
      [90 * SEC, firing],
    ]);
    expect(run.record.status).toBe('running');
    expect(run.record.confirmingSince).toBeNull();
    expect(run.record.faultResolvedAt).toBeNull();
    expect(run.record.recordon).toBe(true);
    expect(run.record.stepIndex).toBe(2);
    expect(run.command).toMatchObject({ kind: 'act', step: { action: 'replace' } });
    const escalated = run.record.transitions.find((t) => t.kind === 'escalated');
    expect(escalated?.detail).toMatch(/fired again 1m after nodeheal uncordoned the node/);
    // The runner cordons again before replace acts; the cordon is nodeheal's again.
    const after = drive(run.record, [[91 * SEC, cordoned(2)]]);
    expect(after.record).toMatchObject({ cordonedByUs: true, recordon: false });
  });

  it('while a step still acts, or a replacement is verified, changes nothing', () => {
    const acting = drive(fresh(CORDON_FIRST), [
      [0, start],
      [SEC, done(0, true)],
      [2 * SEC, underCordon(2 * SEC)],
    ]);
    expect(acting.changed.at(-1)).toBe(false);
    expect(acting.record.faultResolvedAt).toBeNull();
  });

  it('without nodeheal’s cordon, the alerts resolving is a cure at once', () => {
    const run = drive(verifyingReboot(), [
      [30 * SEC, { kind: 'fault-resolved', at: 30 * SEC, evidence: 'its alerts resolved' }],
    ]);
    expect(run.record.status).toBe('healed');
    expect(run.record.outcomeReason).toMatch(/\(its alerts resolved\)/);
  });
});
