import { describe, expect, it } from 'vitest';
import {
  EMPTY_BUDGET_STATE,
  GHOST_SLOT_LOCK_LIFETIMES,
  acquireSlot,
  budgetStateSchema,
  checkGates,
  ghostSlotAfterMs,
  releaseGhostSlots,
  renewSlot,
  slotHeartbeat,
  type BudgetState,
  type InFlightHeal,
} from '../../../src/safety/index.ts';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const SEC = 1_000;
const MIN = 60 * SEC;
const at = (offset: number) => new Date(T0 + offset);
/** The default node lock (120 s) makes a 6 min bound. */
const BOUND = ghostSlotAfterMs(120 * SEC);

function slot(healId: string, since: number, heartbeatAt?: number): InFlightHeal {
  return {
    healId,
    node: `node-${healId}`,
    pool: 'general',
    controlPlane: false,
    since,
    ...(heartbeatAt === undefined ? {} : { heartbeatAt }),
  };
}

function state(...inFlight: InFlightHeal[]): BudgetState {
  return {
    ...EMPTY_BUDGET_STATE,
    inFlight,
    pools: { general: { total: 10, unhealthy: 1 } },
    nodes: Object.fromEntries(
      inFlight.map((s) => [s.node, { heals: [{ healId: s.healId, startedAt: s.since }] }]),
    ),
  };
}

describe('ghostSlotAfterMs', () => {
  it('is a few lock lifetimes', () => {
    expect(GHOST_SLOT_LOCK_LIFETIMES).toBe(3);
    expect(BOUND).toBe(6 * MIN);
    expect(ghostSlotAfterMs(5 * SEC)).toBe(15 * SEC);
  });
});

describe('releaseGhostSlots', () => {
  it.each([
    ['taken just now', slot('a', T0), false],
    ['silent for less than the bound (since)', slot('a', T0 - BOUND + 1), false],
    ['silent for exactly the bound (since)', slot('a', T0 - BOUND), true],
    ['silent for longer than the bound (since)', slot('a', T0 - 10 * MIN), true],
    ['old, but renewed within the bound', slot('a', T0 - 60 * MIN, T0 - BOUND + 1), false],
    ['old, renewed exactly the bound ago', slot('a', T0 - 60 * MIN, T0 - BOUND), true],
    ['old, renewed long ago', slot('a', T0 - 60 * MIN, T0 - 30 * MIN), true],
    ['heartbeat in the future (clock skew)', slot('a', T0 - 60 * MIN, T0 + MIN), false],
  ])('a slot %s: released %s', (_, entry, released) => {
    const before = state(entry);
    const result = releaseGhostSlots(before, at(0), BOUND);
    expect(result.released).toEqual(released ? [entry] : []);
    expect(result.state.inFlight).toEqual(released ? [] : [entry]);
    // Unchanged states are the same object (the caller writes nothing then).
    if (!released) expect(result.state).toBe(before);
  });

  it('releases only the silent slots and keeps the rest of the state', () => {
    const live = slot('live', T0 - 30 * MIN, T0 - 10 * SEC);
    const ghost = slot('ghost', T0 - 30 * MIN, T0 - 20 * MIN);
    const before = state(live, ghost);
    const { state: after, released } = releaseGhostSlots(before, at(0), BOUND);
    expect(released).toEqual([ghost]);
    expect(after.inFlight).toEqual([live]);
    expect(after.pools).toBe(before.pools);
    // The ghost's node history stays (the daily cap still counts it), and no cooldown starts.
    expect(after.nodes).toBe(before.nodes);
    expect(after.nodes['node-ghost']?.lastHealEndedAt).toBeUndefined();
  });
});

describe('renewSlot', () => {
  it('marks the heal alive', () => {
    const before = state(slot('a', T0 - 10 * MIN));
    const after = renewSlot(before, 'a', at(0));
    expect(after.inFlight).toEqual([{ ...slot('a', T0 - 10 * MIN), heartbeatAt: T0 }]);
    expect(slotHeartbeat(after.inFlight[0]!)).toBe(T0);
    expect(releaseGhostSlots(after, at(BOUND - 1), BOUND).released).toEqual([]);
    expect(releaseGhostSlots(after, at(BOUND), BOUND).released).toHaveLength(1);
  });

  it.each([
    ['a heal without a slot', state(slot('b', T0)), 'a', 0],
    ['a heartbeat already newer', state(slot('a', T0 - MIN, T0 + SEC)), 'a', 0],
    ['the same instant', state(slot('a', T0 - MIN, T0)), 'a', 0],
  ])('changes nothing for %s (never adds a slot, never moves back)', (_, before, healId, off) => {
    expect(renewSlot(before, healId, at(off))).toBe(before);
  });
});

describe('the budget state as stored', () => {
  it('parses records stored before heartbeats existed, and records with one', () => {
    const old = { ...EMPTY_BUDGET_STATE, inFlight: [slot('a', T0)] };
    const parsed = budgetStateSchema.parse(JSON.parse(JSON.stringify(old)));
    expect(parsed.inFlight[0]?.heartbeatAt).toBeUndefined();
    expect(slotHeartbeat(parsed.inFlight[0]!)).toBe(T0);
    const renewed = renewSlot(parsed, 'a', at(MIN));
    expect(budgetStateSchema.parse(JSON.parse(JSON.stringify(renewed)))).toEqual(renewed);
  });
});

describe('a ghost slot and a budget of 1', () => {
  const ask = (budget: BudgetState, now: Date) =>
    checkGates(
      {
        healId: 'b',
        node: 'node-b',
        labels: {},
        pool: 'general',
        action: 'drain',
        paused: false,
        dryRun: false,
        budget,
        config: { poolBudget: 1, clusterBudget: 1, nodeCooldownMs: 0 },
      },
      now,
    );

  it('blocks another node while its heal is heard from, lets it take the slot once released', () => {
    const held = acquireSlot(
      state(),
      { healId: 'a', node: 'node-a', pool: 'general', controlPlane: false },
      at(0),
    );
    const renewed = renewSlot(held, 'a', at(2 * MIN));
    // Heard from 2 min ago: a heal, not a ghost.
    const early = releaseGhostSlots(renewed, at(4 * MIN), BOUND);
    expect(early.released).toEqual([]);
    expect(ask(early.state, at(4 * MIN))).toMatchObject({ allowed: false, gate: 'pool-budget' });
    // Silent for the bound: its slot goes back, and b may take it.
    const late = releaseGhostSlots(renewed, at(2 * MIN + BOUND), BOUND);
    expect(late.released.map((s) => s.healId)).toEqual(['a']);
    expect(ask(late.state, at(2 * MIN + BOUND))).toEqual({
      allowed: true,
      dryRun: false,
      holdsSlot: false,
    });
  });

  it('a released heal that comes back holds no slot: the gates decide again', () => {
    const held = acquireSlot(
      state(),
      { healId: 'a', node: 'node-a', pool: 'general', controlPlane: false },
      at(0),
    );
    const { state: released } = releaseGhostSlots(held, at(BOUND), BOUND);
    const taken = acquireSlot(
      released,
      { healId: 'b', node: 'node-b', pool: 'general', controlPlane: false },
      at(BOUND),
    );
    // Renewing does not give it back, and the gates hold it behind b.
    expect(renewSlot(taken, 'a', at(BOUND + SEC))).toBe(taken);
    const back = checkGates(
      {
        healId: 'a',
        node: 'node-a',
        labels: {},
        pool: 'general',
        action: 'drain',
        paused: false,
        dryRun: false,
        budget: taken,
        config: { poolBudget: 1, clusterBudget: 1, nodeCooldownMs: 0 },
      },
      at(BOUND + SEC),
    );
    expect(back).toMatchObject({ allowed: false, gate: 'pool-budget', defer: true });
  });
});
