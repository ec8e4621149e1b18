import { describe, expect, it } from 'vitest';
import {
  applyAlert,
  classifyAlert,
  EMPTY_HISTORY,
  faultHistorySchema,
  isEmptyHistory,
  markHealFinished,
  markHealStarted,
  MAX_TRACKED_ALERTS,
  recordTransition,
  type AlertClass,
  type FaultHistory,
} from '../../../src/triage/index.ts';
import type { NodeAlert } from '../../../src/triage/node-alert.ts';
import { at, firing, MIN, replay, resolved, RULE, SEC, T0, type Delivery } from './fixtures.ts';

const OTHER = { fingerprint: 'ffff000011112222', alertname: 'NodeUnreachable' };
const FP = 'a1b2c3d4e5f60718';

describe('recordTransition', () => {
  it.each<{ name: string; start?: FaultHistory; deliveries: Delivery[]; expected: FaultHistory }>([
    {
      name: 'first firing: active, one firing transition at startsAt',
      deliveries: [{ alert: firing(0), now: 30 * SEC }],
      expected: {
        active: [{ fingerprint: FP, startsAt: T0 }],
        resolved: [],
        transitions: [{ at: T0, status: 'firing' }],
      },
    },
    {
      name: 'repeats and HA duplicates change nothing',
      deliveries: [
        { alert: firing(0), now: 30 * SEC },
        { alert: firing(0), now: 30 * SEC },
        { alert: firing(0), now: 90 * SEC },
      ],
      expected: {
        active: [{ fingerprint: FP, startsAt: T0 }],
        resolved: [],
        transitions: [{ at: T0, status: 'firing' }],
      },
    },
    {
      name: 'a second alert of the key is active without a new transition',
      deliveries: [
        { alert: firing(0), now: 30 * SEC },
        { alert: firing(40 * SEC, OTHER), now: 50 * SEC },
      ],
      expected: {
        active: [
          { fingerprint: FP, startsAt: T0 },
          { fingerprint: OTHER.fingerprint, startsAt: T0 + 40 * SEC },
        ],
        resolved: [],
        transitions: [{ at: T0, status: 'firing' }],
      },
    },
    {
      name: 'resolve: inactive, remembered as resolved, resolved transition at endsAt',
      deliveries: [
        { alert: firing(0), now: 30 * SEC },
        { alert: resolved(0, 60 * SEC), now: 75 * SEC },
      ],
      expected: {
        active: [],
        resolved: [{ fingerprint: FP, startsAt: T0, endsAt: T0 + 60 * SEC }],
        transitions: [
          { at: T0, status: 'firing' },
          { at: T0 + 60 * SEC, status: 'resolved' },
        ],
      },
    },
    {
      name: 'a resolve whose firing was never seen is remembered, without a transition',
      deliveries: [{ alert: resolved(0, 60 * SEC), now: 75 * SEC }],
      expected: {
        active: [],
        resolved: [{ fingerprint: FP, startsAt: T0, endsAt: T0 + 60 * SEC }],
        transitions: [],
      },
    },
    {
      name: 'stale and future alerts change nothing',
      deliveries: [
        { alert: firing(3 * MIN), now: 3 * MIN },
        { alert: resolved(0, 2 * MIN), now: 4 * MIN },
        { alert: firing(0), now: 4 * MIN },
        { alert: firing(10 * MIN, OTHER), now: 4 * MIN },
      ],
      expected: {
        active: [{ fingerprint: FP, startsAt: T0 + 3 * MIN }],
        resolved: [],
        transitions: [{ at: T0 + 3 * MIN, status: 'firing' }],
      },
    },
    {
      name: 'a missing endsAt resolves at now; times are clamped to now',
      deliveries: [
        { alert: firing(30 * SEC), now: 0 },
        { alert: resolved(30 * SEC, 0, { endsAt: undefined }), now: 5 * MIN },
      ],
      expected: {
        active: [],
        resolved: [{ fingerprint: FP, startsAt: T0 + 30 * SEC, endsAt: T0 + 5 * MIN }],
        transitions: [
          { at: T0, status: 'firing' },
          { at: T0 + 5 * MIN, status: 'resolved' },
        ],
      },
    },
    {
      name: 'a running heal is kept',
      start: markHealStarted(undefined, 'heal-1', at(-MIN)),
      deliveries: [{ alert: firing(0), now: 0 }],
      expected: {
        active: [{ fingerprint: FP, startsAt: T0 }],
        resolved: [],
        transitions: [{ at: T0, status: 'firing' }],
        running: { healId: 'heal-1', since: T0 - MIN },
      },
    },
  ])('$name', ({ start, deliveries, expected }) => {
    expect(replay(deliveries, RULE, start)).toEqual(expected);
  });

  it('is bounded: only transitions inside the window, at most maxTransitions + 1', () => {
    const deliveries: Delivery[] = [];
    for (let episode = 0; episode < 50; episode += 1) {
      const start = episode * 2 * MIN;
      deliveries.push({ alert: firing(start), now: start });
      deliveries.push({ alert: resolved(start, start + MIN), now: start + MIN });
    }
    const now = 99 * MIN;
    const history = replay(deliveries) as FaultHistory;
    expect(history.transitions).toHaveLength(RULE.flap.maxTransitions + 1);
    expect(history.transitions.map((t) => t.at - T0)).toEqual(
      [95 * MIN, 96 * MIN, 97 * MIN, 98 * MIN, 99 * MIN].map((ms) => ms - 0),
    );
    for (const transition of history.transitions) {
      expect(transition.at).toBeGreaterThan(T0 + now - RULE.flap.windowMs);
    }
    expect(history.resolved).toHaveLength(1);
    expect(history.active).toHaveLength(0);
  });

  it('forgets resolved episodes and transitions once the window has passed', () => {
    const history = replay([
      { alert: firing(0), now: 0 },
      { alert: resolved(0, MIN), now: MIN },
    ]);
    const later = recordTransition(history, firing(2 * MIN, OTHER), at(40 * MIN), RULE);
    expect(later).toEqual({
      active: [{ fingerprint: OTHER.fingerprint, startsAt: T0 + 2 * MIN }],
      resolved: [],
      transitions: [],
    });
  });

  it(`tracks at most ${MAX_TRACKED_ALERTS} alerts per key`, () => {
    const deliveries: Delivery[] = Array.from({ length: MAX_TRACKED_ALERTS + 10 }, (_, i) => ({
      alert: firing(i * SEC, { fingerprint: `fp-${i}` }),
      now: 200 * SEC,
    }));
    const history = replay(deliveries) as FaultHistory;
    expect(history.active).toHaveLength(MAX_TRACKED_ALERTS);
    expect(history.active[0]?.fingerprint).toBe('fp-10');
  });

  it('is pure: the input history is not modified', () => {
    const history = replay([{ alert: firing(0), now: 0 }]) as FaultHistory;
    const copy = structuredClone(history);
    recordTransition(history, resolved(0, MIN), at(MIN), RULE);
    expect(history).toEqual(copy);
  });

  it('hands back the very same history when the alert changes nothing (a repeat)', () => {
    const history = replay([{ alert: firing(0), now: 30 * SEC }]) as FaultHistory;
    expect(recordTransition(history, firing(0), at(90 * SEC), RULE)).toBe(history);
    const confirmed = { ...history, scheduledFor: T0 + 5 * MIN };
    expect(recordTransition(confirmed, firing(0), at(90 * SEC), RULE)).toBe(confirmed);
  });

  it('returns a new history whenever something changed, even only by pruning', () => {
    const history = replay([{ alert: firing(0), now: 30 * SEC }]) as FaultHistory;
    const other = recordTransition(history, firing(40 * SEC, OTHER), at(50 * SEC), RULE);
    expect(other).not.toBe(history);
    expect(other.active).toHaveLength(2);
    // Long after: the firing transition leaves the flap window, the alert still fires.
    const pruned = recordTransition(history, firing(0), at(RULE.flap.windowMs + MIN), RULE);
    expect(pruned).not.toBe(history);
    expect(pruned.transitions).toEqual([]);
    const confirmed = { ...history, scheduledFor: T0 + 5 * MIN };
    const newEpisode = recordTransition(confirmed, firing(40 * SEC, OTHER), at(50 * SEC), RULE);
    expect(newEpisode.scheduledFor).toBeUndefined();
  });
});

describe('classifyAlert', () => {
  const base = replay([
    { alert: firing(2 * MIN), now: 2 * MIN },
    { alert: firing(0, OTHER), now: 2 * MIN },
    { alert: resolved(0, MIN, OTHER), now: 2 * MIN },
  ]);
  it.each<[string, NodeAlert, AlertClass]>([
    ['new fingerprint', firing(3 * MIN, { fingerprint: 'new' }), 'new-firing'],
    ['same episode', firing(2 * MIN), 'repeat-firing'],
    ['newer episode of an active alert', firing(3 * MIN), 'newer-firing'],
    ['older episode of an active alert', firing(MIN), 'stale-firing'],
    ['episode already resolved', firing(0, OTHER), 'stale-firing'],
    ['newer episode of a resolved alert', firing(3 * MIN, OTHER), 'new-firing'],
    ['resolve of the active episode', resolved(2 * MIN, 3 * MIN), 'resolves'],
    ['resolve of an older episode', resolved(MIN, 90 * SEC), 'stale-resolve'],
    ['resolve seen before', resolved(0, MIN, OTHER), 'duplicate-resolve'],
    ['resolve never seen', resolved(0, MIN, { fingerprint: 'new' }), 'unknown-resolve'],
    ['61s in the future', firing(3 * MIN + 61 * SEC), 'future-start'],
    ['60s in the future', firing(3 * MIN + 60 * SEC, { fingerprint: 'new' }), 'new-firing'],
  ])('%s → %s', (_name, alert, expected) => {
    expect(classifyAlert(base, alert, at(3 * MIN))).toBe(expected);
  });

  it('takes the clock-skew tolerance from the options', () => {
    expect(classifyAlert(undefined, firing(10 * SEC), at(0), { clockSkewToleranceMs: 5_000 })).toBe(
      'future-start',
    );
  });
});

describe('FaultHistory storage', () => {
  it('round-trips through JSON and the schema', () => {
    const history = markHealStarted(
      replay([
        { alert: firing(0), now: 0 },
        { alert: resolved(0, MIN), now: MIN },
        { alert: firing(2 * MIN), now: 2 * MIN },
      ]),
      'heal-7',
      at(5 * MIN),
    );
    const stored = JSON.parse(JSON.stringify(history)) as unknown;
    expect(faultHistorySchema.parse(stored)).toEqual(history);
  });

  it.each([
    [{ active: [], resolved: [], transitions: [{ at: '2025-03-01T12:00:00Z', status: 'firing' }] }],
    [{ active: [{ fingerprint: 'x' }], resolved: [], transitions: [] }],
    [{ active: [], resolved: [], transitions: [{ at: 1, status: 'pending' }] }],
    [null],
  ])('rejects a malformed stored value %#', (value) => {
    expect(faultHistorySchema.safeParse(value).success).toBe(false);
  });

  it('marks heals started and finished', () => {
    const started = markHealStarted(undefined, 'heal-1', at(0));
    expect(started).toEqual({ ...EMPTY_HISTORY, running: { healId: 'heal-1', since: T0 } });
    expect(isEmptyHistory(started)).toBe(false);
    const finished = markHealFinished(started);
    expect(finished).toEqual(EMPTY_HISTORY);
    expect(isEmptyHistory(finished)).toBe(true);
  });
});

describe('applyAlert', () => {
  it('returns the decision on the old history and the new history', () => {
    const first = applyAlert(firing(0), RULE, undefined, at(0));
    expect(first.decision).toMatchObject({ kind: 'debounce', repeat: false });
    expect(first.history.active).toHaveLength(1);
    const second = applyAlert(resolved(0, MIN), RULE, first.history, at(MIN));
    expect(second.decision).toMatchObject({ kind: 'cancel' });
    expect(second.history.active).toHaveLength(0);
  });
});
