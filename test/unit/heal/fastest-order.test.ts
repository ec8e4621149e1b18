// Time cost, learned: the durations of step attempts per (pool, fault, action), the expected time
// to heal of a ladder from them, and `order: fastest`.
import { describe, expect, it } from 'vitest';
import {
  DURATION_CAPACITY,
  durationKey,
  durationStats,
  durationTableSchema,
  expectedTimeToHeal,
  orderFastest,
  parseDurationKey,
  recordDurations,
  stepCosts,
  stepDurations,
  successKey,
  type DurationTable,
  type StepCost,
  type SuccessTable,
} from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/index.ts';
import { done, drive, fresh, MIN, SEC, start, tick, resolved, failed } from './fixtures.ts';

const cost = (durationMs: number, healChance: number): StepCost => ({
  action: 'reboot',
  durationMs,
  samples: 3,
  healChance,
  successes: 0,
  attempts: 0,
});

describe('recordDurations and durationStats', () => {
  it('keeps the newest 20 per (pool, fault, action), oldest first', () => {
    let table: DurationTable = {};
    for (let i = 1; i <= 25; i += 1) {
      table = recordDurations(table, [{ pool: 'p', fault: 'f', action: 'reboot', ms: i * 1000 }]);
    }
    const kept = table[durationKey('p', 'f', 'reboot')];
    expect(kept).toHaveLength(DURATION_CAPACITY);
    expect(kept?.[0]).toBe(6000);
    expect(kept?.at(-1)).toBe(25_000);
    expect(durationTableSchema.parse(table)).toEqual(table);
  });

  it('does not change its input and clamps odd values', () => {
    const before: DurationTable = Object.freeze({ 'p/f:reboot': [1] });
    const after = recordDurations(before, [
      { pool: 'p', fault: 'f', action: 'reboot', ms: -5 },
      { pool: 'q', fault: 'f', action: 'reboot', ms: Number.NaN },
    ]);
    expect(before).toEqual({ 'p/f:reboot': [1] });
    expect(after).toEqual({ 'p/f:reboot': [1, 0], 'q/f:reboot': [0] });
  });

  it.each<[string, number[] | undefined, number, number | null, number | null]>([
    ['none', undefined, 0, null, null],
    ['one', [5], 1, 5, 5],
    ['odd count: the middle one', [9, 1, 5], 3, 5, 5],
    ['even count: the lower middle', [4, 1, 3, 2], 4, 2, 3],
    ['mean is rounded', [1, 2], 2, 1, 2],
  ])('%s', (_name, samples, count, p50Ms, meanMs) => {
    expect(durationStats(samples)).toEqual({ count, p50Ms, meanMs });
  });

  it('keys name pool, fault and action unambiguously', () => {
    expect(
      parseDurationKey(durationKey('gpu.large', 'kernel-deadlock', 'restart-kubelet')),
    ).toEqual({ pool: 'gpu.large', fault: 'kernel-deadlock', action: 'restart-kubelet' });
    expect(parseDurationKey('nonsense')).toBeUndefined();
  });
});

describe('stepDurations: how long each ended attempt took', () => {
  it('a remedy that did not clear the fault: first act to escalation, verification included', () => {
    const first = drive(fresh(), [
      [0, start],
      [20 * SEC, done(0)],
      [20 * SEC + 3 * MIN, tick],
    ]).record;
    expect(stepDurations(undefined, first)).toEqual([
      {
        pool: 'general',
        fault: 'node-not-ready',
        action: 'restart-kubelet',
        ms: 20 * SEC + 3 * MIN,
      },
    ]);
    // The reboot then clears the fault 40 s after it began; only the new attempt is reported.
    const t = 20 * SEC + 3 * MIN;
    const second = drive(first, [
      [t + 10 * SEC, done(1)],
      [t + 40 * SEC, resolved(t + 40 * SEC)],
    ]).record;
    expect(second.status).toBe('healed');
    expect(stepDurations(first, second)).toEqual([
      { pool: 'general', fault: 'node-not-ready', action: 'reboot', ms: 40 * SEC },
    ]);
  });

  it('retries and their backoff count in the attempt', () => {
    const run = drive(fresh(), [
      [0, start],
      [5 * SEC, failed(0, false)],
      [20 * SEC, tick],
      [25 * SEC, failed(0, true)],
    ]).record;
    expect(stepDurations(undefined, run)[0]).toMatchObject({
      action: 'restart-kubelet',
      ms: 25 * SEC,
    });
  });

  it('nothing ended, nothing reported', () => {
    const run = drive(fresh(), [[0, start]]).record;
    expect(stepDurations(undefined, run)).toEqual([]);
  });
});

describe('expectedTimeToHeal: E(i) = d(i) + (1 − p(i)) · E(i+1), the last step ends the heal', () => {
  it.each<[string, StepCost[], number, number]>([
    ['empty ladder', [], 0, 0],
    ['replace alone: its duration', [cost(600, 0.1)], 0, 600],
    ['a sure remedy first: its duration', [cost(10, 1), cost(600, 1)], 0, 10],
    ['a hopeless remedy: its time plus the rest', [cost(10, 0), cost(600, 1)], 0, 610],
    ['half a chance', [cost(100, 0.5), cost(600, 0.5)], 0, 400],
    [
      'two remedies',
      [cost(100, 0.5), cost(40, 0.25), cost(400, 0)],
      0,
      100 + 0.5 * (40 + 0.75 * 400),
    ],
    ['from a later step', [cost(100, 0.5), cost(40, 0.25), cost(400, 0)], 1, 340],
    ['past the end', [cost(100, 0.5)], 1, 0],
  ])('%s', (_name, costs, from, expected) => {
    expect(expectedTimeToHeal(costs, from)).toBe(Math.round(expected));
  });
});

const LADDER: readonly LadderStep[] = [
  { action: 'restart-kubelet', timeoutMs: 3 * MIN },
  { action: 'reboot', timeoutMs: 10 * MIN },
  { action: 'replace', timeoutMs: 20 * MIN },
];

function history(entries: Record<string, number[]>): DurationTable {
  return Object.fromEntries(
    Object.entries(entries).map(([action, samples]) => [`pool-a/f:${action}`, samples]),
  );
}

function rates(entries: Record<string, string>): SuccessTable {
  return Object.fromEntries(
    Object.entries(entries).map(([action, outcomes]) => [
      successKey('f', action as LadderStep['action']),
      { capacity: 100, outcomes },
    ]),
  );
}

describe('stepCosts: what the model assumes without data', () => {
  it('no durations: the timeout; no attempts: 1/2; cordon and drain never heal', () => {
    const costs = stepCosts(
      [{ action: 'cordon', timeoutMs: MIN }, ...LADDER],
      'pool-a',
      'f',
      history({ reboot: [4000, 6000] }),
      rates({ reboot: '0001' }),
    );
    expect(costs.map((c) => [c.action, c.durationMs, c.samples, c.healChance])).toEqual([
      ['cordon', MIN, 0, 0],
      ['restart-kubelet', 3 * MIN, 0, 0.5],
      ['reboot', 5000, 2, 2 / 6],
      ['replace', 20 * MIN, 0, 0.5],
    ]);
  });
});

describe('orderFastest', () => {
  const slowKubelet = { 'restart-kubelet': [180_000, 170_000, 190_000] };
  it.each<[string, DurationTable, SuccessTable, string[], boolean, RegExp]>([
    [
      'no history: written order',
      {},
      {},
      ['restart-kubelet', 'reboot', 'replace'],
      false,
      /written order kept: not enough history in pool pool-a \(durations recorded: restart-kubelet 0, reboot 0/,
    ],
    [
      'one remedy short of 3 samples: written order',
      history({ ...slowKubelet, reboot: [40_000, 40_000] }),
      {},
      ['restart-kubelet', 'reboot', 'replace'],
      false,
      /reboot 2; 3 needed each/,
    ],
    [
      'history elsewhere does not count',
      { 'pool-b/f:restart-kubelet': [1, 1, 1], 'pool-b/f:reboot': [1, 1, 1] },
      {},
      ['restart-kubelet', 'reboot', 'replace'],
      false,
      /not enough history in pool pool-a/,
    ],
    [
      'a faster reboot goes first, replace stays last',
      history({ ...slowKubelet, reboot: [40_000, 40_000, 40_000] }),
      {},
      ['reboot', 'restart-kubelet', 'replace'],
      true,
      /^order: fastest: reboot \(took 40s .* before restart-kubelet \(took 3m .*; expected time to heal .* instead of .* in the written order$/,
    ],
    [
      'both never worked: the faster one first',
      history({ ...slowKubelet, reboot: [40_000, 40_000, 40_000] }),
      rates({ 'restart-kubelet': '000', reboot: '000' }),
      ['reboot', 'restart-kubelet', 'replace'],
      true,
      /cleared the fault in 0 of 3/,
    ],
    [
      'a slower but surer remedy can win',
      history({ 'restart-kubelet': [60_000, 60_000, 60_000], reboot: [40_000, 40_000, 40_000] }),
      rates({ 'restart-kubelet': '1111111111', reboot: '0000000000' }),
      ['restart-kubelet', 'reboot', 'replace'],
      false,
      /already the fastest/,
    ],
    [
      'equal cost: the written order stands',
      history({ 'restart-kubelet': [5000, 5000, 5000], reboot: [5000, 5000, 5000] }),
      {},
      ['restart-kubelet', 'reboot', 'replace'],
      false,
      /already the fastest/,
    ],
  ])('%s', (_name, durations, successes, order, reordered, note) => {
    const result = orderFastest(LADDER, 'pool-a', 'f', durations, successes);
    expect(result.ladder.map((s) => s.action)).toEqual(order);
    expect(result.reordered).toBe(reordered);
    expect(result.note).toMatch(note);
    expect(result.expectedMs).toBeLessThanOrEqual(result.writtenExpectedMs);
    // The steps keep their own timeouts wherever they go.
    for (const step of result.ladder)
      expect(step).toEqual(LADDER.find((s) => s.action === step.action));
  });

  it('the chosen order has the least expected time to heal of all orders', () => {
    const durations = history({
      'restart-kubelet': [30_000, 30_000, 30_000],
      'clean-disk': [5000, 5000, 5000],
      reboot: [90_000, 90_000, 90_000],
    });
    const successes = rates({ 'restart-kubelet': '0011', 'clean-disk': '0000000', reboot: '11' });
    const ladder: LadderStep[] = [
      { action: 'restart-kubelet', timeoutMs: MIN },
      { action: 'clean-disk', timeoutMs: MIN },
      { action: 'reboot', timeoutMs: MIN },
      { action: 'replace', timeoutMs: 20 * MIN },
    ];
    const result = orderFastest(ladder, 'pool-a', 'f', durations, successes);
    const expectedOf = (steps: readonly LadderStep[]) =>
      expectedTimeToHeal(stepCosts(steps, 'pool-a', 'f', durations, successes));
    const remedies = ladder.slice(0, 3);
    const permutations = (xs: LadderStep[]): LadderStep[][] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x, i) => permutations(xs.filter((_, j) => j !== i)).map((p) => [x, ...p]));
    const best = Math.min(...permutations(remedies).map((p) => expectedOf([...p, ladder[3]!])));
    expect(result.expectedMs).toBe(best);
    expect(result.ladder.at(-1)?.action).toBe('replace');
  });

  it('only the leading remedies move: cordon, drain, replace and what follows keep their place', () => {
    const ladder: LadderStep[] = [
      { action: 'restart-kubelet', timeoutMs: MIN },
      { action: 'reboot', timeoutMs: MIN },
      { action: 'cordon', timeoutMs: MIN },
      { action: 'drain', timeoutMs: MIN },
      { action: 'clean-disk', timeoutMs: MIN },
      { action: 'replace', timeoutMs: MIN },
    ];
    const result = orderFastest(
      ladder,
      'pool-a',
      'f',
      history({ 'restart-kubelet': [9000, 9000, 9000], reboot: [1000, 1000, 1000] }),
      {},
    );
    expect(result.ladder.map((s) => s.action)).toEqual([
      'reboot',
      'restart-kubelet',
      'cordon',
      'drain',
      'clean-disk',
      'replace',
    ]);
  });

  it('a ladder with fewer than two leading remedies stays as written', () => {
    const ladder: LadderStep[] = [
      { action: 'drain', timeoutMs: MIN },
      { action: 'reboot', timeoutMs: MIN },
      { action: 'replace', timeoutMs: MIN },
    ];
    const result = orderFastest(ladder, 'pool-a', 'f', {}, {});
    expect(result.ladder).toBe(ladder);
    expect(result.note).toMatch(/fewer than two remedies/);
  });
});

describe('the order note reaches the record', () => {
  it('the started transition says why the ladder is in this order', () => {
    const record = { ...fresh(), ladderOrder: 'order: fastest: reboot before restart-kubelet' };
    const run = drive(record, [[0, start]]).record;
    expect(run.transitions[0]?.detail).toMatch(
      /Heal started: .* acting restart-kubelet \(order: fastest: reboot before restart-kubelet\)$/,
    );
  });
});
