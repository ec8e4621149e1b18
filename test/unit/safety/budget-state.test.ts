import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  DEFAULT_SAFETY_CONFIG,
  EMPTY_BUDGET_STATE,
  acquireSlot,
  budgetStateSchema,
  checkGates,
  pruneHistory,
  releaseSlot,
  safetyConfig,
  safetyConfigSchema,
  type BudgetState,
} from '../../../src/safety/index.ts';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const MIN = 60_000;
const at = (offset: number) => new Date(T0 + offset);

const HEAL = { healId: 'heal-A', node: 'worker-1', pool: 'general', controlPlane: false };

describe('acquireSlot / releaseSlot', () => {
  it('takes a slot and records the start', () => {
    const state = acquireSlot(EMPTY_BUDGET_STATE, HEAL, at(0));
    expect(state).toEqual({
      ...EMPTY_BUDGET_STATE,
      inFlight: [{ ...HEAL, since: T0 }],
      nodes: { 'worker-1': { heals: [{ healId: 'heal-A', startedAt: T0 }] } },
    });
    expect(budgetStateSchema.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('is idempotent', () => {
    const once = acquireSlot(EMPTY_BUDGET_STATE, HEAL, at(0));
    expect(acquireSlot(once, HEAL, at(MIN))).toEqual(once);
  });

  it('release frees the slot and starts the cooldown; releasing again changes nothing', () => {
    const held = acquireSlot(EMPTY_BUDGET_STATE, HEAL, at(0));
    const released = releaseSlot(held, 'heal-A', at(10 * MIN));
    expect(released.inFlight).toEqual([]);
    expect(released.nodes['worker-1']).toEqual({
      heals: [{ healId: 'heal-A', startedAt: T0 }],
      lastHealEndedAt: T0 + 10 * MIN,
    });
    expect(releaseSlot(released, 'heal-A', at(20 * MIN))).toBe(released);
  });

  it('a heal an operator took over keeps its fault for the cooldown; the next heal to end clears it', () => {
    const held = acquireSlot(EMPTY_BUDGET_STATE, HEAL, at(0));
    const takenOver = releaseSlot(held, 'heal-A', at(MIN), 'kernel-deadlock');
    expect(takenOver.nodes['worker-1']?.takenOverFault).toBe('kernel-deadlock');
    expect(budgetStateSchema.parse(JSON.parse(JSON.stringify(takenOver)))).toEqual(takenOver);
    const next = acquireSlot(takenOver, { ...HEAL, healId: 'heal-B' }, at(40 * MIN));
    const ended = releaseSlot(next, 'heal-B', at(50 * MIN));
    expect(ended.nodes['worker-1']?.takenOverFault).toBeUndefined();
    expect(ended.nodes['worker-1']?.lastHealEndedAt).toBe(T0 + 50 * MIN);
  });

  it('drops history older than 24 h when a slot is taken', () => {
    const old: BudgetState = {
      ...EMPTY_BUDGET_STATE,
      nodes: {
        'worker-1': {
          heals: [
            { healId: 'h1', startedAt: T0 - DAY_MS },
            { healId: 'h2', startedAt: T0 - DAY_MS + 1 },
          ],
        },
        'worker-9': {
          heals: [{ healId: 'h9', startedAt: T0 - 2 * DAY_MS }],
          lastHealEndedAt: T0 - DAY_MS,
        },
      },
    };
    const state = acquireSlot(old, HEAL, at(0));
    expect(state.nodes).toEqual({
      'worker-1': {
        heals: [
          { healId: 'h2', startedAt: T0 - DAY_MS + 1 },
          { healId: 'heal-A', startedAt: T0 },
        ],
      },
    });
  });

  it.each<[string, BudgetState['nodes'], BudgetState['nodes']]>([
    ['nothing', {}, {}],
    [
      'keeps a node whose last heal ended inside 24 h',
      { n: { heals: [], lastHealEndedAt: T0 - DAY_MS + 1 } },
      { n: { heals: [], lastHealEndedAt: T0 - DAY_MS + 1 } },
    ],
    [
      'drops a node whose last heal ended 24 h ago',
      { n: { heals: [], lastHealEndedAt: T0 - DAY_MS } },
      {},
    ],
    [
      'keeps a recent start',
      { n: { heals: [{ healId: 'x', startedAt: T0 - MIN }] } },
      { n: { heals: [{ healId: 'x', startedAt: T0 - MIN }] } },
    ],
  ])('pruneHistory: %s', (_name, nodes, expected) => {
    expect(pruneHistory({ ...EMPTY_BUDGET_STATE, nodes }, at(0)).nodes).toEqual(expected);
  });

  it('a second heal in the pool waits until the first releases, then cools down its own node only', () => {
    const pools = { general: { total: 10, unhealthy: 2 } };
    const ask = (state: BudgetState, healId: string, node: string, offset: number) =>
      checkGates(
        {
          healId,
          node,
          labels: {},
          pool: 'general',
          action: 'reboot',
          paused: false,
          dryRun: false,
          budget: state,
        },
        at(offset),
      );
    let state: BudgetState = { ...EMPTY_BUDGET_STATE, pools };
    expect(ask(state, 'heal-A', 'worker-1', 0)).toMatchObject({ allowed: true, holdsSlot: false });
    state = acquireSlot(state, HEAL, at(0));
    expect(ask(state, 'heal-A', 'worker-1', MIN)).toMatchObject({ allowed: true, holdsSlot: true });
    expect(ask(state, 'heal-B', 'worker-2', MIN)).toMatchObject({
      allowed: false,
      gate: 'pool-budget',
    });
    state = releaseSlot(state, 'heal-A', at(10 * MIN));
    expect(ask(state, 'heal-B', 'worker-2', 10 * MIN)).toMatchObject({ allowed: true });
    expect(ask(state, 'heal-C', 'worker-1', 10 * MIN)).toMatchObject({
      allowed: false,
      gate: 'cooldown',
      retryAt: T0 + 40 * MIN,
    });
  });
});

describe('safety config', () => {
  it('defaults are DESIGN.md safety table', () => {
    expect(DEFAULT_SAFETY_CONFIG).toEqual({
      poolBudget: 1,
      clusterBudget: 3,
      stormThreshold: 0.2,
      stormMinNodes: 2,
      stormCooldownMs: 5 * MIN,
      nodeCooldownMs: 30 * MIN,
      maxHealsPer24h: 3,
      allowControlPlaneReplace: false,
    });
  });

  it('overrides apply, undefined keeps the default', () => {
    expect(safetyConfig({ poolBudget: 2, clusterBudget: undefined })).toEqual({
      ...DEFAULT_SAFETY_CONFIG,
      poolBudget: 2,
    });
  });

  it.each([
    { stormThreshold: 1.5 },
    { poolBudget: -1 },
    { maxHealsPer24h: 0 },
    { nodeCooldownMs: 1.5 },
  ])('the schema rejects %o', (value) => {
    expect(safetyConfigSchema.safeParse(value).success).toBe(false);
  });
});
