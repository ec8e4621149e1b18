// One heal per node: a fault that comes due while the node is being healed is recorded on that
// heal; a more drastic ladder takes over at the next step boundary, never in the middle of a step.
import { describe, expect, it } from 'vitest';
import { stepResults, type JoinedFault, type Observation } from '../../../src/heal/index.ts';
import { outranks, stepSeverity } from '../../../src/heal/joined-faults.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';
import {
  blocked,
  DISK,
  done,
  drive,
  failed,
  fresh,
  GENERIC,
  MEMORY,
  MIN,
  NOT_READY,
  resolved,
  SEC,
  start,
  T0,
  tick,
} from './fixtures.ts';

/** readonly-filesystem: reboot 10m → replace 20m. */
const READONLY: readonly LadderStep[] = [
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

function joined(
  fault: string,
  ladder: readonly LadderStep[],
  alertname = 'SomeAlert',
): JoinedFault {
  return {
    fault,
    alertname,
    key: `heal:worker-1:${fault}`,
    labels: { alertname, node: 'worker-1' },
    faultStartedAt: T0 - MIN,
    joinedAt: T0,
    ladder: ladder.map((s) => ({ ...s })),
  };
}

const join = (fault: string, ladder: readonly LadderStep[], alertname?: string): Observation => ({
  kind: 'fault-joined',
  fault: joined(fault, ladder, alertname),
});

describe('stepSeverity and outranks', () => {
  it.each<[string, readonly LadderStep[], number, number]>([
    ['a host remedy', NOT_READY, 0, 1],
    ['a reboot', NOT_READY, 1, 2],
    ['a replacement', NOT_READY, 2, 3],
    ['cordon counts as the step it prepares (replace)', GENERIC, 0, 3],
    ['drain counts as the step it prepares (reboot)', MEMORY, 0, 2],
    [
      'a drain that ends the ladder counts as a reboot',
      [{ action: 'drain', timeoutMs: MIN }],
      0,
      2,
    ],
    ['past the end of the ladder: nothing', NOT_READY, 3, 0],
  ])('%s', (_name, ladder, index, severity) => {
    expect(stepSeverity(ladder, index)).toBe(severity);
  });

  it.each<[string, readonly LadderStep[], readonly LadderStep[], number, boolean]>([
    ['same first step: no', NOT_READY, NOT_READY, 0, false],
    ['reboot over a host remedy: yes', READONLY, DISK, 0, true],
    ['reboot over a reboot: no', READONLY, NOT_READY, 1, false],
    ['the generic ladder (replace) over a reboot: yes', GENERIC, NOT_READY, 1, true],
    ['nothing outranks a replacement', GENERIC, NOT_READY, 2, false],
    ['a host remedy never outranks', DISK, NOT_READY, 0, false],
    ['any ladder outranks an exhausted one', DISK, NOT_READY, 3, true],
  ])('%s', (_name, candidate, ladder, index, expected) => {
    expect(outranks(candidate, ladder, index)).toBe(expected);
  });
});

describe('a fault joins a running heal', () => {
  it('is recorded on the heal (with a transition) and changes nothing else when not more drastic', () => {
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, join('kubelet-down', NOT_READY, 'NodeKubeletDown')],
    ]);
    expect(run.changed).toEqual([true, true]);
    expect(run.record.joined.map((j) => j.fault)).toEqual(['kubelet-down']);
    expect(run.record.ladder.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'reboot',
      'replace',
    ]);
    expect(run.record.stepState).toBe('acting');
    expect(run.record.switchTo).toBeNull();
    expect(run.record.ladderFault).toBeNull();
    const last = run.record.transitions.at(-1)!;
    expect(last.kind).toBe('fault-joined');
    expect(last.detail).toMatch(/NodeKubeletDown \(kubelet-down\) came due while this heal runs/);
    expect(run.command.kind).toBe('act');
  });

  it('is recorded once: the same fault again, or the heal’s own fault, changes nothing', () => {
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, join('kubelet-down', NOT_READY)],
      [6 * SEC, join('kubelet-down', READONLY)],
      [7 * SEC, join('node-not-ready', GENERIC)],
    ]);
    expect(run.changed).toEqual([true, true, false, false]);
    expect(run.record.joined).toHaveLength(1);
  });

  it('ends with the heal: a fault joining an ended heal changes nothing', () => {
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [10 * SEC, done(0)],
      [20 * SEC, resolved(15 * SEC)],
      [30 * SEC, join('readonly-filesystem', READONLY)],
    ]);
    expect(run.record.status).toBe('healed');
    expect(run.changed.at(-1)).toBe(false);
    expect(run.record.joined).toEqual([]);
  });
});

describe('a more drastic ladder takes over at the next step boundary', () => {
  it('never in the middle of a step: the acting remedy finishes, then its verification fails over to the new ladder', () => {
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, join('unknown', GENERIC, 'SomethingOdd')],
      [10 * SEC, done(0)],
    ]);
    // Still the heal's own step: restart-kubelet is verified as usual.
    expect(run.record.switchTo).toBe('unknown');
    expect(run.record.ladder.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'reboot',
      'replace',
    ]);
    expect(run.record.stepState).toBe('verifying');
    expect(run.record.transitions.at(-2)!.detail).toMatch(
      /more drastic: the heal moves to it when restart-kubelet is over/,
    );
    // restart-kubelet did not clear the fault in 3 minutes: instead of reboot, the generic ladder.
    const after = drive(run.record, [[10 * SEC + 3 * MIN, tick]]);
    expect(after.record.ladder.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'cordon',
      'drain',
      'replace',
    ]);
    expect(after.record.stepIndex).toBe(1);
    expect(after.record.stepState).toBe('acting');
    expect(after.record.ladderFault).toBe('unknown');
    expect(after.record.ladderFrom).toBe(1);
    expect(after.record.switchTo).toBeNull();
    expect(after.record.transitions.map((t) => t.kind).slice(-3)).toEqual([
      'escalated',
      'ladder-changed',
      'acting',
    ]);
    expect(after.record.transitions.at(-2)!.detail).toBe(
      'Moves to the ladder of unknown (cordon → drain → replace) instead of reboot',
    );
    expect(after.command).toMatchObject({ kind: 'act', step: { action: 'cordon' } });
  });

  it('a remedy that heals its own fault ends the heal: the waiting change is not made', () => {
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, join('unknown', GENERIC)],
      [10 * SEC, done(0)],
      [20 * SEC, resolved(20 * SEC)],
    ]);
    expect(run.record.status).toBe('healed');
    expect(run.record.ladder.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'reboot',
      'replace',
    ]);
  });

  it('a more drastic ladder is not taken when the heal’s own next step is as drastic', () => {
    // disk-almost-full goes clean-disk → drain → replace: drain prepares a replacement, which a
    // reboot-first ladder does not outrank.
    const run = drive(fresh(DISK, { fault: 'disk-almost-full' }), [
      [0, start],
      [5 * SEC, join('readonly-filesystem', READONLY)],
      [10 * SEC, done(0)],
      [10 * SEC + 8 * MIN, tick],
    ]);
    expect(run.record.ladder.map((s) => s.action)).toEqual(['clean-disk', 'drain', 'replace']);
    expect(run.record.stepIndex).toBe(1);
    expect(run.record.ladderFault).toBeNull();
  });

  it('at once while the step waits for a gate: the held step gives way (it never acted)', () => {
    const run = drive(fresh(NOT_READY), [
      [0, blocked('pool-budget', 0, { until: MIN })],
      [5 * SEC, join('unknown', GENERIC, 'SomethingOdd')],
    ]);
    expect(run.record.ladder.map((s) => s.action)).toEqual(['cordon', 'drain', 'replace']);
    expect(run.record.stepIndex).toBe(0);
    expect(run.record.gate).toBeNull();
    expect(run.record.stepState).toBe('pending');
    expect(run.record.ladderFrom).toBe(0);
    // Due now: the runner's next tick begins the new ladder, asking the gates again first.
    expect(run.command).toMatchObject({ kind: 'wait-retry', until: T0 + 5 * SEC });
  });

  it('at once while a failed step waits to be retried: the step that acted stays in the ladder', () => {
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, failed(0, false)],
      [6 * SEC, join('readonly-filesystem', READONLY)],
    ]);
    expect(run.record.ladder.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'reboot',
      'replace',
    ]);
    expect(run.record.stepIndex).toBe(1);
    expect(run.record.ladderFrom).toBe(1);
    expect(run.record.ladderFault).toBe('readonly-filesystem');
    expect(run.record.transitions.at(-1)!.kind).toBe('ladder-changed');
  });

  it('after a preparation step: drain done, then the more drastic ladder instead of reboot', () => {
    const run = drive(fresh(MEMORY, { fault: 'memory-pressure' }), [
      [0, start],
      [5 * SEC, join('unknown', GENERIC)],
      [MIN, done(0, true)],
    ]);
    expect(run.record.ladder.map((s) => s.action)).toEqual(['drain', 'cordon', 'drain', 'replace']);
    expect(run.record.stepIndex).toBe(1);
    expect(run.record.stepState).toBe('acting');
    expect(run.record.cordonedByUs).toBe(true);
  });

  it('a waiting change no longer more drastic than the next step is dropped', () => {
    // node-not-ready at reboot (severity 2); readonly (reboot first) joined while restart-kubelet
    // acted would be no gain by the time the heal reaches reboot anyway.
    const run = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, join('readonly-filesystem', READONLY)],
      [10 * SEC, done(0)],
      [10 * SEC + 3 * MIN, tick],
    ]);
    expect(run.record.ladder.map((s) => s.action)).toEqual([
      'restart-kubelet',
      'reboot',
      'replace',
    ]);
    expect(run.record.ladderFault).toBeNull();
    expect(run.record.switchTo).toBeNull();
    expect(run.record.stepIndex).toBe(1);
  });

  it('success rates of the new ladder’s steps count for the joined fault', () => {
    const before = drive(fresh(NOT_READY), [
      [0, start],
      [5 * SEC, join('unknown', GENERIC)],
      [10 * SEC, done(0)],
      [10 * SEC + 3 * MIN, tick],
    ]).record;
    const after = drive(before, [
      [4 * MIN, done(1, true)],
      [5 * MIN, done(2)],
      [6 * MIN, done(3)],
      [7 * MIN, { kind: 'node-gone' }],
    ]).record;
    expect(after.status).toBe('healed');
    expect(stepResults(undefined, after)).toEqual([
      expect.objectContaining({
        fault: 'node-not-ready',
        action: 'restart-kubelet',
        success: false,
      }),
      expect.objectContaining({ fault: 'unknown', action: 'cordon', success: true }),
      expect.objectContaining({ fault: 'unknown', action: 'drain', success: true }),
      expect.objectContaining({ fault: 'unknown', action: 'replace', success: true }),
    ]);
  });
});
