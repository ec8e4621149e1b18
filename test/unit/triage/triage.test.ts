import { describe, expect, it } from 'vitest';
import {
  markHealStarted,
  triage,
  type FaultHistory,
  type TriageDecision,
  type TriageRule,
} from '../../../src/triage/index.ts';
import type { NodeAlert } from '../../../src/triage/node-alert.ts';
import { at, firing, KEY, MIN, replay, resolved, RULE, SEC, type Delivery } from './fixtures.ts';

const OTHER = { fingerprint: 'ffff000011112222', alertname: 'NodeUnreachable' };

// The decision without its free-text detail, with dueAt as an offset from T0.
type Expected = TriageDecision extends infer D
  ? D extends TriageDecision
    ? Omit<D, 'detail' | 'dueAt'> & { dueAt?: number }
    : never
  : never;

interface Case {
  name: string;
  /** Deliveries before the one under test (they build the history). */
  before?: Delivery[];
  /** A heal runs for the key (set after `before`). */
  running?: boolean;
  alert: NodeAlert;
  now: number;
  rule?: TriageRule;
  expected: Expected;
}

function history(c: Case): FaultHistory | undefined {
  const built = replay(c.before ?? [], c.rule ?? RULE);
  return c.running === true ? markHealStarted(built, 'heal-42', at(c.now - SEC)) : built;
}

function run(c: Case): TriageDecision {
  return triage(c.alert, c.rule ?? RULE, history(c), at(c.now));
}

function expectDecision(actual: TriageDecision, expected: Expected): void {
  const { dueAt, ...rest } = expected;
  const { detail, ...actualRest } = actual;
  expect(detail.length).toBeGreaterThan(0);
  if (actual.kind === 'debounce') {
    const { dueAt: actualDue, ...withoutDue } = actualRest as Omit<
      Extract<TriageDecision, { kind: 'debounce' }>,
      'detail'
    >;
    expect(actualDue).toEqual(at(dueAt ?? Number.NaN));
    expect(withoutDue).toEqual(rest);
  } else {
    expect(actualRest).toEqual(rest);
  }
}

const debounce = (
  dueAt: number,
  delayMs: number,
  extra: { repeat?: boolean; flapping?: boolean } = {},
): Expected => ({
  kind: 'debounce',
  key: KEY,
  dueAt,
  delayMs,
  flapping: false,
  repeat: false,
  reason: delayMs === 0 ? 'due-now' : 'debouncing',
  ...extra,
});

describe('triage: firing alerts are debounced from startsAt', () => {
  it.each<Case>([
    {
      name: 'first delivery: due startsAt + debounce',
      alert: firing(0),
      now: 30 * SEC,
      expected: debounce(2 * MIN, 90 * SEC),
    },
    {
      name: 'Alertmanager repeat: same key, same dueAt, marked repeat',
      before: [{ alert: firing(0), now: 30 * SEC }],
      alert: firing(0),
      now: 60 * SEC,
      expected: debounce(2 * MIN, 60 * SEC, { repeat: true }),
    },
    {
      name: 'HA duplicate (same fingerprint and startsAt from the second Alertmanager)',
      before: [{ alert: firing(0), now: 30 * SEC }],
      alert: firing(0, { annotations: { summary: 'from alertmanager-1' } }),
      now: 30 * SEC,
      expected: debounce(2 * MIN, 90 * SEC, { repeat: true }),
    },
    {
      name: 'regrouped with another alert of the same fault: the earliest start anchors dueAt',
      before: [{ alert: firing(0), now: 30 * SEC }],
      alert: firing(60 * SEC, OTHER),
      now: 90 * SEC,
      expected: debounce(2 * MIN, 30 * SEC),
    },
    {
      name: 'late first delivery after a restart (history lost): due now',
      alert: firing(0),
      now: 10 * MIN,
      expected: debounce(10 * MIN, 0),
    },
    {
      name: 'late delivery inside the debounce: only the rest of the wait remains',
      alert: firing(0),
      now: 100 * SEC,
      expected: debounce(2 * MIN, 20 * SEC),
    },
    {
      name: 'exactly at dueAt: due now',
      alert: firing(0),
      now: 2 * MIN,
      expected: debounce(2 * MIN, 0),
    },
    {
      name: 'startsAt slightly in the future (inside the 60s skew tolerance)',
      alert: firing(45 * SEC),
      now: 0,
      expected: debounce(45 * SEC + 2 * MIN, 45 * SEC + 2 * MIN),
    },
    {
      name: 'the debounce comes from the rule',
      alert: firing(0),
      now: 0,
      rule: { ...RULE, debounceMs: 5 * MIN },
      expected: debounce(5 * MIN, 5 * MIN),
    },
    {
      name: 'a new episode after a resolve debounces again from its own start',
      before: [
        { alert: firing(0), now: 10 * SEC },
        { alert: resolved(0, 60 * SEC), now: 70 * SEC },
      ],
      alert: firing(5 * MIN),
      now: 5 * MIN + 10 * SEC,
      expected: debounce(7 * MIN, 110 * SEC),
    },
  ])('$name', (c) => expectDecision(run(c), c.expected));
});

describe('triage: resolved alerts cancel, are observed, or are ignored', () => {
  it.each<Case>([
    {
      name: 'resolved before due: cancel',
      before: [{ alert: firing(0), now: 10 * SEC }],
      alert: resolved(0, 60 * SEC),
      now: 65 * SEC,
      expected: { kind: 'cancel', key: KEY, reason: 'resolved-before-heal' },
    },
    {
      name: 'resolved after due but before any heal started: still cancel',
      before: [{ alert: firing(0), now: 10 * SEC }],
      alert: resolved(0, 3 * MIN),
      now: 3 * MIN,
      expected: { kind: 'cancel', key: KEY, reason: 'resolved-before-heal' },
    },
    {
      name: 'resolved while a heal runs: observe (verifies the running step)',
      before: [{ alert: firing(0), now: 10 * SEC }],
      running: true,
      alert: resolved(0, 6 * MIN),
      now: 6 * MIN,
      expected: { kind: 'observe', key: KEY, status: 'resolved', reason: 'resolved-during-heal' },
    },
    {
      name: 'resolved while a heal runs and the history lost the firing: observe',
      running: true,
      alert: resolved(0, 6 * MIN),
      now: 6 * MIN,
      expected: { kind: 'observe', key: KEY, status: 'resolved', reason: 'resolved-during-heal' },
    },
    {
      name: 'resolved with no history and no heal: ignore',
      alert: resolved(0, 60 * SEC),
      now: 60 * SEC,
      expected: { kind: 'ignore', key: KEY, reason: 'no-pending-heal' },
    },
    {
      name: 'resolved again (HA duplicate of the resolve): ignore',
      before: [
        { alert: firing(0), now: 10 * SEC },
        { alert: resolved(0, 60 * SEC), now: 61 * SEC },
      ],
      alert: resolved(0, 60 * SEC),
      now: 62 * SEC,
      expected: { kind: 'ignore', key: KEY, reason: 'duplicate-resolve' },
    },
    {
      name: 'stale resolve of an older episode while a newer one fires: ignore',
      before: [
        { alert: firing(0), now: 10 * SEC },
        { alert: firing(3 * MIN), now: 3 * MIN + 10 * SEC },
      ],
      alert: resolved(0, 2 * MIN),
      now: 4 * MIN,
      expected: { kind: 'ignore', key: KEY, reason: 'stale-resolve' },
    },
    {
      name: 'one of two alerts of the fault resolves: the fault persists, ignore',
      before: [
        { alert: firing(0), now: 10 * SEC },
        { alert: firing(20 * SEC, OTHER), now: 30 * SEC },
      ],
      alert: resolved(0, 60 * SEC),
      now: 61 * SEC,
      expected: { kind: 'ignore', key: KEY, reason: 'still-firing' },
    },
    {
      name: 'the last of two alerts resolves: cancel',
      before: [
        { alert: firing(0), now: 10 * SEC },
        { alert: firing(20 * SEC, OTHER), now: 30 * SEC },
        { alert: resolved(0, 60 * SEC), now: 61 * SEC },
      ],
      alert: resolved(20 * SEC, 70 * SEC, OTHER),
      now: 71 * SEC,
      expected: { kind: 'cancel', key: KEY, reason: 'resolved-before-heal' },
    },
  ])('$name', (c) => expectDecision(run(c), c.expected));
});

describe('triage: untrusted and stale firing alerts are ignored', () => {
  it.each<Case>([
    {
      name: 'startsAt beyond the clock-skew tolerance',
      alert: firing(2 * MIN),
      now: 0,
      expected: { kind: 'ignore', key: KEY, reason: 'future-start' },
    },
    {
      name: 'invalid startsAt',
      alert: firing(0, { startsAt: new Date(Number.NaN) }),
      now: 0,
      expected: { kind: 'ignore', key: KEY, reason: 'invalid-time' },
    },
    {
      name: 'late firing from the other Alertmanager after the resolve',
      before: [
        { alert: firing(0), now: 10 * SEC },
        { alert: resolved(0, 60 * SEC), now: 61 * SEC },
      ],
      alert: firing(0),
      now: 62 * SEC,
      expected: { kind: 'ignore', key: KEY, reason: 'stale-firing' },
    },
    {
      name: 'firing of an older episode than the one active',
      before: [{ alert: firing(3 * MIN), now: 3 * MIN + 10 * SEC }],
      alert: firing(0),
      now: 4 * MIN,
      expected: { kind: 'ignore', key: KEY, reason: 'stale-firing' },
    },
    {
      name: 'repeat of a firing alert while its heal runs',
      before: [{ alert: firing(0), now: 10 * SEC }],
      running: true,
      alert: firing(0),
      now: 5 * MIN,
      expected: { kind: 'ignore', key: KEY, reason: 'heal-running' },
    },
    {
      name: 'another alert of the fault fires while the heal runs: observe',
      before: [{ alert: firing(0), now: 10 * SEC }],
      running: true,
      alert: firing(4 * MIN, OTHER),
      now: 5 * MIN,
      expected: { kind: 'observe', key: KEY, status: 'firing', reason: 'fired-during-heal' },
    },
  ])('$name', (c) => expectDecision(run(c), c.expected));
});

/** n alternating transitions of one alert, 1 minute apart, starting with a firing at T0. */
function flaps(count: number, startMs = 0): Delivery[] {
  const out: Delivery[] = [];
  for (let i = 0; i < count; i += 1) {
    const episodeStart = startMs + Math.floor(i / 2) * 2 * MIN;
    out.push(
      i % 2 === 0
        ? { alert: firing(episodeStart), now: episodeStart + SEC }
        : { alert: resolved(episodeStart, episodeStart + MIN), now: episodeStart + MIN + SEC },
    );
  }
  return out;
}

describe('triage: flapping holds the heal longer', () => {
  it.each<{ before: number; rule: TriageRule; flapping: boolean }>([
    // Transitions counted include the firing under test.
    { before: 2, rule: RULE, flapping: false }, // 3 transitions
    { before: 4, rule: RULE, flapping: true }, // 5 > 4
    { before: 6, rule: RULE, flapping: true }, // 7 > 4
    { before: 2, rule: { ...RULE, flap: { ...RULE.flap, maxTransitions: 2 } }, flapping: true },
    { before: 4, rule: { ...RULE, flap: { ...RULE.flap, maxTransitions: 5 } }, flapping: false },
  ])(
    '$before transitions before a new firing, max $rule.flap.maxTransitions → flapping $flapping',
    ({ before, rule, flapping }) => {
      const start = (before / 2) * 2 * MIN;
      const decision = triage(firing(start), rule, replay(flaps(before), rule), at(start + SEC));
      const hold = flapping ? rule.flap.holdForMs : 0;
      expectDecision(decision, {
        kind: 'debounce',
        key: KEY,
        dueAt: start + rule.debounceMs + hold,
        delayMs: rule.debounceMs + hold - SEC,
        flapping,
        repeat: false,
        reason: flapping ? 'flapping' : 'debouncing',
      });
    },
  );

  it('pushes dueAt by the rule holdFor', () => {
    const rule = { ...RULE, flap: { ...RULE.flap, holdForMs: 30 * MIN } };
    const decision = triage(firing(4 * MIN), rule, replay(flaps(4), rule), at(4 * MIN));
    expect(decision).toMatchObject({ kind: 'debounce', flapping: true, dueAt: at(36 * MIN) });
  });

  it('a repeat of the flapping episode stays flapping', () => {
    const history = replay([...flaps(4), { alert: firing(4 * MIN), now: 4 * MIN + SEC }]);
    expect(triage(firing(4 * MIN), RULE, history, at(5 * MIN))).toMatchObject({
      kind: 'debounce',
      flapping: true,
      repeat: true,
      dueAt: at(16 * MIN),
    });
  });

  it('transitions older than the window do not count', () => {
    const history = replay(flaps(4));
    const later = 40 * MIN;
    expect(triage(firing(later), RULE, history, at(later))).toMatchObject({
      kind: 'debounce',
      flapping: false,
      dueAt: at(later + 2 * MIN),
    });
  });

  it('a resolve of a flapping fault still cancels', () => {
    const history = replay([...flaps(4), { alert: firing(4 * MIN), now: 4 * MIN + SEC }]);
    expect(triage(resolved(4 * MIN, 5 * MIN), RULE, history, at(5 * MIN))).toMatchObject({
      kind: 'cancel',
      key: KEY,
    });
  });
});
