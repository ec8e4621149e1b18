import { describe, expect, it } from 'vitest';
import {
  isStormActive,
  stormCondition,
  stormStateSchema,
  unhealthyShare,
  updateStormState,
  type PoolHealth,
  type StormConfig,
  type StormState,
} from '../../../src/safety/index.ts';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const MIN = 60_000;
const at = (offset: number) => new Date(T0 + offset);
const h = (unhealthy: number, total: number): PoolHealth => ({ total, unhealthy });

describe('stormCondition: more than 20 % and more than 2 nodes (EKS 20 %)', () => {
  it.each<[PoolHealth, boolean, Partial<StormConfig>?]>([
    [h(3, 10), true],
    [h(2, 10), false], // exactly 20 %, exactly 2 nodes
    [h(3, 15), false], // exactly 20 %
    [h(4, 19), true], // 21 %
    [h(2, 5), false], // 40 % but only 2 nodes
    [h(3, 3), true],
    [h(0, 0), false],
    [h(50, 1000), false],
    [h(201, 1000), true],
    [h(3, 10), false, { stormThreshold: 0.35 }], // Elastx 35 %
    [h(4, 10), true, { stormThreshold: 0.35 }],
    [h(2, 5), true, { stormMinNodes: 1 }],
  ])('%o → %s (config %o)', (health, expected, config) => {
    expect(stormCondition(health, config)).toBe(expected);
  });

  it.each<[PoolHealth, number]>([
    [h(0, 0), 0],
    [h(1, 4), 0.25],
    [h(5, 5), 1],
  ])('unhealthyShare(%o) = %s', (health, share) => {
    expect(unhealthyShare(health)).toBe(share);
  });
});

describe('updateStormState', () => {
  it.each<
    [
      string,
      StormState | undefined,
      PoolHealth | undefined,
      number,
      StormState,
      Partial<StormConfig>?,
    ]
  >([
    ['no state, unknown health', undefined, undefined, 0, {}],
    [
      'unknown health keeps a storm',
      { activeSince: T0 - MIN },
      undefined,
      0,
      { activeSince: T0 - MIN },
    ],
    ['quiet pool stays quiet', undefined, h(1, 10), 0, {}],
    ['exactly 20 % does not start a storm', {}, h(2, 10), 0, {}],
    ['a storm starts', {}, h(3, 10), 0, { activeSince: T0 }],
    [
      'a storm keeps its start',
      { activeSince: T0 - 5 * MIN },
      h(6, 10),
      0,
      { activeSince: T0 - 5 * MIN },
    ],
    [
      'a recovering storm flares up again: recovery forgotten',
      { activeSince: T0 - 9 * MIN, recoveredAt: T0 - MIN },
      h(3, 10),
      0,
      { activeSince: T0 - 9 * MIN },
    ],
    [
      'share above the threshold with 2 nodes: not recovered (hysteresis)',
      { activeSince: T0 - 9 * MIN, recoveredAt: T0 - MIN },
      h(2, 5),
      0,
      { activeSince: T0 - 9 * MIN },
    ],
    [
      'share back at 20 %: recovery starts now',
      { activeSince: T0 - 9 * MIN },
      h(2, 10),
      0,
      { activeSince: T0 - 9 * MIN, recoveredAt: T0 },
    ],
    [
      'recovering, 1 ms before the cooldown ends: still on',
      { activeSince: T0 - 9 * MIN, recoveredAt: T0 - 5 * MIN + 1 },
      h(0, 10),
      0,
      { activeSince: T0 - 9 * MIN, recoveredAt: T0 - 5 * MIN + 1 },
    ],
    [
      'recovering, exactly 5 min after recovery: over',
      { activeSince: T0 - 9 * MIN, recoveredAt: T0 - 5 * MIN },
      h(0, 10),
      0,
      {},
    ],
    [
      'a zero cooldown ends the storm at recovery',
      { activeSince: T0 - 9 * MIN },
      h(1, 10),
      0,
      {},
      { stormCooldownMs: 0 },
    ],
    ['an empty pool is not a storm', {}, h(0, 0), 0, {}],
  ])('%s', (_name, prev, health, offset, expected, config) => {
    const next = updateStormState(prev, health, at(offset), config);
    expect(next).toEqual(expected);
    expect(stormStateSchema.parse(JSON.parse(JSON.stringify(next)))).toEqual(expected);
  });

  it('a storm over time: starts, holds, recovers, cools down for 5 min, ends', () => {
    const timeline: Array<[number, PoolHealth, boolean]> = [
      [0, h(1, 10), false],
      [MIN, h(3, 10), true], // 30 %: storm
      [2 * MIN, h(5, 10), true],
      [3 * MIN, h(2, 10), true], // 20 %: recovering
      [5 * MIN, h(1, 10), true],
      [6 * MIN, h(3, 10), true], // flares up: recovery forgotten
      [7 * MIN, h(2, 10), true], // recovering again from 7 min
      [12 * MIN - 1, h(0, 10), true],
      [12 * MIN, h(0, 10), false], // 5 min after 7 min: over
      [13 * MIN, h(2, 10), false], // 20 % does not start a new one
    ];
    let state: StormState = {};
    const seen = timeline.map(([offset, health]) => {
      state = updateStormState(state, health, at(offset));
      return isStormActive(state);
    });
    expect(seen).toEqual(timeline.map(([, , active]) => active));
  });

  it('is pure: the previous state is not changed', () => {
    const prev: StormState = Object.freeze({ activeSince: T0 - MIN });
    updateStormState(prev, h(0, 10), at(0));
    expect(prev).toEqual({ activeSince: T0 - MIN });
  });
});
